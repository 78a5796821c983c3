"""The typed client facade for partnerships: what the CLI (and later the integration gateway) call.

It validates input before anything reaches Temporal, so a caller gets a clear error instead of a
workflow stuck on a bad payload, and it speaks the contract in ``workflows/contract.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from domain.errors import from_payload
from workflows.contract import (
    SIGNAL_COMMANDS,
    STATUS_QUERY,
    WORKFLOW_TYPE,
    Application,
    PartnershipStatus,
    SearchAttributes,
)


class Rejected(Exception):
    """The partnership refused the command; ``message`` is the domain's reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Exception):
    pass


class PartnershipRow(BaseModel):
    """One line of the coordinators' worklist, from Temporal visibility (no personal data there)."""

    workflow_id: str
    status: str
    cohort: str | None
    stage: str | None
    mentee_id: str | None
    mentor_id: str | None
    institution: str | None
    meetings_held: int | None
    last_meeting_at: datetime | None
    attention: str | None
    started_at: datetime | None


def visibility_query(cohort: str | None = None, stage: str | None = None, attention: bool = False) -> str:
    sa = SearchAttributes
    clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'"]
    if cohort:
        clauses.append(f"{sa.COHORT.name} = '{_quote(cohort)}'")
    if stage:
        clauses.append(f"{sa.STAGE.name} = '{_quote(stage.upper())}'")
    if attention:
        clauses.append(f"{sa.ATTENTION.name} IS NOT NULL")
    return " AND ".join(clauses)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


class Partnerships:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def start(self, application: Application | dict[str, Any]) -> WorkflowHandle[Any, PartnershipStatus]:
        app = application if isinstance(application, Application) else Application.model_validate(application)
        return await self._client.start_workflow(
            WORKFLOW_TYPE,
            app,
            id=app.workflow_id,
            task_queue=self._task_queue,
            result_type=PartnershipStatus,
            static_summary=f"Partnership · cohort {app.cohort_id} · mentee {app.mentee_id}",
            static_details=(
                f"Mentee {app.mentee_id} ({app.degree_level}, {app.institution_id}) in cohort {app.cohort_id}. "
                "Query `status` for the current state."
            ),
        )

    @property
    def task_queue(self) -> str:
        return self._task_queue

    @property
    def client(self) -> Client:
        return self._client

    def handle(self, partnership_id: str) -> WorkflowHandle[Any, PartnershipStatus]:
        return self._client.get_workflow_handle(partnership_id, result_type=PartnershipStatus)

    @staticmethod
    def check(name: str, payload: dict[str, Any]) -> None:
        """Validate a signal or update payload against the contract; ValueError with a readable reason."""
        if name not in SIGNAL_COMMANDS:
            raise ValueError(f"unknown signal {name!r}; one of: {', '.join(SIGNAL_COMMANDS)}")
        from_payload(SIGNAL_COMMANDS[name], name, payload)

    async def signal(self, partnership_id: str, name: str, payload: dict[str, Any]) -> None:
        self.check(name, payload)
        await self.handle(partnership_id).signal(name, payload)

    async def update(
        self, partnership_id: str, name: str, payload: dict[str, Any], rpc_timeout: timedelta | None = None
    ) -> PartnershipStatus:
        """Send the update; the new status, or Rejected with the domain's message (also when it has ended)."""
        self.check(name, payload)
        try:
            return await self.handle(partnership_id).execute_update(
                name, payload, result_type=PartnershipStatus, rpc_timeout=rpc_timeout
            )
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            raise Rejected(cause.message if isinstance(cause, ApplicationError) else str(cause)) from None
        except RPCError as error:
            raise self._translate(partnership_id, error) from None

    async def status(self, partnership_id: str, rpc_timeout: timedelta | None = None) -> PartnershipStatus:
        try:
            return await self.handle(partnership_id).query(
                STATUS_QUERY, result_type=PartnershipStatus, rpc_timeout=rpc_timeout
            )
        except RPCError as error:
            raise self._translate(partnership_id, error) from None

    async def list(
        self, cohort: str | None = None, stage: str | None = None, attention: bool = False, limit: int = 1000
    ) -> AsyncIterator[PartnershipRow]:
        sa = SearchAttributes
        query = visibility_query(cohort, stage, attention)
        count = 0
        async for wf in self._client.list_workflows(query):
            attrs = wf.typed_search_attributes
            yield PartnershipRow(
                workflow_id=wf.id,
                status=wf.status.name if wf.status else "UNKNOWN",
                cohort=attrs.get(sa.COHORT),
                stage=attrs.get(sa.STAGE),
                mentee_id=attrs.get(sa.MENTEE_ID),
                mentor_id=attrs.get(sa.MENTOR_ID),
                institution=attrs.get(sa.INSTITUTION),
                meetings_held=attrs.get(sa.MEETINGS_HELD),
                last_meeting_at=attrs.get(sa.LAST_MEETING_AT),
                attention=attrs.get(sa.ATTENTION),
                started_at=wf.start_time,
            )
            count += 1
            if count >= limit:
                return

    @staticmethod
    def _translate(partnership_id: str, error: RPCError) -> Exception:
        if "already completed" in str(error).lower():
            return Rejected(f"partnership {partnership_id} has ended; nothing more can be done (its status says how)")
        if "not found" in str(error).lower():
            return NotFound(f"no partnership {partnership_id}")
        return error

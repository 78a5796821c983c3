"""The typed client facade for partnerships: what the CLI and the integration gateway (``gateway/``) call.

It validates input before anything reaches Temporal, so a caller gets a clear error instead of a
workflow stuck on a bad payload, and it speaks the contract in ``contract/partnership.py`` (the workflow
and its query by typed reference).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.records.datakeys import ERASED, Erased, partnership_subject
from contract import STATUS_QUERY
from contract.partnership import (
    MESSAGES,
    WORKFLOW_TYPE,
    Application,
    PartnershipStatus,
    SearchAttributes,
)
from domain.errors import from_payload
from workflows.partnership import PartnershipWorkflow


class Rejected(Exception):
    """The partnership refused the command; ``message`` is the domain's reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Exception):
    pass


class AlreadyExists(Exception):
    """A workflow with this id exists already (an application for this mentee in this cohort, a cohort)."""


QUERY_TIMEOUT = timedelta(seconds=10)
"""How long a status query waits for a worker to answer before the caller gets an error."""


class PartnershipErased(NotFound):
    """The partnership's data key was destroyed (a person in it was erased): its history reads as "erased"."""

    def __init__(self, partnership_id: str) -> None:
        super().__init__(
            f"partnership {partnership_id}: its data was erased (a person in it was erased); ids and counts "
            f"remain in the records (entrypoint records show {partnership_id})"
        )


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


def visibility_query(
    cohort: str | None = None,
    stage: str | None = None,
    attention: bool = False,
    institutions: Sequence[str] | None = None,
) -> str:
    """The visibility query; ``institutions`` (when given) keeps only partnerships of those institutions."""
    sa = SearchAttributes
    clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'"]
    if institutions is not None:
        if not institutions:
            raise ValueError("institutions: give at least one (None for all)")
        listed = ", ".join(f"'{_quote(i)}'" for i in institutions)
        clauses.append(f"{sa.INSTITUTION.name} IN ({listed})")
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

    async def start(
        self, application: Application | dict[str, Any]
    ) -> WorkflowHandle[PartnershipWorkflow, PartnershipStatus]:
        """Start the partnership; AlreadyExists when this mentee already has one in this cohort.

        The cohort, mentee and institution are search attributes from the start, so that who may see the
        partnership (an institution sees its own students only) is known before its first workflow task.
        """
        app = application if isinstance(application, Application) else Application.model_validate(application)
        sa = SearchAttributes
        try:
            return await self._client.start_workflow(
                PartnershipWorkflow.run,
                app,
                id=app.workflow_id,
                task_queue=self._task_queue,
                # A partnership id is used once: a closed partnership's id is refused at start (the workflow
                # itself also refuses an id whose records log exists, for starts that bypass this facade).
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.COHORT, app.cohort_id),
                        SearchAttributePair(sa.MENTEE_ID, app.mentee_id),
                        SearchAttributePair(sa.INSTITUTION, app.institution_id),
                    ]
                ),
                static_summary=f"Partnership · cohort {app.cohort_id} · mentee {app.mentee_id}",
                static_details=(
                    f"Mentee {app.mentee_id} ({app.degree_level}, {app.institution_id}) in cohort {app.cohort_id}. "
                    "Query `status` for the current state."
                ),
            )
        except WorkflowAlreadyStartedError:
            raise AlreadyExists(f"partnership {app.workflow_id} exists already") from None

    @property
    def task_queue(self) -> str:
        return self._task_queue

    @property
    def client(self) -> Client:
        return self._client

    def handle(self, partnership_id: str) -> WorkflowHandle[PartnershipWorkflow, PartnershipStatus]:
        return self._client.get_workflow_handle_for(PartnershipWorkflow.run, partnership_id)

    @staticmethod
    def check(name: str, payload: dict[str, Any]) -> None:
        """Validate a signal or update payload against the contract; ValueError with a readable reason."""
        if name not in MESSAGES:
            raise ValueError(f"unknown signal {name!r}; one of: {', '.join(MESSAGES)}")
        from_payload(MESSAGES[name], name, payload)

    async def signal(self, partnership_id: str, name: str, payload: dict[str, Any]) -> None:
        self.check(name, payload)
        await self.handle(partnership_id).signal(name, payload)

    async def update(
        self,
        partnership_id: str,
        name: str,
        payload: dict[str, Any],
        rpc_timeout: timedelta | None = None,
        update_id: str | None = None,
    ) -> PartnershipStatus:
        """Send the update; the new status, or Rejected with the domain's message (also when it has ended).
        With ``update_id``, a second update of that id is answered with the first one's outcome (by Temporal)."""
        self.check(name, payload)
        try:
            return await self.handle(partnership_id).execute_update(
                name, payload, id=update_id, result_type=PartnershipStatus, rpc_timeout=rpc_timeout
            )
        except WorkflowUpdateFailedError as failure:
            raise rejected(failure) from None
        except RPCError as error:
            raise self._translate(partnership_id, error) from None

    async def status(self, partnership_id: str, rpc_timeout: timedelta | None = None) -> PartnershipStatus:
        try:
            # By name, not by type: an erased partnership's status decodes to the tombstone, not a status.
            value = await self.handle(partnership_id).query(STATUS_QUERY, rpc_timeout=rpc_timeout or QUERY_TIMEOUT)
        except RPCError as error:
            raise self._translate(partnership_id, error) from None
        except WorkflowQueryFailedError:
            if await self._erased(partnership_id):
                raise PartnershipErased(partnership_id) from None
            raise
        if value == ERASED:
            raise PartnershipErased(partnership_id)
        return PartnershipStatus.model_validate(value)

    async def _erased(self, partnership_id: str) -> bool:
        codec = self._client.data_converter.payload_codec
        keys = getattr(codec, "data_keys", None)
        if keys is None:
            return False
        try:
            await keys.key(partnership_subject(partnership_id))
        except Erased:
            return True
        except Exception:
            return False
        return False

    async def institution(self, partnership_id: str) -> str | None:
        """The institution the partnership belongs to (its search attribute); NotFound for an unknown id."""
        try:
            description = await self.handle(partnership_id).describe()
        except RPCError as error:
            raise self._translate(partnership_id, error) from None
        if description.workflow_type != WORKFLOW_TYPE:
            raise NotFound(f"no partnership {partnership_id}")
        return description.typed_search_attributes.get(SearchAttributes.INSTITUTION)

    async def list(
        self,
        cohort: str | None = None,
        stage: str | None = None,
        attention: bool = False,
        limit: int = 1000,
        institutions: Sequence[str] | None = None,
    ) -> AsyncIterator[PartnershipRow]:
        sa = SearchAttributes
        query = visibility_query(cohort, stage, attention, institutions)
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
        return translate(error, f"no partnership {partnership_id}")


def translate(error: RPCError, missing: str) -> Exception:
    """Rejected for a workflow that has ended, NotFound for an unknown id; any other RPC error as it is."""
    message = str(error).lower()
    if "already completed" in message:
        return Rejected("it has ended and takes no more commands")
    if error.status == RPCStatusCode.NOT_FOUND or "not found" in message:
        return NotFound(missing)
    return error


def rejected(failure: WorkflowUpdateFailedError) -> Rejected:
    """The domain's reason an update was refused (its validator or the workflow's rejection)."""
    cause = failure.cause
    return Rejected(cause.message if isinstance(cause, ApplicationError) else str(cause))

"""The typed client facade for gatherings (subject group and collective meetings): registration, attendance
and cancellation as the Gathering workflow's updates. The CLI's siblings and the integration gateway call it."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from contract.gathering import MESSAGES, GatheringStatus, gathering_workflow_id
from domain.errors import from_payload
from workers.partnerships import QUERY_TIMEOUT, NotFound, Rejected, rejected, translate
from workflows.gathering import GatheringWorkflow

__all__ = ["Gatherings", "NotFound", "Rejected"]


class Gatherings:
    def __init__(self, client: Client) -> None:
        self._client = client

    def handle(self, cohort_id: str, gathering_id: str) -> WorkflowHandle[GatheringWorkflow, GatheringStatus]:
        return self._client.get_workflow_handle_for(
            GatheringWorkflow.run, gathering_workflow_id(cohort_id, gathering_id)
        )

    @staticmethod
    def check(name: str, payload: dict[str, Any]) -> None:
        """Validate an update's payload against the contract; ValueError with a readable reason."""
        if name not in MESSAGES:
            raise ValueError(f"unknown gathering update {name!r}; one of: {', '.join(MESSAGES)}")
        from_payload(MESSAGES[name], name, payload)

    async def status(self, cohort_id: str, gathering_id: str) -> GatheringStatus:
        try:
            return await self.handle(cohort_id, gathering_id).query(GatheringWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as error:
            raise translate(error, f"no gathering {gathering_id} in cohort {cohort_id}") from None

    async def update(self, cohort_id: str, gathering_id: str, name: str, payload: dict[str, Any]) -> GatheringStatus:
        """Send the update; the new status, or Rejected with the domain's reason."""
        self.check(name, payload)
        try:
            return await self.handle(cohort_id, gathering_id).execute_update(
                name, payload, result_type=GatheringStatus
            )
        except WorkflowUpdateFailedError as failure:
            raise rejected(failure) from None
        except RPCError as error:
            raise translate(error, f"no gathering {gathering_id} in cohort {cohort_id}") from None

"""The typed client facade for cohorts, beside ``workers.partnerships``: what the CLI, the demo and (later)
the integration gateway call to start a cohort, read it, approve its rounds and ask for another."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from domain.cohort import CohortPlan, CohortReport
from workers.partnerships import NotFound, Rejected
from workflows.cohort import CohortStatus, MatchingApproval, RunMatching, cohort_workflow_id


class Cohorts:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def start(self, plan: CohortPlan) -> WorkflowHandle[object, CohortReport]:
        """Start the cohort; ValueError when the plan names no coordinator (who would get the escalations?)."""
        if plan.coordinator_id is None:
            raise ValueError("the plan needs a coordinator_id: the coordinator who gets the cohort's escalations")
        return await self._client.start_workflow(
            "Cohort",
            plan,
            id=cohort_workflow_id(plan.cohort_id),
            task_queue=self._task_queue,
            result_type=CohortReport,
            static_summary=f"Cohort {plan.cohort_id}",
            static_details=f"Matching at {plan.matching_at:%Y-%m-%d}, kickoff {plan.kickoff_at:%Y-%m-%d}, "
            f"programme end {plan.programme_end:%Y-%m-%d}; {_planned(plan)}.",
        )

    def handle(self, cohort_id: str) -> WorkflowHandle[object, CohortReport]:
        return self._client.get_workflow_handle(cohort_workflow_id(cohort_id), result_type=CohortReport)

    async def status(self, cohort_id: str, rpc_timeout: timedelta | None = None) -> CohortStatus:
        try:
            return await self.handle(cohort_id).query("status", result_type=CohortStatus, rpc_timeout=rpc_timeout)
        except RPCError as error:
            raise _translate(cohort_id, error) from None

    async def approve(
        self, cohort_id: str, approval: MatchingApproval, rpc_timeout: timedelta | None = None
    ) -> CohortStatus:
        """Approve the round awaiting approval (recomputed first with any pins and exclusions)."""
        try:
            return await self.handle(cohort_id).execute_update(
                "approve_matching", approval, result_type=CohortStatus, rpc_timeout=rpc_timeout
            )
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            raise Rejected(cause.message if isinstance(cause, ApplicationError) else str(cause)) from None
        except RPCError as error:
            raise _translate(cohort_id, error) from None

    async def run_matching(self, cohort_id: str, reason: str) -> None:
        try:
            await self.handle(cohort_id).signal("run_matching", RunMatching(reason=reason))
        except RPCError as error:
            raise _translate(cohort_id, error) from None


def _translate(cohort_id: str, error: RPCError) -> Exception:
    if "already completed" in str(error).lower():
        return Rejected(f"cohort {cohort_id} has closed; its report: `entrypoint cohort report {cohort_id}`")
    if "not found" in str(error).lower():
        return NotFound(f"no cohort {cohort_id}")
    return error


def _planned(plan: CohortPlan) -> str:
    """``1 planned gathering``, ``3 planned gatherings``; subject groups are formed later, from the matches."""
    count = len(plan.gatherings)
    words = f"{count} planned gathering{'' if count == 1 else 's'}"
    return words + (" and subject groups" if plan.group_subjects_at is not None else "")

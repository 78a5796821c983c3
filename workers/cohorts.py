"""The typed client facade for cohorts, beside ``workers.partnerships``: what the CLI, the demo and (later)
the integration gateway call to start a cohort, read it, approve its rounds and ask for another."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from contract.cohort import CohortStatus, MatchingApproval, RunMatching, cohort_workflow_id
from domain.cohort import CohortPlan, CohortReport
from workers.partnerships import Rejected
from workflows.cohort import CohortWorkflow


class Cohorts:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def start(self, plan: CohortPlan) -> WorkflowHandle[CohortWorkflow, CohortReport]:
        return await self._client.start_workflow(
            CohortWorkflow.run,
            plan,
            id=cohort_workflow_id(plan.cohort_id),
            task_queue=self._task_queue,
            static_summary=f"Cohort {plan.cohort_id}",
            static_details=f"Matching at {plan.matching_at:%Y-%m-%d}, kickoff {plan.kickoff_at:%Y-%m-%d}, "
            f"programme end {plan.programme_end:%Y-%m-%d}; {len(plan.gatherings)} planned gatherings.",
        )

    def handle(self, cohort_id: str) -> WorkflowHandle[CohortWorkflow, CohortReport]:
        return self._client.get_workflow_handle_for(CohortWorkflow.run, cohort_workflow_id(cohort_id))

    async def status(self, cohort_id: str) -> CohortStatus:
        return await self.handle(cohort_id).query(CohortWorkflow.status)

    async def approve(self, cohort_id: str, approval: MatchingApproval) -> CohortStatus:
        """Approve the round awaiting approval (recomputed first with any pins and exclusions)."""
        try:
            return await self.handle(cohort_id).execute_update(CohortWorkflow.approve_matching, approval)
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            raise Rejected(cause.message if isinstance(cause, ApplicationError) else str(cause)) from None

    async def run_matching(self, cohort_id: str, reason: str) -> None:
        await self.handle(cohort_id).signal(CohortWorkflow.run_matching, RunMatching(reason=reason))

"""The typed client facade for cohorts, beside ``workers.partnerships``: what the CLI, the demo and the
integration gateway call to start a cohort, read it, approve its rounds, ask for another and read its report."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.records.store import RecordStore
from contract.cohort import CohortStatus, MatchingApproval, RunMatching, cohort_workflow_id
from domain.cohort import CohortPlan, CohortReport, build_report
from workers.partnerships import QUERY_TIMEOUT, AlreadyExists, NotFound, Rejected, rejected, translate
from workflows.cohort import CohortWorkflow

__all__ = ["AlreadyExists", "Cohorts", "NotFound", "Rejected", "report_from_records"]


class Cohorts:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def start(self, plan: CohortPlan) -> WorkflowHandle[CohortWorkflow, CohortReport]:
        """Start the Cohort workflow; AlreadyExists when the cohort has one."""
        try:
            return await self._client.start_workflow(
                CohortWorkflow.run,
                plan,
                id=cohort_workflow_id(plan.cohort_id),
                task_queue=self._task_queue,
                static_summary=f"Cohort {plan.cohort_id}",
                static_details=f"Matching at {plan.matching_at:%Y-%m-%d}, kickoff {plan.kickoff_at:%Y-%m-%d}, "
                f"programme end {plan.programme_end:%Y-%m-%d}; {_planned(plan)}.",
            )
        except WorkflowAlreadyStartedError:
            raise AlreadyExists(f"cohort {plan.cohort_id} exists already") from None

    def handle(self, cohort_id: str) -> WorkflowHandle[CohortWorkflow, CohortReport]:
        return self._client.get_workflow_handle_for(CohortWorkflow.run, cohort_workflow_id(cohort_id))

    async def status(self, cohort_id: str, rpc_timeout: timedelta | None = None) -> CohortStatus:
        try:
            return await self.handle(cohort_id).query(
                CohortWorkflow.status, rpc_timeout=rpc_timeout or QUERY_TIMEOUT
            )
        except RPCError as error:
            raise _translate(cohort_id, error) from None

    async def approve(
        self, cohort_id: str, approval: MatchingApproval, rpc_timeout: timedelta | None = None
    ) -> CohortStatus:
        """Approve the round awaiting approval (recomputed first with any pins and exclusions)."""
        try:
            return await self.handle(cohort_id).execute_update(
                CohortWorkflow.approve_matching, approval.model_dump(mode="json"), rpc_timeout=rpc_timeout
            )
        except WorkflowUpdateFailedError as failure:
            raise rejected(failure) from None
        except RPCError as error:
            raise _translate(cohort_id, error) from None

    async def run_matching(self, cohort_id: str, reason: str) -> None:
        try:
            await self.handle(cohort_id).signal(CohortWorkflow.run_matching, RunMatching(reason=reason))
        except RPCError as error:
            raise _translate(cohort_id, error) from None


async def report_from_records(store: RecordStore, cohort_id: str) -> CohortReport | None:
    """The cohort report computed from the records database; None when no partnership of it is recorded."""
    states = await store.list_states(cohort_id)
    return build_report(cohort_id, states) if states else None


def _translate(cohort_id: str, error: RPCError) -> Exception:
    translated = translate(error, f"no cohort {cohort_id}")
    if isinstance(translated, Rejected):
        return Rejected(f"cohort {cohort_id} has closed; its report: `entrypoint cohort report {cohort_id}`")
    return translated


def _planned(plan: CohortPlan) -> str:
    """``1 planned gathering``, ``3 planned gatherings``; subject groups are formed later, from the matches."""
    count = len(plan.gatherings)
    words = f"{count} planned gathering{'' if count == 1 else 's'}"
    return words + (" and subject groups" if plan.group_subjects_at is not None else "")

"""The Cohort workflow: one intake's matching rounds, kickoff gatherings and closing report.

It never holds the cohort's partnerships in its history: matching runs in an activity over the records
database, proposals are stored there and delivered to the partnerships from an activity in batches.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.models import (
        CohortReportRequest,
        DeliverMatches,
        MatchesDelivered,
        MatchingRoundRequest,
        PinSpec,
        RegisterCohort,
    )
    from domain.cohort import (
        CohortPlan,
        CohortReport,
        CohortStage,
        CohortState,
        RoundSummary,
        approve,
        begin_round,
        close,
        delivered,
        kickoff_done,
        proposed,
    )
    from domain.errors import DomainRejection
    from workflows.contract import SearchAttributes
    from workflows.waiting import arrived_before

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


class MatchingApproval(BaseModel):
    """The ``approve_matching`` update: approve the round, optionally with pins and exclusions first."""

    round_id: str | None = None
    pins: tuple[PinSpec, ...] = ()
    exclusions: tuple[PinSpec, ...] = ()


class RunMatching(BaseModel):
    """The ``run_matching`` signal: a further round for late applicants and rematch requests."""

    reason: str = "requested by a coordinator"


class CohortStatus(BaseModel):
    cohort_id: str
    stage: str
    rounds: list[RoundSummary]
    kicked_off: bool
    gatherings_started: int
    waiting_for: str
    report: CohortReport | None = None


@workflow.defn(name="Cohort")
class CohortWorkflow:
    @workflow.init
    def __init__(self, plan: CohortPlan) -> None:
        self._plan = plan
        self._state = CohortState(cohort_id=plan.cohort_id)
        self._rounds_requested = 0
        self._approval: MatchingApproval | None = None
        self._waiting_for = "starting"
        self._report: CohortReport | None = None

    @workflow.run
    async def run(self, plan: CohortPlan) -> CohortReport:
        await workflow.execute_activity(
            "register_cohort",
            RegisterCohort(cohort_id=plan.cohort_id, coordinator_id=plan.coordinator_id),
            start_to_close_timeout=timedelta(seconds=15),
            retry_policy=RETRY,
            summary="register the cohort",
        )
        self._publish("applications open; the first matching round at " + _at(plan.matching_at))
        await self._until(plan.matching_at, lambda: self._rounds_requested > 0, "first matching round")
        await self._matching_round()

        closing_at = plan.programme_end + plan.review_window
        while True:  # kickoff, then the programme; a coordinator may ask for a further round at any time
            kicked_off = self._state.kicked_off
            target, what = (closing_at, "closing report") if kicked_off else (plan.kickoff_at, "kickoff")
            self._publish(("programme running; " if kicked_off else "") + f"{what} at {_at(target)}")
            if await self._until(target, lambda: self._rounds_requested > len(self._state.rounds), what):
                await self._matching_round()
            elif not kicked_off:
                await self._kickoff(plan)
            else:
                break

        self._state = close(self._state, final=False)
        self._publish("writing the cohort report")
        self._report = await workflow.execute_activity(
            "cohort_report",
            CohortReportRequest(cohort_id=plan.cohort_id),
            result_type=CohortReport,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary="cohort report",
        )
        self._state = close(self._state, final=True)
        self._publish("closed; the report is ready")
        return self._report

    async def _kickoff(self, plan: CohortPlan) -> None:
        started = await workflow.execute_activity(
            "schedule_gatherings",
            plan,
            result_type=int,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary="start the cohort's gatherings",
        )
        self._state = kickoff_done(self._state, started)

    async def _matching_round(self) -> None:
        self._state = begin_round(self._state)
        number = len(self._state.rounds) + 1
        self._rounds_requested = max(self._rounds_requested, number)
        self._publish(f"matching round {number}")
        summary = await self._run_round(number, (), ())
        if self._plan.auto_approve:
            self._approval = MatchingApproval(round_id=summary.round_id)
        else:
            self._publish(f"round {number}: {summary.matched} proposed; waiting for a coordinator's approval")
            await workflow.wait_condition(lambda: self._approval is not None)
        approval = self._approval
        assert approval is not None
        if approval.pins or approval.exclusions:
            summary = await self._run_round(number, approval.pins, approval.exclusions)
        self._state = approve(self._state, summary.round_id)
        self._approval = None
        self._publish(f"round {number}: delivering {summary.matched} matches")
        result = await workflow.execute_activity(
            "deliver_matches",
            DeliverMatches(cohort_id=self._plan.cohort_id, round_id=summary.round_id),
            result_type=MatchesDelivered,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary=f"deliver round {number}",
        )
        self._state = delivered(self._state, result.delivered + result.already)

    async def _run_round(self, number: int, pins: tuple[PinSpec, ...], exclusions: tuple[PinSpec, ...]) -> RoundSummary:
        summary = await workflow.execute_activity(
            "run_matching_round",
            MatchingRoundRequest(cohort_id=self._plan.cohort_id, number=number, pins=pins, exclusions=exclusions),
            result_type=RoundSummary,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(seconds=60),
            retry_policy=RETRY,
            summary=f"matching round {number}",
        )
        self._state = proposed(self._state, summary)
        self._publish(f"round {number} proposed")
        return summary

    async def _until(self, at: datetime, predicate: Callable[[], bool] | None, what: str) -> bool:
        """Wait until ``at`` or until ``predicate`` holds; True when the predicate ended the wait."""
        return await arrived_before(at, predicate or (lambda: False), what)

    def _publish(self, waiting_for: str) -> None:
        self._waiting_for = waiting_for
        workflow.upsert_search_attributes(
            [
                SearchAttributes.COHORT.value_set(self._plan.cohort_id),
                SearchAttributes.STAGE.value_set(self._state.stage.value),
            ]
        )
        workflow.set_current_details(f"{self._state.stage}: {waiting_for}")

    @workflow.signal(name="run_matching")
    def run_matching(self, request: RunMatching) -> None:
        self._rounds_requested = max(self._rounds_requested, len(self._state.rounds)) + 1

    @workflow.update(name="approve_matching")
    async def approve_matching(self, approval: MatchingApproval) -> CohortStatus:
        self._approval = approval
        await workflow.wait_condition(lambda: self._state.stage != CohortStage.AWAITING_APPROVAL)
        return self.status()

    @approve_matching.validator
    def _validate_approval(self, approval: MatchingApproval) -> None:
        try:
            approve(self._state, approval.round_id)
        except DomainRejection as rejection:
            raise ApplicationError(rejection.message, type="DomainRejection", non_retryable=True) from None
        if self._approval is not None:
            raise ApplicationError("this round has already been approved", type="DomainRejection")

    @workflow.query(name="status")
    def status(self) -> CohortStatus:
        return CohortStatus(
            cohort_id=self._plan.cohort_id,
            stage=self._state.stage.value,
            rounds=list(self._state.rounds),
            kicked_off=self._state.kicked_off,
            gatherings_started=self._state.gatherings_started,
            waiting_for=self._waiting_for,
            report=self._report,
        )


def _at(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def cohort_workflow_id(cohort_id: str) -> str:
    return f"cohort-{cohort_id}"


__all__ = ["CohortStatus", "CohortWorkflow", "MatchingApproval", "RunMatching", "cohort_workflow_id"]

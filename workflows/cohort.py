"""The Cohort workflow: one intake's matching rounds, kickoff gatherings and closing report.

It never holds the cohort's partnerships in its history: matching runs in an activity over the records
database, proposals are stored there and delivered to the partnerships from an activity in batches.

History budget (patch ``cohort-continue-as-new``): between matching rounds, and while it waits for the kickoff or
the closing report, a cohort continues as new before its history grows large (:class:`~workflows.budget.
HistoryBudget`); the next run takes its state (rounds, kickoff, gatherings started, a round requested and not yet
run, the last matching note) as its second argument, :class:`CohortContinued`, and waits for what it waited for.
While a round awaits a coordinator's approval (patch ``cohort-continue-as-new-awaiting-approval``) it continues as
new too: the carried state is AWAITING_APPROVAL with the round proposed, and the next run waits for the approval of
that round (the same round id; no new matching), then goes on as the cohort would have.
The pool, the proposals and the partnerships are in the records database, not in the history, so they carry over
by themselves.

Raw signals (patch ``cohort-raw-signals``): every signal takes the raw payload and parses it with its command
(``contract.cohort.SIGNALS``, parsed as the inbox parses the Partnership's); one that is not JSON or not a valid
command, and a signal of any other name (a catch-all handler), is a rejection counted in the status with its
reason (``rejections``, ``last_rejection``: the field and the problem, never the value). Nothing else changes, and
no activity runs for it. Histories from before the patch dropped them (the SDK's "Failed decoding arguments").
A ``run_matching`` with no payload or several is rejected too (several would otherwise be a TypeError that fails
every workflow task).
The ``approve_matching`` update takes its payload raw too, so a payload that is not JSON is refused by the
validator like any other malformed approval (non-retryable, the reason named).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.cohort import CohortActivities
    from activities.models import (
        CohortReportRequest,
        DeliverMatches,
        MatchingRoundRequest,
        RegisterCohort,
    )
    from contract.cohort import (
        RUN_MATCHING,
        SIGNALS,
        STATUS_QUERY,
        WORKFLOW_TYPE,
        CohortStatus,
        MatchingApproval,
        PinSpec,
        RejectionView,
        RunMatching,
        SearchAttributes,
        cohort_workflow_id,
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
    from domain.errors import DomainRejection, problems
    from domain.limits import payload_problem
    from workflows.budget import HistoryBudget, decoded, read_continued
    from workflows.inbox import parse_signal, takes_raw, unknown_signal
    from workflows.waiting import arrived_before

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
"""Only transient failures are retried for ever: the activities raise the others as non-retryable."""
COALESCE_RUN_MATCHING = "coalesce-run-matching"
"""Patch: a ``run_matching`` while a round is pending or under way joins it (histories before it counted each)."""
UNDER_WAY = (CohortStage.MATCHING, CohortStage.AWAITING_APPROVAL, CohortStage.DELIVERING_MATCHES)
CONTINUE_AS_NEW = "cohort-continue-as-new"
"""Patch: a cohort continues as new before its history grows large (histories before it never did)."""
CONTINUE_AWAITING_APPROVAL = "cohort-continue-as-new-awaiting-approval"
"""Patch: a cohort continues as new while a round awaits approval too (histories before it waited in the same run)."""
RAW_SIGNALS = "cohort-raw-signals"
"""Patch: a malformed signal, or one of an unknown name, is a rejection in the status (histories before it: dropped)."""


class CohortContinued(BaseModel):
    """The second start argument: what a run carries into the next when it continues as new. A carried ``state``
    is taken only from the cohort's own continue-as-new, never from a caller (a fresh start may set a smaller
    ``budget``, as the tests do). A ``state`` AWAITING_APPROVAL (patch ``cohort-continue-as-new-awaiting-approval``)
    carries the round awaiting approval as its last round: the next run waits for that round's approval."""

    state: CohortState | None = None
    rounds_requested: int = 0
    matching_note: str | None = None
    rejections: int = 0
    last_rejection: RejectionView | None = None
    budget: HistoryBudget = HistoryBudget()


@workflow.defn(name=WORKFLOW_TYPE)
class CohortWorkflow:
    @workflow.init
    def __init__(self, plan: CohortPlan, continued: CohortContinued | None = None) -> None:
        # With the optional second argument, a start that passes only the plan gets it decoded without its type.
        self._plan = plan if isinstance(plan, CohortPlan) else CohortPlan.model_validate(decoded(plan))
        self._state = CohortState(cohort_id=self._plan.cohort_id)
        self._rounds_requested = 0
        self._approval: MatchingApproval | None = None
        self._waiting_for = "starting"
        self._report: CohortReport | None = None
        self._matching_note: str | None = None
        self._rejections = 0
        self._last_rejection: RejectionView | None = None
        self._refused: tuple[MatchingApproval, str] | None = None
        """The approval the last round refused (unknown pins, say), and why: its update is answered with it."""
        carried, self._bad_continuation = read_continued(CohortContinued, continued, "cohort")
        self._budget = carried.budget if carried is not None else HistoryBudget()
        self._continued = carried is not None and carried.state is not None
        if carried is not None and carried.state is not None:
            self._state = carried.state
            self._rounds_requested = carried.rounds_requested
            self._matching_note = carried.matching_note
            self._rejections = carried.rejections
            self._last_rejection = carried.last_rejection

    __init__.__annotations__["continued"] = RawValue

    @workflow.run
    async def run(self, plan: CohortPlan, continued: CohortContinued | None = None) -> CohortReport:
        plan = self._plan
        if self._bad_continuation is not None:
            raise ApplicationError(self._bad_continuation, type="InvalidArgument", non_retryable=True)
        if not self._continued:
            await workflow.execute_activity_method(
                CohortActivities.register_cohort,
                RegisterCohort(cohort_id=plan.cohort_id, coordinator_id=plan.coordinator_id),
                start_to_close_timeout=timedelta(seconds=15),
                retry_policy=RETRY,
                summary="register the cohort",
            )
            self._publish("applications open; the first matching round at " + _at(plan.matching_at))
            await self._until(plan.matching_at, lambda: self._rounds_requested > 0, "first matching round")
            await self._matching_round()
        elif self._state.stage == CohortStage.AWAITING_APPROVAL and self._state.current_round is not None:
            # carried while a round awaited approval (only that continue-as-new carries this stage): wait for it
            current = self._state.current_round
            await self._approve_and_deliver(current.number, current)

        closing_at = plan.programme_end + plan.review_window
        while True:  # kickoff, then the programme; a coordinator may ask for a further round at any time
            if self._over_budget():
                await self._continue_as_new()
            kicked_off = self._state.kicked_off
            target, what = (closing_at, "closing report") if kicked_off else (plan.kickoff_at, "kickoff")
            self._publish(("programme running; " if kicked_off else "") + f"{what} at {_at(target)}")
            if await self._until(target, self._wakes, what):
                if self._rounds_requested > len(self._state.rounds):
                    await self._matching_round()
            elif not kicked_off:
                await self._kickoff(plan)
            else:
                break

        self._state = close(self._state, final=False)
        self._publish("writing the cohort report")
        self._report = await workflow.execute_activity_method(
            CohortActivities.cohort_report,
            CohortReportRequest(cohort_id=plan.cohort_id),
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary="cohort report",
        )
        self._state = close(self._state, final=True)
        self._publish("closed; the report is ready")
        return self._report

    run.__annotations__["continued"] = RawValue

    def _wakes(self) -> bool:
        """What ends a wait for the kickoff or the closing report early: a round requested, or (patched) the
        history budget spent."""
        return self._rounds_requested > len(self._state.rounds) or self._over_budget()

    def _over_budget(self) -> bool:
        return self._budget.spent() and workflow.patched(CONTINUE_AS_NEW)

    async def _continue_as_new(self) -> None:
        """Every handler done (an approval waits for its round, which is over by now, or none was accepted for the
        round awaiting approval), then continue as new with the state; the next run waits for what this one waited
        for."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.logger.info("continuing as new", extra={"rounds": len(self._state.rounds)})
        carried = CohortContinued(
            state=self._state,
            rounds_requested=self._rounds_requested,
            matching_note=self._matching_note,
            rejections=self._rejections,
            last_rejection=self._last_rejection,
            budget=self._budget,
        )
        workflow.continue_as_new(args=[self._plan.model_dump(mode="json"), carried.model_dump(mode="json")])

    async def _kickoff(self, plan: CohortPlan) -> None:
        started = await workflow.execute_activity_method(
            CohortActivities.schedule_gatherings,
            plan,
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
        await self._approve_and_deliver(number, summary)

    async def _approve_and_deliver(self, number: int, summary: RoundSummary) -> None:
        """The proposed round ``number`` waits for its approval (re-run with the approval's pins and exclusions),
        then its matches are delivered. A run whose history budget is spent while it waits (patched) continues as
        new; the next run comes back here with the same round."""
        while True:
            if self._plan.auto_approve:
                self._approval = MatchingApproval(round_id=summary.round_id)
            else:
                self._publish(f"round {number}: {summary.matched} proposed; waiting for a coordinator's approval")
                await self._await_approval()
            approval = self._approval
            assert approval is not None
            if not (approval.pins or approval.exclusions):
                break
            try:
                summary = await self._run_round(number, approval.pins, approval.exclusions)
                break
            except ActivityError as error:
                refusal = _permanent(error)
                if refusal is None:
                    raise
                # Pins that cannot apply (unknown ids, say): the approval is refused with the reason; the
                # round waits for another approval (never a matching activity retried for ever).
                self._refused = (approval, f"the pins and exclusions were refused: {refusal}")
                self._matching_note = self._refused[1]
                self._approval = None
        self._state = approve(self._state, summary.round_id)
        self._approval = None
        self._publish(f"round {number}: delivering {summary.matched} matches")
        result = await workflow.execute_activity_method(
            CohortActivities.deliver_matches,
            DeliverMatches(cohort_id=self._plan.cohort_id, round_id=summary.round_id),
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary=f"deliver round {number}",
        )
        self._state = delivered(self._state, result.delivered + result.already)

    async def _await_approval(self) -> None:
        """Until an approval arrives; or (patched) until the history budget is spent with every handler done, when
        the run continues as new still awaiting this round. No approval handler can be in flight then: an accepted
        one sets ``_approval`` in its first step, and a refused one finishes as soon as it is refused."""
        can_continue = workflow.patched(CONTINUE_AWAITING_APPROVAL)  # once per wait, never inside the condition
        await workflow.wait_condition(
            lambda: (
                self._approval is not None
                or (can_continue and self._budget.spent() and workflow.all_handlers_finished())
            )
        )
        if self._approval is None:
            await self._continue_as_new()

    async def _run_round(self, number: int, pins: tuple[PinSpec, ...], exclusions: tuple[PinSpec, ...]) -> RoundSummary:
        summary = await workflow.execute_activity_method(
            CohortActivities.run_matching_round,
            MatchingRoundRequest(cohort_id=self._plan.cohort_id, number=number, pins=pins, exclusions=exclusions),
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

    @workflow.signal(name=RUN_MATCHING)
    @takes_raw("request")
    def run_matching(self, request: RunMatching | None = None, *extra: Any) -> None:
        """Takes the raw payload (callers still pass a RunMatching): a malformed one, none, or more than one (the
        SDK then hands them decoded, not raw) is rejected and counted."""
        try:
            if not isinstance(request, RawValue) or extra:
                raise ValueError(f"{RUN_MATCHING} takes one JSON object")
            parse_signal(SIGNALS, RUN_MATCHING, cast(RawValue, request))  # checked only: a round takes no reason
        except ValueError as error:
            self._reject(RUN_MATCHING, str(error))
            return
        if workflow.patched(COALESCE_RUN_MATCHING):
            under_way = self._state.stage in UNDER_WAY
            if under_way or self._rounds_requested > len(self._state.rounds):
                # a round is in ``rounds`` once proposed: the one awaiting approval or delivery is the last
                proposed = self._state.stage in (CohortStage.AWAITING_APPROVAL, CohortStage.DELIVERING_MATCHES)
                number = (
                    len(self._state.rounds) if proposed else max(self._rounds_requested, len(self._state.rounds) + 1)
                )
                self._matching_note = (
                    f"run_matching at {_at(workflow.now())} joined round {number}, "
                    + ("already under way" if under_way else "already requested")
                    + " (one round at a time)"
                )
                return
        self._rounds_requested = max(self._rounds_requested, len(self._state.rounds)) + 1

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """Any other signal name: rejected and counted in the status (the name cleaned and cut short)."""
        shown, reason = unknown_signal(name, SIGNALS)
        self._reject(shown, reason)

    def _reject(self, name: str, reason: str) -> None:
        """A signal that made no command: the status shows it (before the patch the SDK dropped it)."""
        if workflow.patched(RAW_SIGNALS):
            self._rejections += 1
            self._last_rejection = RejectionView(command=name, reason=reason, at=workflow.now())

    @workflow.update  # APPROVE_MATCHING, the method's name; takes the raw payload so a refusal names the limit
    @takes_raw("payload")
    async def approve_matching(self, payload: dict[str, Any]) -> CohortStatus:
        approval = _approval(payload)
        self._approval = approval
        await workflow.wait_condition(
            lambda: (
                self._state.stage != CohortStage.AWAITING_APPROVAL
                or (self._refused is not None and self._refused[0] is approval)
            )
        )
        if self._refused is not None and self._refused[0] is approval:
            raise ApplicationError(self._refused[1], type="ApprovalRefused", non_retryable=True)
        return self.status()

    @approve_matching.validator
    @takes_raw("payload")
    def _validate_approval(self, payload: dict[str, Any]) -> None:
        approval = _approval(payload)
        try:
            approve(self._state, approval.round_id)
        except DomainRejection as rejection:
            raise ApplicationError(rejection.message, type="DomainRejection", non_retryable=True) from None
        if self._approval is not None:
            raise ApplicationError("this round has already been approved", type="DomainRejection", non_retryable=True)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> CohortStatus:
        return CohortStatus(
            cohort_id=self._plan.cohort_id,
            stage=self._state.stage.value,
            rounds=list(self._state.rounds),
            kicked_off=self._state.kicked_off,
            gatherings_started=self._state.gatherings_started,
            waiting_for=self._waiting_for,
            report=self._report,
            matching_note=self._matching_note,
            rejections=self._rejections,
            last_rejection=self._last_rejection,
        )


def _approval(payload: Any) -> MatchingApproval:
    """The approval an update carries; a refusal names the problem and the limit, never the values."""
    if isinstance(payload, RawValue):
        try:
            payload = workflow.payload_converter().from_payload(payload.payload)
        except Exception:
            payload = None  # not JSON at all: refused as not one JSON object
    if not isinstance(payload, dict):
        raise ApplicationError("approve_matching takes one JSON object", type="InvalidArgument", non_retryable=True)
    too_large = payload_problem(payload)
    if too_large is not None:
        raise ApplicationError(f"invalid approve_matching: {too_large}", type="InvalidArgument", non_retryable=True)
    try:
        return MatchingApproval.model_validate(payload)
    except ValidationError as error:
        message = f"invalid approve_matching: {problems(error)}"
        raise ApplicationError(message, type="InvalidArgument", non_retryable=True) from None


def _permanent(error: ActivityError) -> str | None:
    """The reason of a non-retryable activity failure (the activity said it will never succeed), else None."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.message
    return None


def _at(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


__all__ = ["CohortContinued", "CohortStatus", "CohortWorkflow", "MatchingApproval", "RunMatching", "cohort_workflow_id"]

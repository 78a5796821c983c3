"""The Gathering workflow: one subject group meeting (up to 20) or collective meeting (about 100).

Updates and timers become commands; the domain (``domain.gathering``) decides; an activity keeps the events
and sends their notices; the state is published (the ``status`` query, search attributes, current details).
Attendance, once recorded, is delivered by an activity to each attendee's Partnership workflow as
``gathering_attended`` (the partnership counts a gathering once, so a retried delivery counts nothing twice).

Where the record lives: the gathering's events (registrations, waitlist, attendance) are kept in the records
database by ``record_gathering_events`` (table ``gathering_events``), and the hours in each partnership's
event log. Notices (reminders, a place offered from the waitlist, the cancellation, attendance due) are log
lines for now: the outbox takes partnership rows only.

History budget (patch ``gathering-continue-as-new``): a gathering continues as new before its history grows large
(:class:`~workflows.budget.HistoryBudget`), after every message that has arrived is decided and answered; the next
run takes the state (registrations, waitlist, reminders, attendance, delivery still pending) as its second argument,
:class:`GatheringContinued`, and its timers go on from it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.gathering import GatheringActivities
    from activities.models import (
        AttendeeHours,
        DeliverAttendance,
        RecordGatheringEvents,
    )
    from contract.gathering import (
        MESSAGES,
        STATUS_QUERY,
        WORKFLOW_TYPE,
        Deadline,
        DeliveryView,
        GatheringSearchAttributes,
        GatheringStatus,
        SearchAttributes,
        gathering_workflow_id,
    )
    from domain.errors import DomainRejection, problems
    from domain.gathering import GatheringPlan, GatheringStage, GatheringState, decide, fold, initial_state, next_due
    from domain.gathering import commands as c
    from domain.gathering.events import Event
    from workflows import inbox, metrics
    from workflows.budget import HistoryBudget, decoded, read_continued
    from workflows.inbox import Inbox, Pending

CONTINUE_AS_NEW = "gathering-continue-as-new"
"""Patch: a gathering continues as new before its history grows large (histories before it never did)."""

RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
DELIVERY_TIMEOUT = timedelta(minutes=10)
DELIVERY_HEARTBEAT = timedelta(seconds=30)
"""A killed worker's delivery is retried after this; the retry resumes after the last batch heartbeated."""
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
"""Attendance is never dropped: delivery retries until Temporal answers (unknown/closed partnerships are
skipped with the reason, not retried)."""


class GatheringContinued(BaseModel):
    """The second start argument: what a run carries into the next when it continues as new. A carried ``state``
    is taken only from the gathering's own continue-as-new, never from a caller (a fresh start may set a smaller
    ``budget``, as the tests do)."""

    state: GatheringState | None = None
    budget: HistoryBudget = HistoryBudget()


@workflow.defn(name=WORKFLOW_TYPE)
@inbox.handlers(MESSAGES, GatheringStatus, signals=False)
class GatheringWorkflow:
    @workflow.init
    def __init__(self, plan: GatheringPlan, continued: GatheringContinued | None = None) -> None:
        self._state: GatheringState = initial_state(workflow.info().workflow_id)
        self._inbox: Inbox[GatheringStatus] = Inbox(MESSAGES, self._check, self.status)
        # Scheduled from the start, so that updates sent right after the start are validated against the plan
        # (they are processed only after ``run`` has recorded this).
        self._opening: list[Event] = []
        self._plan, self._refused = _read_plan(plan)
        carried, refused = read_continued(GatheringContinued, continued, "gathering")
        self._refused = self._refused or refused
        self._budget = carried.budget if carried is not None else HistoryBudget()
        self._continued = carried is not None and carried.state is not None
        if carried is not None and carried.state is not None:
            self._state = carried.state  # already scheduled and recorded by an earlier run
        elif self._plan is not None:
            try:
                self._opening = decide(self._state, c.Schedule(plan=self._plan), workflow.now())
            except DomainRejection as rejection:
                self._refused = rejection.message
        self._state = fold(self._state, self._opening)

    # The plan is taken raw: one that does not validate fails the workflow at once with the reason (field names
    # and problems, never the values) instead of failing every workflow task. Callers still see the type.
    __init__.__annotations__["plan"] = __init__.__annotations__["continued"] = RawValue

    @workflow.run
    async def run(self, plan: GatheringPlan, continued: GatheringContinued | None = None) -> GatheringStatus:
        if self._refused is not None or self._plan is None:
            raise ApplicationError(self._refused or "no plan", type="DomainRejection", non_retryable=True)
        plan = self._plan
        if workflow.info().workflow_id != gathering_workflow_id(plan.cohort_id, plan.gathering_id):
            workflow.logger.warning("a Gathering should run as gathering-{cohort_id}-{gathering_id}")
        if not self._continued:
            await self._record(self._opening, expected_version=0)
        self._publish()

        while not self._state.is_terminal:
            if self._budget.spent() and workflow.patched(CONTINUE_AS_NEW):
                await self._continue_as_new(plan)
            if self._state.pending_delivery:
                await self._deliver()
                continue
            due = next_due(self._state)
            pending = await self._inbox.next(due)
            if pending is None:
                assert due is not None
                # By arrival, as of the timer's due time (whatever arrived before it was decided before it).
                await self._apply(c.Tick(), now=due.at if self._inbox.by_arrival else None)
            else:
                await self._inbox.process(pending, self._decide_message)

        while self._inbox:  # updates that arrived on the way out get their answer (a rejection)
            await self._inbox.process(self._inbox.pop(), self._decide_message)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _continue_as_new(self, plan: GatheringPlan) -> None:
        """Finish what has arrived (every update answered, every handler done), then continue as new with the
        state: the next run starts from it, its timers computed from it as before."""
        await self._inbox.settle(self._decide_message)
        workflow.logger.info("continuing as new", extra={"version": self._state.version})
        carried = GatheringContinued(state=self._state, budget=self._budget)
        workflow.continue_as_new(args=[plan.model_dump(mode="json"), carried.model_dump(mode="json")])

    # ------------------------------------------------------------------------------------------- the loop

    async def _decide_message(self, pending: Pending[GatheringStatus]) -> str | None:
        return await self._apply(pending.command, now=self._inbox.now(pending))

    async def _apply(self, command: c.Command, now: datetime | None = None) -> str | None:
        """Decide, record, publish; returns the rejection's reason (nothing is recorded then)."""
        try:
            events: list[Event] = decide(self._state, command, now or workflow.now())
        except DomainRejection as rejection:
            workflow.logger.info("command rejected", extra={"command": command.type})
            metrics.command_decided("Gathering", command.type, rejected=True)
            return rejection.message
        if not events:
            return None
        metrics.command_decided("Gathering", command.type, rejected=False)
        await self._record(events, expected_version=self._state.version)
        self._state = fold(self._state, events)
        self._publish()
        return None

    async def _record(self, events: list[Event], expected_version: int) -> None:
        plan = self._state.plan
        assert plan is not None
        await workflow.execute_activity_method(
            GatheringActivities.record_gathering_events,
            RecordGatheringEvents(
                gathering_key=self._state.gathering_key,
                cohort_id=plan.cohort_id,
                expected_version=expected_version,
                events=events,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"record {', '.join(ev.type for ev in events)}",
        )

    async def _deliver(self) -> None:
        plan = self._state.plan
        assert plan is not None
        pending = self._state.pending_delivery
        report = await workflow.execute_activity_method(
            GatheringActivities.deliver_attendance,
            DeliverAttendance(
                gathering_key=self._state.gathering_key,
                gathering_id=plan.gathering_id,
                kind=plan.kind,
                attendees=[AttendeeHours(registrant_id=a.registrant_id, hours=a.hours) for a in pending],
            ),
            start_to_close_timeout=DELIVERY_TIMEOUT,
            heartbeat_timeout=DELIVERY_HEARTBEAT,
            retry_policy=DELIVERY_RETRY,
            summary=f"tell {len(pending)} attendees' partnerships",
        )
        rejected = await self._apply(c.NoteDelivery(signalled=tuple(report.signalled), skipped=report.skipped))
        if rejected is not None:  # pragma: no cover - the report is about exactly the pending attendees
            raise ApplicationError(f"delivery report refused: {rejected}")

    def _publish(self) -> None:
        workflow.upsert_search_attributes(search_attribute_updates(self._state))
        workflow.set_current_details(details(self._state))

    # ------------------------------------------------------------------------------------------- updates
    # The handlers of contract.gathering.MESSAGES (``inbox.handlers`` adds any not spelled out here); these
    # one-liners are the typed references callers use. tests/workflows/test_contract.py holds them equal.

    register = inbox.update("register", GatheringStatus)
    cancel_registration = inbox.update("cancel_registration", GatheringStatus)
    record_attendance = inbox.update("record_attendance", GatheringStatus)
    cancel_gathering = inbox.update("cancel_gathering", GatheringStatus)

    def _check(self, command: c.Command) -> None:
        """Update validators: a rejection here leaves no trace in the history."""
        decide(self._state, command, workflow.now())

    run.__annotations__["plan"] = run.__annotations__["continued"] = RawValue

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> GatheringStatus:
        return describe(self._state)


def _read_plan(raw: object) -> tuple[GatheringPlan | None, str | None]:
    """The plan, or why the input is not one (field names and problems, never the values)."""
    try:
        payload = decoded(raw)
    except Exception:
        return None, "the plan is not one JSON object"
    if not isinstance(payload, dict):
        return None, "the plan is not one JSON object"
    try:
        return GatheringPlan.model_validate(payload), None
    except ValidationError as error:
        return None, f"invalid plan: {problems(error)}"


# ---------------------------------------------------------------------------------------------- publishing


def details(state: GatheringState) -> str:
    """One line for the Temporal UI: "12/20 registered, 3 waitlisted; starts 2026-03-04 16:00 UTC"."""
    plan = state.plan
    if plan is None or state.stage is None:
        return "NEW: scheduling"
    counts = f"{len(state.registered)}/{plan.capacity} registered, {len(state.waitlist)} waitlisted"
    starts = f"{plan.starts_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    closes = f"{plan.closes_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    stage = state.stage
    if stage in (GatheringStage.SCHEDULED, GatheringStage.REMINDED):
        line = f"{counts}; starts {starts}"
        if stage == GatheringStage.REMINDED:
            line += f" (reminded {len(state.reminded)})"
        return line
    if stage == GatheringStage.HELD:
        line = f"HELD {starts}: {counts}; attendance not recorded yet, due by {closes}"
        return line + (" · ATTENTION ATTENDANCE_DUE" if state.attention else "")
    attended = f"{len(state.attendance)}/{len(state.registered)} attended"
    if stage == GatheringStage.ATTENDANCE_RECORDED:
        pending = len(state.pending_delivery)
        delivery = f"{pending} partnerships still to tell" if pending else "partnerships told"
        return f"ATTENDANCE_RECORDED: {attended} ({delivery}); more may be added until {closes}"
    if stage == GatheringStage.CANCELLED:
        return f"CANCELLED: {len(state.notified)} registrants notified"
    if state.attendance_recorded:
        return f"CLOSED: {attended}"
    return f"CLOSED: attendance never recorded ({len(state.registered)} registered) · ATTENTION a coordinator must see"


def describe(state: GatheringState) -> GatheringStatus:
    plan = state.plan
    due = next_due(state)
    return GatheringStatus(
        gathering_key=state.gathering_key,
        gathering_id=plan.gathering_id if plan else None,
        cohort_id=plan.cohort_id if plan else None,
        kind=plan.kind.value if plan else None,
        subject=plan.subject if plan else None,
        place=plan.place if plan else None,
        stage=state.stage.value if state.stage else None,
        starts_at=plan.starts_at if plan else None,
        ends_at=plan.ends_at if plan else None,
        capacity=state.capacity,
        registered=list(state.registered),
        waitlist=list(state.waitlist),
        reminded_at=state.reminded_at,
        reminded=len(state.reminded),
        attendance={a.registrant_id: a.hours for a in state.attendance},
        delivery=DeliveryView(
            signalled=list(state.delivered),
            skipped=dict(state.skipped),
            pending=[a.registrant_id for a in state.pending_delivery],
        ),
        attendance_closes_at=plan.closes_at if plan else None,
        next_deadline=Deadline(at=due.at, waiting_for=due.waiting_for) if due else None,
        waiting_for=details(state),
        cancelled_reason=state.cancelled_reason,
        note=state.note,
        attention=state.attention,
        version=state.version,
    )


def search_attribute_updates(state: GatheringState) -> list[SearchAttributeUpdate[Any]]:
    """``EpCohort``, ``EpStage``, ``EpGatheringKind``; ``EpAttention`` only while a coordinator must act."""
    plan = state.plan
    updates: list[SearchAttributeUpdate[Any]] = [
        SearchAttributes.STAGE.value_set(state.stage.value if state.stage else "NEW"),
    ]
    if plan is not None:
        updates.append(SearchAttributes.COHORT.value_set(plan.cohort_id))
        updates.append(GatheringSearchAttributes.KIND.value_set(plan.kind.value))
    attention = state.attention
    updates.append(
        SearchAttributes.ATTENTION.value_set(attention) if attention else SearchAttributes.ATTENTION.value_unset()
    )
    return updates


__all__ = ["GatheringContinued", "GatheringWorkflow", "describe", "details", "search_attribute_updates"]

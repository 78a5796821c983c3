"""The Gathering workflow: one subject group meeting (up to 20) or collective meeting (about 100).

Updates and timers become commands; the domain (``domain.gathering``) decides; an activity keeps the events
and sends their notices; the state is published (the ``status`` query, search attributes, current details).
Attendance, once recorded, is delivered by an activity to each attendee's Partnership workflow as
``gathering_attended`` (the partnership counts a gathering once, so a retried delivery counts nothing twice).

Where the record lives: the gathering's events (registrations, waitlist, attendance) are kept in the records
database by ``record_gathering_events`` (table ``gathering_events``), and the hours in each partnership's
event log. Notices (reminders, a place offered from the waitlist, the cancellation, attendance due) are log
lines for now: the outbox takes partnership rows only.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.models import (
        AttendanceDeliveryReport,
        AttendeeHours,
        DeliverAttendance,
        GatheringRecorded,
        RecordGatheringEvents,
    )
    from domain.errors import DomainRejection, from_payload, problems
    from domain.gathering import GatheringPlan, GatheringStage, GatheringState, decide, fold, initial_state, next_due
    from domain.gathering import commands as c
    from domain.gathering.events import Event
    from workflows.budget import HistoryBudget
    from workflows.contract import (
        Deadline,
        GatheringSearchAttributes,
        GatheringStatus,
        SearchAttributes,
        gathering_workflow_id,
    )
    from workflows.waiting import arrived_before

CONTINUE_AS_NEW = "gathering-continue-as-new-on-history-budget"
"""Patch: a gathering continues as new before its history grows large (histories before it never did)."""
RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
DELIVERY_TIMEOUT = timedelta(minutes=10)
DELIVERY_HEARTBEAT = timedelta(seconds=30)
"""A killed worker's delivery is retried after this; the retry resumes after the last batch heartbeated."""
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
"""Attendance is never dropped: delivery retries until Temporal answers (unknown/closed partnerships are
skipped with the reason, not retried)."""

UPDATE_COMMANDS: dict[str, type[c._Command]] = {
    "register": c.Register,
    "cancel_registration": c.CancelRegistration,
    "record_attendance": c.RecordAttendance,
    "cancel_gathering": c.CancelGathering,
}


@dataclass
class _Pending:
    name: str
    command: c.Command
    done: bool = False
    rejected: str | None = None
    result: GatheringStatus | None = None


class GatheringContinued(BaseModel):
    """The second argument of a continued run: the state it carries over (None: a fresh start)."""

    state: GatheringState | None = None
    budget: HistoryBudget = HistoryBudget()


@workflow.defn(name="Gathering")
class GatheringWorkflow:
    @workflow.init
    def __init__(self, plan: GatheringPlan, continued: GatheringContinued | None = None) -> None:
        self._state: GatheringState = initial_state(workflow.info().workflow_id)
        self._inbox: deque[_Pending] = deque()
        # The SDK decodes by the type hints only when every argument is given: a fresh start (the plan alone)
        # arrives as plain JSON, so it is validated here; a bad one is refused in ``run``, without its values.
        self._refused: str | None = None
        self._opening: list[Event] = []
        if continued is not None and not isinstance(continued, GatheringContinued):
            continued = GatheringContinued.model_validate(continued)
        self._budget = continued.budget if continued is not None else HistoryBudget()
        if continued is not None and continued.state is not None:
            self._state = continued.state
            return
        try:
            plan = plan if isinstance(plan, GatheringPlan) else GatheringPlan.model_validate(plan)
            # Scheduled from the start, so that updates sent right after the start are validated against the
            # plan (they are processed only after ``run`` has recorded this).
            self._opening = decide(self._state, c.Schedule(plan=plan), workflow.now())
        except DomainRejection as rejection:
            self._refused = rejection.message
        except ValidationError as error:
            self._refused = f"invalid plan: {problems(error)}"
        self._state = fold(self._state, self._opening)

    @workflow.run
    async def run(self, plan: GatheringPlan, continued: GatheringContinued | None = None) -> GatheringStatus:
        if self._refused is not None:
            raise ApplicationError(self._refused, type="DomainRejection", non_retryable=True)
        if self._opening:
            plan = plan if isinstance(plan, GatheringPlan) else GatheringPlan.model_validate(plan)
            if workflow.info().workflow_id != gathering_workflow_id(plan.cohort_id, plan.gathering_id):
                workflow.logger.warning("a Gathering should run as gathering-{cohort_id}-{gathering_id}")
            await self._record(self._opening, expected_version=0)
            self._publish()

        while not self._state.is_terminal:
            if self._budget.spent() and workflow.patched(CONTINUE_AS_NEW):
                await self._continue_as_new(plan)
            if self._state.pending_delivery:
                await self._deliver()
                continue
            due = next_due(self._state)
            if not await arrived_before(
                due.at if due else None, lambda: bool(self._inbox), due.waiting_for if due else None
            ):
                await self._apply(c.Tick())
                continue
            await self._process(self._inbox.popleft())

        while self._inbox:  # updates that arrived on the way out get their answer (a rejection)
            await self._process(self._inbox.popleft())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _continue_as_new(self, plan: Any) -> None:
        """Answer every update that has arrived, then continue as new with the state (timers follow from it)."""
        while self._inbox or not workflow.all_handlers_finished():
            if self._inbox:
                await self._process(self._inbox.popleft())
            else:
                await workflow.wait_condition(lambda: bool(self._inbox) or workflow.all_handlers_finished())
        workflow.continue_as_new(args=[plan, GatheringContinued(state=self._state, budget=self._budget)])

    # ------------------------------------------------------------------------------------------- the loop

    async def _process(self, pending: _Pending) -> None:
        try:
            pending.rejected = await self._apply(pending.command)
        finally:
            pending.result = self.status()
            pending.done = True

    async def _apply(self, command: c.Command) -> str | None:
        """Decide, record, publish; returns the rejection's reason (nothing is recorded then)."""
        try:
            events: list[Event] = decide(self._state, command, workflow.now())
        except DomainRejection as rejection:
            workflow.logger.info("command rejected", extra={"command": command.type})
            return rejection.message
        if not events:
            return None
        await self._record(events, expected_version=self._state.version)
        self._state = fold(self._state, events)
        self._publish()
        return None

    async def _record(self, events: list[Event], expected_version: int) -> None:
        plan = self._state.plan
        assert plan is not None
        await workflow.execute_activity(
            "record_gathering_events",
            RecordGatheringEvents(
                gathering_key=self._state.gathering_key,
                cohort_id=plan.cohort_id,
                expected_version=expected_version,
                events=events,
            ),
            result_type=GatheringRecorded,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"record {', '.join(ev.type for ev in events)}",
        )

    async def _deliver(self) -> None:
        plan = self._state.plan
        assert plan is not None
        pending = self._state.pending_delivery
        report = await workflow.execute_activity(
            "deliver_attendance",
            DeliverAttendance(
                gathering_key=self._state.gathering_key,
                gathering_id=plan.gathering_id,
                kind=plan.kind,
                attendees=[AttendeeHours(registrant_id=a.registrant_id, hours=a.hours) for a in pending],
            ),
            result_type=AttendanceDeliveryReport,
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

    async def _update(self, name: str, payload: Any) -> GatheringStatus:
        pending = _Pending(name=name, command=_command(name, payload))
        self._inbox.append(pending)
        await workflow.wait_condition(lambda: pending.done)
        if pending.rejected:
            raise ApplicationError(pending.rejected, type="DomainRejection", non_retryable=True)
        assert pending.result is not None
        return pending.result

    def _validate(self, name: str, payload: Any) -> None:
        """Update validators: a rejection here leaves no trace in the history."""
        command = _command(name, payload)
        decide(self._state, command, workflow.now())

    @workflow.update(name="register")
    async def register(self, payload: dict[str, Any]) -> GatheringStatus:
        return await self._update("register", payload)

    @register.validator
    def _v_register(self, payload: dict[str, Any]) -> None:
        self._validate("register", payload)

    @workflow.update(name="cancel_registration")
    async def cancel_registration(self, payload: dict[str, Any]) -> GatheringStatus:
        return await self._update("cancel_registration", payload)

    @cancel_registration.validator
    def _v_cancel_registration(self, payload: dict[str, Any]) -> None:
        self._validate("cancel_registration", payload)

    @workflow.update(name="record_attendance")
    async def record_attendance(self, payload: dict[str, Any]) -> GatheringStatus:
        return await self._update("record_attendance", payload)

    @record_attendance.validator
    def _v_record_attendance(self, payload: dict[str, Any]) -> None:
        self._validate("record_attendance", payload)

    @workflow.update(name="cancel_gathering")
    async def cancel_gathering(self, payload: dict[str, Any]) -> GatheringStatus:
        return await self._update("cancel_gathering", payload)

    @cancel_gathering.validator
    def _v_cancel_gathering(self, payload: dict[str, Any]) -> None:
        self._validate("cancel_gathering", payload)

    @workflow.query(name="status")
    def status(self) -> GatheringStatus:
        return describe(self._state)


def _command(name: str, payload: Any) -> c.Command:
    """The command an update carries; ValueError with a readable reason (no input values) when malformed."""
    return from_payload(UPDATE_COMMANDS[name], name, payload)  # type: ignore[return-value]


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
        delivery={
            "signalled": list(state.delivered),
            "skipped": dict(state.skipped),
            "pending": [a.registrant_id for a in state.pending_delivery],
        },
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

"""The rules of a gathering: ``decide(state, command, now) -> events``, ``evolve``, ``fold`` and ``next_due``.

Registration by opaque registrant id until the start; a full gathering waitlists in order and a cancellation
promotes the first waiting; attendance is recorded by a coordinator once the gathering has started, only for
registrants, and may be added to (never taken back) until the attendance window closes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import singledispatch

from domain.errors import DomainRejection
from domain.gathering import commands as c
from domain.gathering import events as e
from domain.gathering.plan import GatheringPlan
from domain.gathering.state import (
    OPEN_STAGES,
    STARTED_STAGES,
    Attendee,
    GatheringStage,
    GatheringState,
)
from domain.partnership.rules import Due

NEVER_RECORDED = "attendance never recorded"
"""The note on a gathering that closed without attendance: a coordinator must see to it."""


def initial_state(gathering_key: str) -> GatheringState:
    return GatheringState(gathering_key=gathering_key)


def utc(moment: datetime) -> str:
    """A moment as people read it in messages: ``2026-03-04 16:00 UTC``."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


# ---------------------------------------------------------------------------------------------- decide


def decide(state: GatheringState, command: c.Command, now: datetime) -> list[e.Event]:
    """The events ``command`` causes at ``now``; raises DomainRejection, with a reason, when it makes no sense."""
    if state.stage is None and not isinstance(command, c.Schedule):
        raise DomainRejection("the gathering is not scheduled yet; try again in a moment")
    if state.is_terminal and not isinstance(command, c.Tick):
        raise DomainRejection(f"gathering {_name(state)} is {_ended(state)}; nothing more can be done")
    return _decide(command, state, now)


@singledispatch
def _decide(command: c.Command, state: GatheringState, now: datetime) -> list[e.Event]:
    raise DomainRejection(f"unknown command {type(command).__name__}")


@_decide.register
def _(command: c.Schedule, state: GatheringState, now: datetime) -> list[e.Event]:
    if state.stage is not None:
        raise DomainRejection(f"gathering {_name(state)} is already scheduled")
    plan = command.plan
    if now >= plan.closes_at:
        raise DomainRejection(
            f"gathering {plan.gathering_id} ended and its attendance window closed at {utc(plan.closes_at)}"
        )
    return [e.GatheringScheduled(at=now, plan=plan)]


@_decide.register
def _(command: c.Register, state: GatheringState, now: datetime) -> list[e.Event]:
    plan = _require_open(state, now, "register")
    who = command.registrant_id
    if not plan.invites(who):
        raise DomainRejection(f"{who} is not invited to gathering {plan.gathering_id}")
    if who in state.registered:
        raise DomainRejection(f"{who} is already registered for gathering {plan.gathering_id}")
    if who in state.waitlist:
        position = state.waitlist.index(who) + 1
        raise DomainRejection(f"{who} is already on the waitlist of gathering {plan.gathering_id} (#{position})")
    if len(state.registered) < plan.capacity:
        return [e.Registered(at=now, registrant_id=who)]
    return [e.Waitlisted(at=now, registrant_id=who, position=len(state.waitlist) + 1)]


@_decide.register
def _(command: c.CancelRegistration, state: GatheringState, now: datetime) -> list[e.Event]:
    plan = _require_open(state, now, "cancel a registration")
    who = command.registrant_id
    if who in state.waitlist:
        return [e.RegistrationCancelled(at=now, registrant_id=who, was_waitlisted=True)]
    if who not in state.registered:
        raise DomainRejection(f"{who} is not registered for gathering {plan.gathering_id}")
    promoted = state.waitlist[0] if state.waitlist else None
    return [e.RegistrationCancelled(at=now, registrant_id=who, promoted=promoted)]


@_decide.register
def _(command: c.RecordAttendance, state: GatheringState, now: datetime) -> list[e.Event]:
    plan = _plan(state)
    if now < plan.starts_at:
        raise DomainRejection(
            f"attendance can be recorded once gathering {plan.gathering_id} has started ({utc(plan.starts_at)})"
        )
    present = tuple(dict.fromkeys(command.present))  # listed twice counts once
    waiting = [who for who in present if who in state.waitlist]
    strangers = [who for who in present if who not in state.registered and who not in state.waitlist]
    problems = []
    if strangers:
        problems.append(f"{', '.join(strangers)} {_is_are(strangers)} not registered")
    if waiting:
        problems.append(f"{', '.join(waiting)} {_was_were(waiting)} on the waitlist, not registered")
    if problems:
        raise DomainRejection(f"cannot record attendance at gathering {plan.gathering_id}: {'; '.join(problems)}")
    new = tuple(who for who in present if who not in state.attendees)
    if not new:
        raise DomainRejection(
            f"attendance at gathering {plan.gathering_id} is already recorded for {', '.join(present)}"
        )
    events: list[e.Event] = []
    if state.stage in OPEN_STAGES:  # the start timer has not fired yet
        events.append(e.GatheringStarted(at=now))
    hours = command.hours if command.hours is not None else plan.duration_hours
    events.append(e.AttendanceRecorded(at=now, present=new, hours=hours))
    return events


@_decide.register
def _(command: c.NoteDelivery, state: GatheringState, now: datetime) -> list[e.Event]:
    if state.stage != GatheringStage.ATTENDANCE_RECORDED:
        raise DomainRejection(f"no attendance to deliver while the gathering is {state.stage}")
    attendees = set(state.attendees)
    unknown = sorted((set(command.signalled) | set(command.skipped)) - attendees)
    if unknown:
        raise DomainRejection(f"delivery reported for {', '.join(unknown)}, who did not attend")
    return [e.AttendanceDelivered(at=now, signalled=command.signalled, skipped=command.skipped)]


@_decide.register
def _(command: c.CancelGathering, state: GatheringState, now: datetime) -> list[e.Event]:
    plan = _plan(state)
    if state.attendance_recorded:
        raise DomainRejection(
            f"gathering {plan.gathering_id} took place (attendance is recorded); it cannot be cancelled"
        )
    return [e.GatheringCancelled(at=now, reason=command.reason, notified=(*state.registered, *state.waitlist))]


@_decide.register
def _(command: c.Tick, state: GatheringState, now: datetime) -> list[e.Event]:
    """One step of whatever is due at ``now`` (the caller ticks again while ``next_due`` is past)."""
    if state.is_terminal:
        return []
    plan = _plan(state)
    if state.stage in OPEN_STAGES and now >= plan.starts_at:
        return [e.GatheringStarted(at=now)]
    if state.stage == GatheringStage.SCHEDULED and state.reminds and now >= plan.reminder_at:
        return [e.ReminderSent(at=now, recipients=state.registered)]
    if state.stage in STARTED_STAGES and now >= plan.closes_at:
        if state.attendance_recorded:
            attended = len(state.attendance)
            note = f"attendance recorded: {attended} of {len(state.registered)} registered attended"
            return [e.GatheringClosed(at=now, attendance_recorded=True, note=note)]
        return [e.GatheringClosed(at=now, attendance_recorded=False, note=NEVER_RECORDED)]
    if state.stage == GatheringStage.HELD and state.attendance_requested_at is None and now >= plan.ends_at:
        return [e.AttendanceDue(at=now, closes_at=plan.closes_at)]
    return []


def next_due(state: GatheringState) -> Due | None:
    """When a timer must fire next, and what for; None once the gathering is over."""
    plan = state.plan
    if plan is None or state.is_terminal:
        return None
    if state.stage == GatheringStage.SCHEDULED and state.reminds:
        return Due(at=plan.reminder_at, waiting_for="reminder to registrants")
    if state.stage in OPEN_STAGES:
        return Due(at=plan.starts_at, waiting_for="start of the gathering")
    if state.stage == GatheringStage.HELD and state.attendance_requested_at is None:
        return Due(at=plan.ends_at, waiting_for="end of the gathering (then attendance is due)")
    if state.stage == GatheringStage.HELD:
        return Due(at=plan.closes_at, waiting_for="attendance (else the gathering closes without it)")
    return Due(at=plan.closes_at, waiting_for="end of the attendance window")


def _plan(state: GatheringState) -> GatheringPlan:
    assert state.plan is not None
    return state.plan


def _require_open(state: GatheringState, now: datetime, what: str) -> GatheringPlan:
    plan = _plan(state)
    if state.stage not in OPEN_STAGES or now >= plan.starts_at:
        raise DomainRejection(
            f"cannot {what}: gathering {plan.gathering_id} started at {utc(plan.starts_at)}; registration is closed"
        )
    return plan


def _name(state: GatheringState) -> str:
    return state.plan.gathering_id if state.plan else state.gathering_key


def _ended(state: GatheringState) -> str:
    if state.stage == GatheringStage.CANCELLED:
        return "cancelled"
    return "closed"


def _is_are(items: list[str]) -> str:
    return "is" if len(items) == 1 else "are"


def _was_were(items: list[str]) -> str:
    return "was" if len(items) == 1 else "were"


# ---------------------------------------------------------------------------------------------- evolve


def evolve(state: GatheringState, event: e.Event) -> GatheringState:
    """The state after ``event``. Pure; the version moves by one for every event."""
    return state.replace(**_evolve(event, state), version=state.version + 1)


def fold(state: GatheringState, events: Iterable[e.Event]) -> GatheringState:
    for event in events:
        state = evolve(state, event)
    return state


@singledispatch
def _evolve(event: e.Event, state: GatheringState) -> dict[str, object]:
    raise TypeError(f"no evolve rule for {type(event).__name__}")


@_evolve.register
def _(event: e.GatheringScheduled, state: GatheringState) -> dict[str, object]:
    return {"stage": GatheringStage.SCHEDULED, "plan": event.plan, "scheduled_at": event.at}


@_evolve.register
def _(event: e.Registered, state: GatheringState) -> dict[str, object]:
    return {"registered": (*state.registered, event.registrant_id)}


@_evolve.register
def _(event: e.Waitlisted, state: GatheringState) -> dict[str, object]:
    return {"waitlist": (*state.waitlist, event.registrant_id)}


@_evolve.register
def _(event: e.RegistrationCancelled, state: GatheringState) -> dict[str, object]:
    if event.was_waitlisted:
        return {"waitlist": tuple(w for w in state.waitlist if w != event.registrant_id)}
    registered = tuple(r for r in state.registered if r != event.registrant_id)
    waitlist = state.waitlist
    if event.promoted is not None:
        registered = (*registered, event.promoted)
        waitlist = tuple(w for w in waitlist if w != event.promoted)
    return {"registered": registered, "waitlist": waitlist}


@_evolve.register
def _(event: e.ReminderSent, state: GatheringState) -> dict[str, object]:
    return {"stage": GatheringStage.REMINDED, "reminded_at": event.at, "reminded": event.recipients}


@_evolve.register
def _(event: e.GatheringStarted, state: GatheringState) -> dict[str, object]:
    return {"stage": GatheringStage.HELD, "started_at": event.at}


@_evolve.register
def _(event: e.AttendanceDue, state: GatheringState) -> dict[str, object]:
    return {"attendance_requested_at": event.at}


@_evolve.register
def _(event: e.AttendanceRecorded, state: GatheringState) -> dict[str, object]:
    added = tuple(Attendee(registrant_id=who, hours=event.hours) for who in event.present)
    return {"stage": GatheringStage.ATTENDANCE_RECORDED, "attendance": (*state.attendance, *added)}


@_evolve.register
def _(event: e.AttendanceDelivered, state: GatheringState) -> dict[str, object]:
    return {
        "delivered": (*state.delivered, *(s for s in event.signalled if s not in state.delivered)),
        "skipped": {**state.skipped, **event.skipped},
    }


@_evolve.register
def _(event: e.GatheringCancelled, state: GatheringState) -> dict[str, object]:
    return {
        "stage": GatheringStage.CANCELLED,
        "cancelled_reason": event.reason,
        "notified": event.notified,
        "closed_at": event.at,
        "note": "cancelled by a coordinator",
    }


@_evolve.register
def _(event: e.GatheringClosed, state: GatheringState) -> dict[str, object]:
    return {"stage": GatheringStage.CLOSED, "closed_at": event.at, "note": event.note}


__all__ = ["NEVER_RECORDED", "Due", "decide", "evolve", "fold", "initial_state", "next_due", "utc"]

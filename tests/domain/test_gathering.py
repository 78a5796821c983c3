"""Gatherings (subject group and collective meetings): plan, registration, waitlist, reminder, attendance, closing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain import DomainRejection
from domain.gathering import (
    NEVER_RECORDED,
    GatheringNotice,
    GatheringPlan,
    GatheringStage,
    GatheringState,
    decide,
    fold,
    initial_state,
    next_due,
    notices_for,
)
from domain.gathering import commands as c
from domain.gathering import events as e
from domain.partnership.commands import GatheringKind

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STARTS = T0 + timedelta(days=10)
KEY = "gathering-cohort-1-visit-1"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def plan(**overrides: Any) -> GatheringPlan:
    fields: dict[str, Any] = {
        "cohort_id": "cohort-1",
        "gathering_id": "visit-1",
        "kind": "group",
        "subject": "Company visit: a Helsinki games studio",
        "starts_at": STARTS,
        "duration_hours": 3,
        "place": "Ruoholahti",
    }
    fields.update(overrides)
    return GatheringPlan.model_validate(fields)


def pid(n: int) -> str:
    return f"partnership-cohort-1-m{n:02d}"


@dataclass
class Gathering:
    """One gathering driven through the rules as the workflow does, with its log and the time."""

    state: GatheringState
    now: datetime = T0
    log: list[e.Event] = field(default_factory=list)

    def do(self, command: c.Command, at: datetime | None = None) -> list[e.Event]:
        if at is not None:
            assert at >= self.now
            self.now = at
        events = decide(self.state, command, self.now)
        self.state = fold(self.state, events)
        self.log.extend(events)
        return events

    def reject(self, command: c.Command, at: datetime | None = None) -> str:
        if at is not None:
            self.now = at
        before = self.state.model_dump()
        with pytest.raises(DomainRejection) as info:
            decide(self.state, command, self.now)
        assert self.state.model_dump() == before
        return info.value.message

    def register(self, *who: str) -> None:
        for registrant in who:
            self.do(c.Register(registrant_id=registrant))

    def tick_due(self) -> list[e.Event]:
        due = next_due(self.state)
        assert due is not None
        return self.do(c.Tick(), at=max(due.at, self.now))


def scheduled(**overrides: Any) -> Gathering:
    g = Gathering(initial_state(KEY))
    g.do(c.Schedule(plan=plan(**overrides)))
    return g


def held(registrants: int = 3, **overrides: Any) -> Gathering:
    g = scheduled(**overrides)
    g.register(*(pid(n) for n in range(1, registrants + 1)))
    g.do(c.Tick(), at=STARTS)
    assert g.state.stage == GatheringStage.HELD
    return g


# ---------------------------------------------------------------------------------------------- the plan


def test_a_group_meeting_defaults_to_20_places_and_takes_no_more() -> None:
    assert plan().capacity == 20
    assert plan(capacity=12).capacity == 12
    with pytest.raises(ValidationError, match="at most 20"):
        plan(capacity=21)


def test_a_collective_meeting_defaults_to_100_places_and_takes_up_to_500() -> None:
    assert plan(kind="collective").capacity == 100
    assert plan(kind="collective", capacity=500).capacity == 500
    with pytest.raises(ValidationError, match="at most 500"):
        plan(kind="collective", capacity=501)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"starts_at": datetime(2026, 3, 12, 9, 0)}, "timezone"),
        ({"duration_hours": 0}, "greater than 0"),
        ({"duration_hours": 13}, "less than or equal to 12"),
        ({"capacity": 0}, "greater than or equal to 1"),
        ({"reminder_before": "-P1D"}, "positive duration"),
        ({"attendance_grace": 0}, "positive duration"),
        ({"kind": "pair"}, "group"),
        ({"invitees": [pid(1), pid(1)]}, "must not repeat"),
        ({"gathering_id": "has spaces"}, "pattern"),
        ({"subject": ""}, "at least 1"),
    ],
)
def test_a_plan_that_makes_no_sense_is_refused(overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        plan(**overrides)


def test_durations_are_iso_8601_or_seconds_and_default_to_two_and_seven_days() -> None:
    p = plan()
    assert (p.reminder_before, p.attendance_grace) == (2 * DAY, 7 * DAY)
    assert plan(reminder_before="PT12H", attendance_grace=3600).reminder_before == 12 * HOUR
    assert plan(attendance_grace=3600).attendance_grace == HOUR
    assert p.ends_at == STARTS + 3 * HOUR
    assert p.closes_at == STARTS + 3 * HOUR + 7 * DAY
    assert plan().model_validate_json(p.model_dump_json()) == p


def test_a_gathering_whose_attendance_window_has_closed_cannot_be_scheduled() -> None:
    g = Gathering(initial_state(KEY), now=STARTS + 8 * DAY)
    assert "attendance window closed" in g.reject(c.Schedule(plan=plan()))


def test_nothing_but_scheduling_before_the_gathering_is_scheduled() -> None:
    g = Gathering(initial_state(KEY))
    assert "not scheduled yet" in g.reject(c.Register(registrant_id=pid(1)))
    g.do(c.Schedule(plan=plan()))
    assert "already scheduled" in g.reject(c.Schedule(plan=plan()))
    assert g.state.stage == GatheringStage.SCHEDULED and g.state.scheduled_at == T0


# ---------------------------------------------------------------------------------------------- registration


def test_a_full_group_waitlists_in_order_and_a_cancellation_promotes_the_first_waiting() -> None:
    g = scheduled()
    g.register(*(pid(n) for n in range(1, 21)))
    assert len(g.state.registered) == 20 and g.state.waitlist == ()
    [waitlisted] = g.do(c.Register(registrant_id=pid(21)))
    assert waitlisted == e.Waitlisted(at=T0, registrant_id=pid(21), position=1)
    g.do(c.Register(registrant_id=pid(22)))
    assert g.state.waitlist == (pid(21), pid(22))

    [cancelled] = g.do(c.CancelRegistration(registrant_id=pid(3)))
    assert isinstance(cancelled, e.RegistrationCancelled) and cancelled.promoted == pid(21)
    assert pid(3) not in g.state.registered
    assert g.state.registered[-1] == pid(21) and len(g.state.registered) == 20
    assert g.state.waitlist == (pid(22),)
    assert notices_for(cancelled) == [GatheringNotice(recipient=pid(21), template="gathering_place_offered")]


def test_leaving_the_waitlist_promotes_nobody() -> None:
    g = scheduled(capacity=1)
    g.register(pid(1), pid(2), pid(3))
    [left] = g.do(c.CancelRegistration(registrant_id=pid(2)))
    assert isinstance(left, e.RegistrationCancelled) and left.was_waitlisted and left.promoted is None
    assert (g.state.registered, g.state.waitlist) == ((pid(1),), (pid(3),))
    assert notices_for(left) == []


def test_a_place_freed_with_nobody_waiting_stays_free_and_can_be_taken_again() -> None:
    g = scheduled(capacity=2)
    g.register(pid(1), pid(2))
    g.do(c.CancelRegistration(registrant_id=pid(1)))
    assert g.state.registered == (pid(2),)
    g.register(pid(1))
    assert g.state.registered == (pid(2), pid(1))


def test_duplicate_registration_is_rejected_with_a_clear_message() -> None:
    g = scheduled(capacity=1)
    g.register(pid(1), pid(2))
    assert g.reject(c.Register(registrant_id=pid(1))) == f"{pid(1)} is already registered for gathering visit-1"
    assert (
        g.reject(c.Register(registrant_id=pid(2))) == f"{pid(2)} is already on the waitlist of gathering visit-1 (#1)"
    )


def test_a_mentor_registers_apart_from_the_mentee() -> None:
    g = scheduled()
    g.register(pid(1), f"{pid(1)}:mentor")
    assert g.state.registered == (pid(1), f"{pid(1)}:mentor")


def test_cancelling_a_registration_nobody_made_is_rejected() -> None:
    g = scheduled()
    assert g.reject(c.CancelRegistration(registrant_id=pid(9))) == f"{pid(9)} is not registered for gathering visit-1"


def test_with_invitees_only_they_and_their_mentors_may_register() -> None:
    g = scheduled(invitees=[pid(1), pid(2)])
    g.register(pid(1), f"{pid(2)}:mentor")
    assert g.reject(c.Register(registrant_id=pid(3))) == f"{pid(3)} is not invited to gathering visit-1"


def test_no_registration_or_cancellation_once_the_gathering_has_started() -> None:
    g = scheduled()
    g.register(pid(1))
    # At the start, even before the start timer has fired:
    message = g.reject(c.Register(registrant_id=pid(2)), at=STARTS)
    assert message == "cannot register: gathering visit-1 started at 2026-03-12 09:00 UTC; registration is closed"
    assert "registration is closed" in g.reject(c.CancelRegistration(registrant_id=pid(1)))
    g.do(c.Tick())
    assert "registration is closed" in g.reject(c.Register(registrant_id=pid(2)), at=STARTS + DAY)


def test_registrant_ids_are_opaque_ids_not_names_or_addresses() -> None:
    for bad in ("Anna Virtanen", "anna@example.org", ""):
        with pytest.raises(ValidationError):
            c.Register(registrant_id=bad)


# ---------------------------------------------------------------------------------------------- timers


def test_registrants_are_reminded_before_the_start_then_the_gathering_is_held() -> None:
    g = scheduled()
    g.register(pid(1), pid(2))
    due = next_due(g.state)
    assert due is not None and due.at == STARTS - 2 * DAY
    assert g.do(c.Tick(), at=STARTS - 3 * DAY) == [], "an early tick does nothing"
    [reminder] = g.tick_due()
    assert reminder == e.ReminderSent(at=STARTS - 2 * DAY, recipients=(pid(1), pid(2)))
    assert g.state.stage == GatheringStage.REMINDED
    assert [n.template for n in notices_for(reminder)] == ["gathering_reminder"] * 2
    g.register(pid(3))  # registration stays open after the reminder
    due = next_due(g.state)
    assert due is not None and due.at == STARTS
    [started] = g.tick_due()
    assert isinstance(started, e.GatheringStarted) and g.state.stage == GatheringStage.HELD


def test_no_reminder_when_scheduled_after_its_time() -> None:
    g = Gathering(initial_state(KEY), now=STARTS - DAY)
    g.do(c.Schedule(plan=plan()))
    due = next_due(g.state)
    assert due is not None and due.at == STARTS
    g.tick_due()
    assert g.state.stage == GatheringStage.HELD and g.state.reminded_at is None


def test_a_late_timer_skips_the_reminder_and_starts_the_gathering() -> None:
    g = scheduled()
    g.register(pid(1))
    assert [type(ev) for ev in g.do(c.Tick(), at=STARTS + HOUR)] == [e.GatheringStarted]


def test_attendance_never_recorded_asks_the_coordinator_at_the_end_then_closes_after_the_grace() -> None:
    g = held()
    due = next_due(g.state)
    assert due is not None and due.at == STARTS + 3 * HOUR
    [asked] = g.tick_due()
    assert isinstance(asked, e.AttendanceDue)
    assert notices_for(asked) == [GatheringNotice(recipient="coordinator", template="gathering_attendance_due")]
    assert g.state.attention == "ATTENDANCE_DUE"
    due = next_due(g.state)
    assert due is not None and due.at == STARTS + 3 * HOUR + 7 * DAY
    [closed] = g.tick_due()
    assert closed == e.GatheringClosed(at=due.at, attendance_recorded=False, note=NEVER_RECORDED)
    assert notices_for(closed) == [GatheringNotice(recipient="coordinator", template="gathering_attendance_missing")]
    assert g.state.stage == GatheringStage.CLOSED and g.state.is_terminal
    assert g.state.attention == "ATTENDANCE_NEVER_RECORDED" and g.state.note == NEVER_RECORDED
    assert next_due(g.state) is None
    assert "closed; nothing more can be done" in g.reject(c.RecordAttendance(present=(pid(1),)))
    assert g.do(c.Tick(), at=g.now + DAY) == []


# ---------------------------------------------------------------------------------------------- attendance


def test_attendance_is_recorded_after_the_start_for_registrants_with_the_duration_as_hours() -> None:
    g = held()
    events = g.do(c.RecordAttendance(present=(pid(1), pid(3))), at=STARTS + 4 * HOUR)
    assert events == [e.AttendanceRecorded(at=g.now, present=(pid(1), pid(3)), hours=3.0)]
    assert g.state.stage == GatheringStage.ATTENDANCE_RECORDED
    assert [(a.registrant_id, a.hours) for a in g.state.attendance] == [(pid(1), 3.0), (pid(3), 3.0)]
    assert [a.registrant_id for a in g.state.pending_delivery] == [pid(1), pid(3)]
    assert g.state.attention is None


def test_attendance_before_the_start_is_rejected() -> None:
    g = scheduled()
    g.register(pid(1))
    message = g.reject(c.RecordAttendance(present=(pid(1),)), at=STARTS - HOUR)
    assert message == "attendance can be recorded once gathering visit-1 has started (2026-03-12 09:00 UTC)"


def test_attendance_at_the_start_before_the_timer_fired_starts_the_gathering_too() -> None:
    g = scheduled()
    g.register(pid(1))
    events = g.do(c.RecordAttendance(present=(pid(1),), hours=2), at=STARTS)
    assert [type(ev) for ev in events] == [e.GatheringStarted, e.AttendanceRecorded]
    assert g.state.attendance[0].hours == 2


def test_attendance_only_for_registrants_not_the_waitlist_or_strangers() -> None:
    g = scheduled(capacity=2)
    g.register(pid(1), pid(2), pid(3))
    g.do(c.Tick(), at=STARTS)
    message = g.reject(c.RecordAttendance(present=(pid(1), pid(3), pid(8), pid(9))))
    assert message == (
        f"cannot record attendance at gathering visit-1: {pid(8)}, {pid(9)} are not registered; "
        f"{pid(3)} was on the waitlist, not registered"
    )


def test_attendance_is_added_to_never_counted_twice() -> None:
    g = held()
    g.do(c.RecordAttendance(present=(pid(1), pid(1))), at=STARTS + HOUR)
    assert g.state.attendees == (pid(1),), "listed twice counts once"
    already = g.reject(c.RecordAttendance(present=(pid(1),)))
    assert already == f"attendance at gathering visit-1 is already recorded for {pid(1)}"
    [added] = g.do(c.RecordAttendance(present=(pid(1), pid(2)), hours=1.5))
    assert added == e.AttendanceRecorded(at=g.now, present=(pid(2),), hours=1.5)
    assert [(a.registrant_id, a.hours) for a in g.state.attendance] == [(pid(1), 3.0), (pid(2), 1.5)]


@pytest.mark.parametrize(
    "payload", [{"present": []}, {"present": [pid(1)], "hours": 0}, {"present": [pid(1)], "hours": 13}]
)
def test_attendance_needs_someone_and_sensible_hours(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        c.RecordAttendance.model_validate(payload)


def test_delivery_is_noted_and_leaves_nothing_pending_then_the_gathering_closes_with_a_count() -> None:
    g = held()
    g.do(c.RecordAttendance(present=(pid(1), pid(2))), at=STARTS + HOUR)
    g.do(c.NoteDelivery(signalled=(pid(1),), skipped={pid(2): "unknown partnership"}))
    assert g.state.delivered == (pid(1),) and g.state.skipped == {pid(2): "unknown partnership"}
    assert g.state.pending_delivery == ()
    assert "did not attend" in g.reject(c.NoteDelivery(signalled=(pid(3),)))
    [closed] = g.tick_due()
    assert closed == e.GatheringClosed(
        at=STARTS + 3 * HOUR + 7 * DAY, attendance_recorded=True, note="attendance recorded: 2 of 3 registered attended"
    )
    assert g.state.attention is None and notices_for(closed) == []


# ---------------------------------------------------------------------------------------------- cancellation


def test_cancelling_the_gathering_notifies_registrants_and_the_waitlist_and_ends_it() -> None:
    g = scheduled(capacity=1)
    g.register(pid(1), pid(2))
    [cancelled] = g.do(c.CancelGathering(reason="the host company postponed"), at=T0 + DAY)
    assert cancelled == e.GatheringCancelled(
        at=T0 + DAY, reason="the host company postponed", notified=(pid(1), pid(2))
    )
    assert [n.template for n in notices_for(cancelled)] == ["gathering_cancelled"] * 2
    assert g.state.stage == GatheringStage.CANCELLED and g.state.is_terminal and next_due(g.state) is None
    assert g.state.attention is None
    assert g.reject(c.Register(registrant_id=pid(3))) == "gathering visit-1 is cancelled; nothing more can be done"


def test_a_gathering_that_took_place_cannot_be_cancelled() -> None:
    g = held()
    g.do(c.CancelGathering(reason="speaker ill on the day"), at=STARTS + HOUR)  # held but nobody came: fine
    g2 = held()
    g2.do(c.RecordAttendance(present=(pid(1),)), at=STARTS + HOUR)
    assert "took place" in g2.reject(c.CancelGathering(reason="too late"))


def test_a_cancellation_needs_a_reason() -> None:
    with pytest.raises(ValidationError):
        c.CancelGathering(reason="  ")


# ---------------------------------------------------------------------------------------------- the log


def test_the_log_folds_back_to_the_state_and_every_event_round_trips() -> None:
    g = held(registrants=4, capacity=3)
    g.do(c.RecordAttendance(present=(pid(1), pid(2))), at=STARTS + HOUR)
    g.do(c.NoteDelivery(signalled=(pid(1), pid(2))))
    g.tick_due()
    assert fold(initial_state(KEY), g.log) == g.state
    assert g.state.version == len(g.log)
    for event in g.log:
        assert e.parse_event(e.event_json(event)) == event
    assert GatheringState.model_validate_json(g.state.model_dump_json()) == g.state


def test_gathering_kinds_are_the_partnerships() -> None:
    assert plan(kind=GatheringKind.COLLECTIVE).kind == GatheringKind.COLLECTIVE

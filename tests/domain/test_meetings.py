"""Pair meetings and the lapse clock: nudge, escalation, and what clears them."""

from datetime import UTC, datetime, timedelta, timezone

from domain.partnership import Attention, Stage
from domain.partnership import events as e
from domain.partnership.state import LapseLevel

from .builders import DAY, MENTEE, MENTOR, T0, A, active, awaiting_signatures, coord, meeting, paused, sign, withdraw

START = T0 + 2 * DAY
FIRST_DUE = START + timedelta(days=30)
NUDGE_AT = FIRST_DUE + timedelta(days=7)
ESCALATE_AT = FIRST_DUE + timedelta(days=21)
ENDS = START + timedelta(days=182)


def test_first_timer_is_the_nudge_after_cadence_plus_grace() -> None:
    run = active()
    assert run.now == START
    assert run.due() == NUDGE_AT
    assert run.tick(NUDGE_AT - timedelta(seconds=1)) == []


def test_lapse_nudges_then_escalates() -> None:
    run = active()
    [nudge] = run.tick_due()
    assert nudge == e.MeetingNudgeDue(at=NUDGE_AT, meeting_was_due=FIRST_DUE)
    assert run.state.lapse == LapseLevel.NUDGED
    assert run.state.attention is None, "a nudge goes to the pair, not the coordinator"

    assert run.due() == ESCALATE_AT
    [lapsed] = run.tick_due()
    assert lapsed == e.MeetingLapsed(at=ESCALATE_AT, meeting_was_due=FIRST_DUE)
    assert run.state.lapse == LapseLevel.ESCALATED
    assert run.state.attention == Attention.MEETING_LAPSED
    assert run.state.lapses == 1
    assert run.due() == ENDS, "escalated once: only the end of the programme is left"


def test_a_logged_meeting_clears_the_lapse() -> None:
    run = active()
    run.tick(ESCALATE_AT)
    assert run.state.attention == Attention.MEETING_LAPSED
    held = ESCALATE_AT + DAY
    [logged] = run.do(meeting(75), at=held)
    assert isinstance(logged, e.MeetingLogged)
    assert logged.held_on == held and logged.next_meeting_due == held + timedelta(days=30)
    state = run.state
    assert state.attention is None and state.lapse == LapseLevel.ON_TRACK
    assert (state.meetings_held, state.meeting_minutes, state.meeting_hours) == (1, 75, 1.25)
    assert state.last_meeting_at == held
    assert state.next_meeting_due == held + timedelta(days=30)
    assert run.due() == held + timedelta(days=37)
    assert state.lapses == 1, "the history of lapses is kept"


def test_a_meeting_after_a_nudge_puts_it_back_on_track() -> None:
    run = active()
    run.tick(NUDGE_AT)
    run.do(meeting(), at=NUDGE_AT + DAY)
    assert run.state.lapse == LapseLevel.ON_TRACK
    assert run.due() == NUDGE_AT + DAY + timedelta(days=37)


def test_meetings_counted_from_the_latest_one_held() -> None:
    run = active()
    run.do(meeting(held_on=START + 10 * DAY), at=START + 12 * DAY)
    run.do(meeting(held_on=START + 5 * DAY), at=START + 13 * DAY)
    assert run.state.meetings_held == 2
    assert run.state.last_meeting_at == START + 10 * DAY
    assert run.state.next_meeting_due == START + 40 * DAY


def test_meeting_cadence_from_the_agreement() -> None:
    run = awaiting_signatures()
    run.do(sign(MENTEE, cadence_days=14))
    run.do(sign(MENTOR))
    start = run.now
    assert run.state.next_meeting_due == start + timedelta(days=14)
    run.do(meeting(), at=start + 3 * DAY)
    assert run.state.next_meeting_due == start + 17 * DAY


def test_reschedule_clears_the_lapse_and_sets_the_next_due() -> None:
    run = active()
    run.tick(ESCALATE_AT)
    new_due = ESCALATE_AT + 10 * DAY
    [event] = run.do(coord(A.RESCHEDULE, "mentor travelling", until=new_due), at=ESCALATE_AT + DAY)
    assert event == e.MeetingRescheduled(at=ESCALATE_AT + DAY, reason="mentor travelling", next_meeting_due=new_due)
    assert run.state.attention is None and run.state.lapse == LapseLevel.ON_TRACK
    assert run.state.next_meeting_due == new_due
    assert run.due() == new_due + timedelta(days=7)


def test_reschedule_needs_a_future_date_with_a_time_zone_before_the_end() -> None:
    run = active()
    run.after(DAY)
    assert "reschedule needs a date (until)" in run.reject(coord(A.RESCHEDULE))
    assert "in the future" in run.reject(coord(A.RESCHEDULE, until=run.now))
    naive = (run.now + DAY).replace(tzinfo=None)
    assert "time zone" in run.reject(coord(A.RESCHEDULE, until=naive))
    assert "after the end of the programme" in run.reject(coord(A.RESCHEDULE, until=ENDS + DAY))
    assert "while the partnership is PAUSED" in paused().reject(coord(A.RESCHEDULE, until=ENDS - DAY))


def test_acknowledging_a_lapse_re_arms_the_clock_from_now() -> None:
    run = active()
    run.tick(ESCALATE_AT)
    acknowledged = ESCALATE_AT + 2 * DAY
    [event] = run.do(coord(A.ACKNOWLEDGE, "spoke to the pair"), at=acknowledged)
    assert isinstance(event, e.AttentionAcknowledged) and event.rearmed_until == acknowledged
    assert run.state.attention is None and run.state.lapse == LapseLevel.ON_TRACK
    assert run.due() == acknowledged + timedelta(days=7)
    [nudge] = run.tick_due()
    assert isinstance(nudge, e.MeetingNudgeDue)


def test_meeting_in_the_future_is_rejected() -> None:
    run = active()
    run.after(5 * DAY)
    message = run.reject(meeting(held_on=run.now + 2 * DAY))
    assert "cannot be logged before it is held" in message
    # a few hours ahead is tolerated (time zones, clock drift)
    run.do(meeting(held_on=run.now + timedelta(hours=3)))


def test_meeting_before_the_agreement_is_rejected() -> None:
    run = active()
    message = run.reject(meeting(held_on=START - 3 * DAY), at=START + DAY)
    assert "before the agreement was signed" in message


def test_meeting_without_a_time_zone_is_rejected() -> None:
    run = active()
    naive = datetime(2026, 1, 20, 10, 0)
    assert "held_on needs a time zone" in run.reject(meeting(held_on=naive), at=START + 20 * DAY)


def test_meeting_in_another_time_zone_is_the_same_instant() -> None:
    run = active()
    helsinki = timezone(timedelta(hours=2))
    held = datetime(2026, 1, 20, 12, 0, tzinfo=helsinki)
    run.do(meeting(held_on=held), at=datetime(2026, 1, 21, tzinfo=UTC))
    assert run.state.last_meeting_at == datetime(2026, 1, 20, 10, 0, tzinfo=UTC)


def test_meetings_need_an_active_partnership() -> None:
    message = awaiting_signatures().reject(meeting())
    assert "cannot log a pair meeting while the partnership is AWAITING_SIGNATURES" in message
    assert "paused" in paused().reject(meeting())


def test_no_meetings_after_the_mentor_withdrew() -> None:
    run = active()
    run.do(withdraw(MENTOR), at=START + DAY)
    assert "mentor has withdrawn" in run.reject(meeting())


def test_meeting_minutes_accumulate_into_hours() -> None:
    run = active()
    for day, minutes in [(10, 60), (40, 90), (70, 45)]:
        run.do(meeting(minutes), at=START + day * DAY)
    assert run.state.meetings_held == 3
    assert run.state.meeting_minutes == 195
    assert run.state.meeting_hours == 3.25
    assert run.state.stage == Stage.ACTIVE

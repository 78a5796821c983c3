"""Coordinator actions and withdrawals: pause, resume, extend, rematch, nudge, end early, a party leaving."""

from collections.abc import Callable

import pytest

from domain.partnership import Attention, Stage, next_due
from domain.partnership import events as e
from domain.partnership.state import LapseLevel, Pause

from .builders import (
    DAY,
    MENTEE,
    MENTOR,
    MENTOR_ID,
    T0,
    A,
    Run,
    active,
    applied,
    awaiting_match,
    awaiting_signatures,
    closing_review,
    coord,
    diary,
    gathering,
    match,
    meeting,
    paused,
    sign,
    withdraw,
)

START = T0 + 2 * DAY
FIRST_DUE = START + 30 * DAY
ENDS = START + 182 * DAY
PAUSED_AT = START + 10 * DAY


# ---------------------------------------------------------------------------------------------- pause and resume


def test_pause_stops_the_lapse_clock() -> None:
    run = paused()
    assert run.state.stage == Stage.PAUSED
    assert run.state.pause == Pause(at=PAUSED_AT, until=None)
    assert next_due(run.state) is None
    assert run.tick(START + 150 * DAY) == [], "no nudge, no escalation, no end of programme while paused"
    assert run.state.lapse == LapseLevel.ON_TRACK


def test_resume_moves_the_end_and_the_next_meeting_by_the_paused_time() -> None:
    run = paused()
    resumed_at = PAUSED_AT + 20 * DAY
    [event] = run.do(coord(A.RESUME, "back from leave"), at=resumed_at)
    assert event == e.PartnershipResumed(
        at=resumed_at,
        reason="back from leave",
        paused_for=20 * DAY,
        ends_on=ENDS + 20 * DAY,
        next_meeting_due=FIRST_DUE + 20 * DAY,
    )
    state = run.state
    assert state.stage == Stage.ACTIVE
    assert state.pause is None
    assert state.agreement is not None and state.agreement.ends_on == ENDS + 20 * DAY
    assert state.next_meeting_due == FIRST_DUE + 20 * DAY
    assert run.due() == FIRST_DUE + 27 * DAY
    assert state.interventions == 2


def test_pause_with_until_resumes_on_tick() -> None:
    until = PAUSED_AT + 15 * DAY
    run = paused(until=until)
    assert run.state.pause is not None and run.state.pause.until == until
    assert run.due() == until
    [event] = run.tick_due()
    assert isinstance(event, e.PartnershipResumed)
    assert event.reason == "the pause ended" and event.paused_for == 15 * DAY
    assert run.state.stage == Stage.ACTIVE
    assert run.state.agreement is not None and run.state.agreement.ends_on == ENDS + 15 * DAY


def test_a_timed_pause_resumed_by_a_late_tick_lasts_only_until_its_end() -> None:
    until = PAUSED_AT + 15 * DAY
    run = paused(until=until)
    [event] = run.tick(until + 3 * DAY)  # the worker was down for three days
    assert isinstance(event, e.PartnershipResumed)
    assert event.paused_for == 15 * DAY
    assert run.state.agreement is not None and run.state.agreement.ends_on == ENDS + 15 * DAY


def test_a_pause_clears_a_lapse() -> None:
    run = active()
    run.tick(FIRST_DUE + 21 * DAY)
    assert run.state.attention == Attention.MEETING_LAPSED
    run.do(coord(A.PAUSE, "illness"), at=run.now + DAY)
    assert run.state.attention is None and run.state.lapse == LapseLevel.ON_TRACK


def test_pause_and_resume_are_checked() -> None:
    run = active()
    run.after(DAY)
    assert "cannot resume the partnership while the partnership is ACTIVE" in run.reject(coord(A.RESUME))
    assert "pause needs a date in the future" in run.reject(coord(A.PAUSE, until=run.now - DAY))
    assert "time zone" in run.reject(coord(A.PAUSE, until=(run.now + DAY).replace(tzinfo=None)))
    assert "cannot pause the partnership while the partnership is PAUSED" in paused().reject(coord(A.PAUSE))
    assert "only in ACTIVE" in awaiting_signatures().reject(coord(A.PAUSE))


# ---------------------------------------------------------------------------------------------- extend


def test_extend_moves_the_end() -> None:
    run = active()
    [event] = run.do(coord(A.EXTEND, "more time for the job search", until=ENDS + 30 * DAY), at=START + 100 * DAY)
    assert event == e.PartnershipExtended(
        at=START + 100 * DAY, reason="more time for the job search", ends_on=ENDS + 30 * DAY
    )
    assert run.state.agreement is not None and run.state.agreement.ends_on == ENDS + 30 * DAY
    run.do(meeting(), at=START + 170 * DAY)
    assert run.tick(ENDS + DAY) == [], "the old end date no longer ends it"
    assert run.state.stage == Stage.ACTIVE
    *_, ended = run.tick(ENDS + 30 * DAY)
    assert isinstance(ended, e.ProgrammeEnded)
    assert ended.review_due == ENDS + 44 * DAY


def test_extend_while_paused_then_resume_adds_the_pause() -> None:
    run = paused()
    run.do(coord(A.EXTEND, "agreed", until=ENDS + 10 * DAY), at=PAUSED_AT + DAY)
    run.do(coord(A.RESUME, "back"), at=PAUSED_AT + 5 * DAY)
    assert run.state.agreement is not None and run.state.agreement.ends_on == ENDS + 15 * DAY


def test_extend_is_checked() -> None:
    run = active()
    run.after(DAY)
    assert "extend needs a date (until)" in run.reject(coord(A.EXTEND))
    message = run.reject(coord(A.EXTEND, until=ENDS))
    assert "after the current end" in message and ENDS.isoformat() in message
    assert "cannot extend" in awaiting_match().reject(coord(A.EXTEND, until=ENDS))
    assert "cannot extend" in closing_review().reject(coord(A.EXTEND, until=ENDS + 100 * DAY))


# ---------------------------------------------------------------------------------------------- rematch


@pytest.mark.parametrize("builder", [awaiting_signatures, active, paused])
def test_rematch_returns_to_awaiting_match_keeping_reason_and_previous_mentor(builder: Callable[[], Run]) -> None:
    run = builder()
    [event] = run.do(coord(A.REMATCH, "no chemistry"), at=run.now + DAY)
    assert event == e.RematchRequested(at=run.now, reason="no chemistry", previous_mentor_id=MENTOR_ID)
    state = run.state
    assert state.stage == Stage.AWAITING_MATCH
    assert state.mentor_id is None and state.agreement is None and state.matched_at is None
    assert state.previous_mentor_ids == (MENTOR_ID,)
    assert state.rematch_reasons == ("no chemistry",)
    assert state.pause is None and state.next_meeting_due is None
    assert next_due(state) is None


def test_rematch_twice_keeps_the_whole_history_and_the_counts() -> None:
    run = active()
    run.do(meeting(), at=START + 5 * DAY)
    run.do(coord(A.REMATCH, "first"))
    run.do(match("mentor-2"))
    run.do(sign(MENTEE))
    run.do(sign(MENTOR))
    run.do(coord(A.REMATCH, "second"), at=run.now + DAY)
    assert run.state.previous_mentor_ids == (MENTOR_ID, "mentor-2")
    assert run.state.rematch_reasons == ("first", "second")
    assert run.state.meetings_held == 1, "meetings already held still count"
    assert "already matched" in run.reject(match("mentor-2"))


def test_rematch_needs_a_mentor() -> None:
    message = awaiting_match().reject(coord(A.REMATCH))
    assert "cannot rematch while the partnership is AWAITING_MATCH" in message


# ---------------------------------------------------------------------------------------------- nudge and end early


def test_coordinator_nudge_is_recorded() -> None:
    run = active()
    [event] = run.do(coord(A.NUDGE, "please meet"), at=START + DAY)
    assert event == e.CoordinatorIntervened(at=START + DAY, action=A.NUDGE, reason="please meet")
    assert run.state.interventions == 1
    assert "cannot nudge the pair while the partnership is AWAITING_MATCH" in awaiting_match().reject(coord(A.NUDGE))


def test_end_early_summarises() -> None:
    run = active()
    run.do(meeting(120), at=START + 10 * DAY)
    run.do(gathering(2.5))
    [event] = run.do(coord(A.END_EARLY, "mentee found a job"), at=START + 11 * DAY)
    assert isinstance(event, e.PartnershipEndedEarly)
    assert event.summary.stage == Stage.ENDED_EARLY
    assert (event.summary.meetings_held, event.summary.total_hours) == (1, 4.5)
    assert run.state.stage == Stage.ENDED_EARLY
    assert run.state.summary == event.summary
    assert run.state.ended_reason == "mentee found a job"


def test_end_early_only_once_accepted() -> None:
    assert "cannot end the partnership early while the partnership is APPLIED" in applied().reject(coord(A.END_EARLY))


# ---------------------------------------------------------------------------------------------- withdrawals


@pytest.mark.parametrize("builder", [awaiting_signatures, active, paused])
def test_mentor_withdrawal_needs_a_coordinator(builder: Callable[[], Run]) -> None:
    run = builder()
    [event] = run.do(withdraw(MENTOR, "changed jobs"), at=run.now + DAY)
    assert isinstance(event, e.PartyWithdrew) and event.summary is None
    state = run.state
    assert state.mentor_withdrawn and state.attention == Attention.MENTOR_WITHDREW
    assert state.stage == builder().state.stage, "the partnership waits for the coordinator"
    assert state.mentor_id == MENTOR_ID
    assert "rematch or end_early, not acknowledged" in run.reject(coord(A.ACKNOWLEDGE))
    assert "already withdrawn" in run.reject(withdraw(MENTOR))
    # rematch is accepted
    rematched = Run(state, run.now, list(run.log))
    rematched.do(coord(A.REMATCH, "mentor left"))
    assert rematched.state.stage == Stage.AWAITING_MATCH
    assert rematched.state.attention is None and not rematched.state.mentor_withdrawn
    assert rematched.state.previous_mentor_ids == (MENTOR_ID,)
    # and so is ending it early
    ended = Run(state, run.now, list(run.log))
    ended.do(coord(A.END_EARLY, "no mentor available"))
    assert ended.state.stage == Stage.ENDED_EARLY and ended.state.attention is None


def test_no_timers_run_while_the_mentor_is_gone() -> None:
    run = active()
    run.do(withdraw(MENTOR), at=START + DAY)
    assert next_due(run.state) is None
    assert run.tick(ENDS + 30 * DAY) == []
    assert "mentor has withdrawn" in run.reject(coord(A.NUDGE))
    assert "mentor has withdrawn" in run.reject(coord(A.RESCHEDULE, until=run.now + DAY))


def test_mentor_withdrawal_needs_a_mentor() -> None:
    message = awaiting_match().reject(withdraw(MENTOR))
    assert "cannot withdraw the mentor while the partnership is AWAITING_MATCH" in message


@pytest.mark.parametrize("builder", [applied, awaiting_match, awaiting_signatures, active, paused, closing_review])
def test_mentee_withdrawal_ends_it(builder: Callable[[], Run]) -> None:
    run = builder()
    if run.state.stage != Stage.APPLIED:
        run.do(diary())
    [event] = run.do(withdraw(MENTEE, "moved abroad"), at=run.now + DAY)
    assert isinstance(event, e.PartyWithdrew)
    assert event.summary is not None and event.summary.stage == Stage.WITHDRAWN
    assert event.summary.diary_entries == run.state.diary_entries
    state = run.state
    assert state.stage == Stage.WITHDRAWN and state.is_terminal
    assert state.ended_reason == "moved abroad"
    assert state.attention is None
    assert next_due(state) is None


def test_mentee_withdrawal_after_the_mentor_left_clears_the_attention() -> None:
    run = active()
    run.do(withdraw(MENTOR), at=START + DAY)
    run.do(withdraw(MENTEE))
    assert run.state.stage == Stage.WITHDRAWN and run.state.attention is None

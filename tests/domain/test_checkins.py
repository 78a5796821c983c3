"""The check-in pulse survey: asked of both parties ``checkin_first`` after the start, then every ``checkin_every``;
a low answer raises CHECKIN_LOW; no answer within ``checkin_window`` is a nudge, never an escalation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain import Policy
from domain.partnership import Attention, Stage, next_due, notices_for
from domain.partnership import commands as c
from domain.partnership import events as e
from domain.partnership.attention import describe, open_record
from domain.people import Role
from tests.domain.builders import DAY, MENTEE, MENTOR, A, active, coord, meeting, withdraw

CHECKINS = Policy(checkin_first=30 * DAY)
"""The default cadence (first after 30 days, every 60, a 14-day window) switched on."""


def answer(party: c.Party, score: int = 4, as_planned: bool = True, **fields: object) -> c.AnswerCheckin:
    return c.AnswerCheckin(party=party, score=score, meeting_as_planned=as_planned, **fields)  # type: ignore[arg-type]


def test_without_checkin_first_no_checkin_is_ever_asked() -> None:
    run = active()
    assert run.state.next_checkin_due is None
    assert "no check-ins" in run.reject(answer(MENTEE))
    for _ in range(4):
        run.tick_due()
    assert all(not isinstance(ev, e.CheckinRequested) for ev in run.log)


def test_the_first_round_is_asked_of_both_30_days_after_the_start() -> None:
    run = active(CHECKINS)
    start = run.now
    assert run.state.next_checkin_due == start + 30 * DAY
    assert "first is due" in run.reject(answer(MENTEE))
    run.do(meeting(), at=start + 29 * DAY)  # the meeting clock quiet for a while
    due = next_due(run.state)
    assert due is not None and due.at == start + 30 * DAY and due.waiting_for == "check-in 1"
    before = run.state
    events = run.tick_due()
    assert events == [e.CheckinRequested(at=start + 30 * DAY, round=1, due=start + 44 * DAY)]
    assert [n.recipient for n in notices_for(events[0], before)] == [Role.MENTEE, Role.MENTOR]
    assert {n.template for n in notices_for(events[0], before)} == {"checkin_request"}
    assert run.state.next_checkin_due == start + 90 * DAY, "the next round 60 days on"
    assert next_due(run.state) is not None and next_due(run.state).waiting_for == "check-in 1 answers"  # type: ignore[union-attr]


def test_good_answers_close_the_round_and_raise_nothing() -> None:
    run = active(CHECKINS)
    run.tick_due()
    run.do(answer(MENTEE, 5, note="All good, thanks"), at=run.now + DAY)
    run.do(answer(MENTOR, 3))
    latest = run.state.checkins[-1]
    assert set(latest.answers) == {"mentee", "mentor"} and not latest.open
    assert run.state.attention is None
    assert "already answered" in run.reject(answer(MENTEE))
    assert run.state.next_checkin_due == run.state.checkins[-1].asked_at + 60 * DAY, "only the next round waits"
    assert run.refold() == run.state
    assert "All good" not in run.state.model_dump_json(), "the note stays in the event, not in the state"


@pytest.mark.parametrize(("score", "as_planned"), [(2, True), (1, True), (5, False)])
def test_a_low_score_or_not_meeting_raises_checkin_low(score: int, as_planned: bool) -> None:
    run = active(CHECKINS)
    run.tick_due()
    before = run.state
    events = run.do(answer(MENTOR, score, as_planned), at=run.now + 2 * DAY)
    assert isinstance(events[0], e.CheckinAnswered) and events[0].low
    assert run.state.attention == Attention.CHECKIN_LOW
    assert [(n.recipient, n.template) for n in notices_for(events[0], before)] == [(Role.COORDINATOR, "checkin_low")]
    record = open_record(run.state)
    assert record is not None and record.raised_by == "checkin_answered" and record.parties == ("mentor",)
    assert "low check-in answer from the mentor" in describe(record)


def test_checkin_low_is_cleared_by_a_coordinator_acknowledgement() -> None:
    run = active(CHECKINS)
    run.tick_due()
    run.do(answer(MENTEE, 1, note="We have not met at all"), at=run.now + DAY)
    run.do(coord(A.ACKNOWLEDGE, "called the mentee"), at=run.now + DAY)
    assert run.state.attention is None
    last = run.state.attention_history[-1]
    assert last.attention == Attention.CHECKIN_LOW and last.cleared_by == "attention_acknowledged"
    assert last.cleared_reason == "called the mentee"
    assert "We have not met" not in str(run.state.attention_history), "the note is never in the history"


def test_a_low_answer_does_not_replace_an_attention_already_open() -> None:
    run = active(CHECKINS.with_overrides({"meeting_cadence": "P7D"}))
    while run.state.attention is None:
        run.tick_due()
    assert run.state.attention == Attention.MEETING_LAPSED
    while not run.state.checkins:
        run.tick_due()
    events = run.do(answer(MENTEE, 1), at=run.now + DAY)
    assert events[0].low  # type: ignore[union-attr]
    assert run.state.attention == Attention.MEETING_LAPSED, "the coordinator is already looking at the pair"


def test_no_answer_in_the_window_is_a_nudge_of_the_missing_party_not_an_escalation() -> None:
    run = active(CHECKINS)
    run.tick_due()
    run.do(answer(MENTEE), at=run.now + DAY)
    run.do(meeting(), at=run.now + DAY)  # keep the meeting clock quiet
    before = run.state
    events = run.tick_due()
    assert events == [e.CheckinNudgeDue(at=before.checkins[-1].due, round=1, parties=(MENTOR,))]
    assert [(n.recipient, n.template) for n in notices_for(events[0], before)] == [(Role.MENTOR, "checkin_nudge_due")]
    assert run.state.attention is None and run.state.checkins[-1].nudged
    nudged_at = run.now
    run.do(answer(MENTOR, 4), at=run.now + DAY)  # a late answer still counts
    assert set(run.state.checkins[-1].answers) == {"mentee", "mentor"}
    run.do(meeting(), at=run.now)
    while not any(isinstance(ev, e.CheckinRequested) and ev.round == 2 for ev in run.log):
        run.tick_due()
    nudges = [ev for ev in run.log if isinstance(ev, e.CheckinNudgeDue)]
    assert len(nudges) == 1 and nudges[0].at == nudged_at, "nudged once"
    assert not any(isinstance(ev, e.MeetingLapsed) for ev in run.log if ev.at <= nudged_at)


def test_rounds_follow_every_60_days_until_the_programme_ends() -> None:
    run = active(CHECKINS)
    start = run.now
    while run.state.stage == Stage.ACTIVE:
        for party in (MENTEE, MENTOR):
            if run.state.checkins and party.value not in run.state.checkins[-1].answers:
                run.do(answer(party), at=run.now)
        if run.state.meetings_held < 20:
            run.do(meeting(), at=run.now)
        run.tick_due()
    asked = [ev for ev in run.log if isinstance(ev, e.CheckinRequested)]
    assert [ev.at - start for ev in asked] == [30 * DAY, 90 * DAY, 150 * DAY]
    assert [ev.round for ev in asked] == [1, 2, 3]
    assert run.state.stage == Stage.CLOSING_REVIEW
    assert run.refold() == run.state


def test_a_stale_round_is_refused_with_the_open_one() -> None:
    run = active(CHECKINS)
    run.tick_due()
    message = run.reject(answer(MENTEE, round=2))
    assert "answer check-in 1" in message
    run.do(answer(MENTEE, round=1), at=run.now + DAY)


def test_a_pause_stops_the_checkin_clock() -> None:
    run = active(CHECKINS)
    start = run.now
    run.do(coord(A.PAUSE, "exams"), at=start + 10 * DAY)
    assert next_due(run.state) is None
    run.do(coord(A.RESUME, "back"), at=start + 20 * DAY)
    assert run.state.next_checkin_due == start + 40 * DAY


def test_a_withdrawn_mentor_cannot_answer_and_rematch_stops_the_clock() -> None:
    run = active(CHECKINS)
    run.tick_due()
    run.do(withdraw(MENTOR), at=run.now + DAY)
    assert "mentor has withdrawn" in run.reject(answer(MENTOR))
    run.do(coord(A.REMATCH, "new mentor"), at=run.now + DAY)
    assert run.state.next_checkin_due is None and len(run.state.checkins) == 1


def test_answers_are_validated() -> None:
    with pytest.raises(ValidationError):
        answer(MENTEE, 0)
    with pytest.raises(ValidationError):
        answer(MENTEE, 6)
    with pytest.raises(ValidationError, match="TEXT_CHARS"):
        answer(MENTEE, note="x" * 4001)
    with pytest.raises(ValidationError, match="control"):
        answer(MENTEE, note="bad\x00")


def test_the_policy_orders_the_window_before_the_next_round() -> None:
    with pytest.raises(ValidationError, match="checkin_window"):
        Policy(checkin_first=30 * DAY, checkin_every=10 * DAY, checkin_window=14 * DAY)
    with pytest.raises(ValidationError):
        Policy(checkin_first=-DAY)
    fast = Policy.fast()
    assert fast.checkin_first is not None and fast.checkin_first.total_seconds() == 30
    assert fast.checkin_every.total_seconds() == 60 and fast.checkin_window.total_seconds() == 14

"""The end of the programme, the closing review, and the diary and gathering records along the way."""

from collections.abc import Callable

import pytest

from domain.partnership import Attention, Stage, Summary, next_due
from domain.partnership import events as e
from domain.partnership.commands import GatheringKind, MenteeOutcome
from domain.partnership.state import ReviewWindow

from .builders import (
    DAY,
    MENTEE,
    MENTOR,
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
    meeting,
    paused,
    review,
)

START = T0 + 2 * DAY
ENDS = START + 182 * DAY
REVIEW_DUE = ENDS + 14 * DAY


def test_end_of_programme_opens_the_closing_review() -> None:
    run = closing_review()
    ended = run.log[-1]
    assert ended == e.ProgrammeEnded(at=ENDS, review_due=REVIEW_DUE)
    state = run.state
    assert state.stage == Stage.CLOSING_REVIEW
    assert state.review_window == ReviewWindow(opened_at=ENDS, due=REVIEW_DUE)
    assert state.next_meeting_due is None
    assert run.due() == ENDS + 7 * DAY


def test_end_of_programme_after_a_lapse_clears_the_lapse() -> None:
    run = active()
    events = run.tick(ENDS)
    assert [ev.type for ev in events] == ["meeting_nudge_due", "meeting_lapsed", "programme_ended"]
    assert run.state.stage == Stage.CLOSING_REVIEW
    assert run.state.attention is None
    assert run.state.lapses == 1


def test_a_late_end_of_programme_tick_keeps_the_review_clock_on_the_end_date() -> None:
    run = active()
    events = run.tick(ENDS + 10 * DAY)  # the worker was down when the programme ended
    assert run.state.stage == Stage.CLOSING_REVIEW
    assert run.state.review_window is not None
    assert (run.state.review_window.opened_at, run.state.review_window.due) == (ENDS, REVIEW_DUE)
    # The reminder fell due at ENDS + 7 days, so it goes out now; the deadline stays 14 days after the end.
    assert [ev.type for ev in events][-2:] == ["programme_ended", "review_reminder_due"]
    assert run.due() == REVIEW_DUE


def test_review_reminder_then_overdue() -> None:
    run = closing_review()
    [reminder] = run.tick_due()
    assert reminder == e.ReviewReminderDue(at=ENDS + 7 * DAY, parties=(MENTEE, MENTOR))
    assert run.state.review_clock.reminded
    assert run.state.attention is None
    run.do(review(MENTEE, 5), at=ENDS + 8 * DAY)
    assert run.due() == REVIEW_DUE
    [overdue] = run.tick_due()
    assert overdue == e.ReviewOverdue(at=REVIEW_DUE, parties=(MENTOR,))
    assert run.state.attention == Attention.REVIEW_OVERDUE
    assert next_due(run.state) is None


def test_acknowledging_an_overdue_review_re_arms_it() -> None:
    run = closing_review()
    run.tick(REVIEW_DUE)
    acknowledged = REVIEW_DUE + DAY
    [event] = run.do(coord(A.ACKNOWLEDGE, "reminded by phone"), at=acknowledged)
    assert isinstance(event, e.AttentionAcknowledged) and event.rearmed_until == acknowledged + 7 * DAY
    assert not run.state.review_clock.overdue
    assert run.state.attention is None
    assert run.due() == acknowledged + 7 * DAY


def test_both_reviews_complete_it_with_a_summary() -> None:
    run = closing_review()
    [submitted] = run.do(review(MENTEE, 5, MenteeOutcome.EMPLOYED_IN_FIELD), at=ENDS + DAY)
    assert isinstance(submitted, e.ClosingReviewSubmitted)
    assert run.state.stage == Stage.CLOSING_REVIEW
    [_, completed] = run.do(review(MENTOR, 4), at=ENDS + 2 * DAY)
    assert isinstance(completed, e.PartnershipCompleted)
    assert completed.closed_by == "parties"
    assert completed.summary == Summary(
        stage=Stage.COMPLETED,
        meetings_held=7,
        meeting_hours=10.5,
        gathering_hours=3.0,
        total_hours=13.5,
        target_hours_min=16.0,
        target_hours_max=24.0,
        diary_entries=1,
        gatherings_attended=1,
        mentee_outcome="employed_in_field",
        ratings={"mentee": 5, "mentor": 4},
    )
    assert run.state.stage == Stage.COMPLETED
    assert run.state.summary == completed.summary
    assert next_due(run.state) is None


def test_coordinator_can_close_the_review() -> None:
    run = closing_review()
    run.do(review(MENTOR, 3), at=ENDS + DAY)
    run.tick(REVIEW_DUE)
    [completed] = run.do(coord(A.CLOSE_REVIEW, "mentee unreachable"), at=REVIEW_DUE + DAY)
    assert isinstance(completed, e.PartnershipCompleted)
    assert completed.closed_by == "coordinator" and completed.reason == "mentee unreachable"
    assert completed.summary.ratings == {"mentor": 3} and completed.summary.mentee_outcome is None
    assert run.state.stage == Stage.COMPLETED
    assert run.state.attention is None
    assert run.state.ended_reason == "mentee unreachable"


@pytest.mark.parametrize("builder", [awaiting_match, active, paused])
def test_close_review_only_in_closing_review(builder: Callable[[], Run]) -> None:
    message = builder().reject(coord(A.CLOSE_REVIEW))
    assert "cannot close the review" in message and "only in CLOSING_REVIEW" in message


def test_outcome_only_from_the_mentee() -> None:
    run = closing_review()
    message = run.reject(review(MENTOR, 4, MenteeOutcome.FURTHER_STUDIES), at=ENDS + DAY)
    assert "only the mentee reports the mentee's outcome" in message


def test_each_party_reviews_once() -> None:
    run = closing_review()
    run.do(review(MENTEE), at=ENDS + DAY)
    assert "the mentee has already submitted the closing review" in run.reject(review(MENTEE))


def test_no_review_before_the_end() -> None:
    message = active().reject(review(MENTEE))
    assert "cannot submit the closing review while the partnership is ACTIVE" in message


def test_meetings_held_before_the_end_can_still_be_logged() -> None:
    run = closing_review()
    run.do(meeting(60, held_on=ENDS - DAY), at=ENDS + DAY)
    assert run.state.meetings_held == 8
    assert run.state.next_meeting_due is None
    assert "programme has ended" in run.reject(meeting(60, held_on=ENDS + DAY / 2))


# ---------------------------------------------------------------------------------------------- diary and gatherings


@pytest.mark.parametrize("builder", [awaiting_match, awaiting_signatures, active, paused, closing_review])
def test_diary_entries_are_counted_once_accepted(builder: Callable[[], Run]) -> None:
    run = builder()
    before = run.state.diary_entries
    [event] = run.do(diary("Reflected on the company visit."))
    assert isinstance(event, e.DiaryEntryAdded) and event.reflection == "Reflected on the company visit."
    assert run.state.diary_entries == before + 1


def test_gathering_hours_add_up() -> None:
    run = awaiting_match()
    run.do(gathering(1.333, GatheringKind.GROUP, "g-1"))
    run.do(gathering(1.333, GatheringKind.COLLECTIVE, "g-2"))
    assert run.state.gatherings_attended == 2
    assert run.state.gathering_hours == pytest.approx(2.666)
    assert run.state.total_hours == 2.67
    assert run.state.summarise(Stage.COMPLETED).gathering_hours == 2.67


def test_gathering_hours_are_rounded_only_when_reported() -> None:
    run = awaiting_match()
    for n in range(3):
        run.do(gathering(1 / 3, gid=f"g-{n}"))
    assert run.state.total_hours == 1.0, "three 20-minute sessions make an hour, not 0.99"
    summary = run.state.summarise(Stage.COMPLETED)
    assert (summary.gathering_hours, summary.total_hours) == (1.0, 1.0)


def test_diary_and_gatherings_need_an_accepted_application() -> None:
    run = applied()
    assert "cannot add a learning diary entry while the partnership is APPLIED" in run.reject(diary())
    assert "cannot record gathering attendance while the partnership is APPLIED" in run.reject(gathering())


def test_total_hours_combine_meetings_and_gatherings() -> None:
    run = active()
    run.do(meeting(50), at=START + DAY)
    run.do(gathering(1.25))
    assert run.state.meeting_hours == 0.83
    assert run.state.total_hours == 2.08


def test_the_allowed_stages_are_named_in_lifecycle_order() -> None:
    message = applied().reject(diary())
    assert message.endswith("only in AWAITING_MATCH, AWAITING_SIGNATURES, ACTIVE, PAUSED, CLOSING_REVIEW")

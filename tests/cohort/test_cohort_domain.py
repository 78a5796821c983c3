"""The cohort's pure rules: its plan, its lifecycle, subject groups and the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.cohort import (
    CohortPlan,
    CohortStage,
    CohortState,
    RoundSummary,
    approve,
    begin_round,
    build_report,
    close,
    delivered,
    gathering_plans,
    plan_groups,
    proposed,
)
from domain.errors import DomainRejection
from domain.gathering.plan import SUBJECT_GROUP_SIZE
from tests.domain.builders import MENTEE, MENTOR, T0, active, awaiting_match, closing_review, days, meeting, review

NOW = datetime(2026, 1, 10, tzinfo=UTC)


def plan(**overrides: object) -> CohortPlan:
    fields: dict[str, object] = {
        "cohort_id": "2026-spring",
        "applications_close": NOW,
        "matching_at": NOW + timedelta(days=7),
        "kickoff_at": NOW + timedelta(days=14),
        "programme_end": NOW + timedelta(days=200),
    }
    return CohortPlan.model_validate({**fields, **overrides})


def summary(number: int = 1, matched: int = 10) -> RoundSummary:
    return RoundSummary(
        round_id=f"r{number}", number=number, matched=matched, unmatched=1, mean_score=0.5, top3_share=0.9
    )


def test_plan_dates_must_run_in_order_and_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError, match="dates must run"):
        plan(kickoff_at=NOW)
    with pytest.raises(ValidationError, match="time zone"):
        plan(applications_close=datetime(2026, 1, 10))


def test_a_round_is_proposed_approved_and_delivered_in_order() -> None:
    state = CohortState(cohort_id="c")
    with pytest.raises(DomainRejection, match="no matching round awaits approval"):
        approve(state, None)
    state = begin_round(state)
    with pytest.raises(DomainRejection, match="already under way"):
        begin_round(state)
    state = proposed(state, summary())
    assert state.stage == CohortStage.AWAITING_APPROVAL
    state = proposed(state, summary(matched=11))  # re-computed with pins: replaces the round
    assert len(state.rounds) == 1 and state.rounds[0].matched == 11
    with pytest.raises(DomainRejection, match="not the one awaiting approval"):
        approve(state, "r9")
    state = approve(state, "r1")
    assert state.stage == CohortStage.DELIVERING_MATCHES and state.rounds[0].approved
    state = delivered(state, 11)
    assert state.stage == CohortStage.RUNNING and state.rounds[0].delivered == 11
    state = begin_round(state)  # a second round for late applicants
    assert state.stage == CohortStage.MATCHING
    closed = close(delivered(approve(proposed(state, summary(2)), "r2"), 1), final=True)
    with pytest.raises(DomainRejection, match="no more matching rounds"):
        begin_round(closed)


def test_groups_gather_shared_interests_and_never_exceed_twenty() -> None:
    interests = {f"p{n:03d}": ["AI"] for n in range(45)}
    interests.update({f"q{n:03d}": ["Design", "AI"] for n in range(5)})
    interests.update({"loner": ["Beekeeping"], "nothing": []})
    groups = plan_groups(interests)
    assert all(len(g.members) <= 20 for g in groups)
    ai = [g for g in groups if g.subject.startswith("AI")]
    assert sum(len(g.members) for g in ai) == 50 and len(ai) == 3
    assert {g.subject for g in groups} >= {"AI (1/3)", "open topics"}
    assert plan_groups(interests) == groups  # deterministic


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=4), st.lists(st.sampled_from("ABCDE"), max_size=3)))
def test_every_participant_is_in_exactly_one_group(interests: dict[str, list[str]]) -> None:
    groups = plan_groups(interests, max_size=4, min_size=2)
    members = [m for g in groups for m in g.members]
    assert sorted(members) == sorted(interests)
    assert all(0 < len(g.members) <= 4 for g in groups)


def test_the_report_counts_stages_meetings_hours_ratings_and_outcomes() -> None:
    busy = active()
    for month in range(1, 7):
        busy.do(meeting(minutes=180), at=T0 + days(2 + 30 * month))
    done = closing_review()
    done.do(review(MENTEE, 5, outcome="employed_in_field"), at=done.now + days(1))
    done.do(review(MENTOR, 3), at=done.now + days(1))
    idle = active()
    idle.tick(T0 + days(80))  # lapses and is escalated
    report = build_report("c", [busy.state, done.state, idle.state])
    assert report.partnerships == 3 and report.started_pairs == 3
    assert report.by_stage == {"ACTIVE": 2, "COMPLETED": 1}
    assert report.meetings_distribution == {"0": 1, "6+": 2}  # the completed pair met seven times
    assert report.hours.within_target == 1 and report.hours.below_target == 2
    assert report.lapses >= 1 and report.open_attention == {"MEETING_LAPSED": 1}
    assert report.mentee_rating_mean == 5 and report.mentor_rating_mean == 3
    assert report.outcomes == {"employed_in_field": 1}


def test_the_subject_groups_come_from_the_matched_partnerships_interests_in_groups_of_at_most_20() -> None:
    matched = [
        active().state.replace(
            partnership_id=f"p-{n:02d}",
            mentee=active().state.mentee.replace(interests=("ai",)),  # type: ignore[union-attr]
        )
        for n in range(25)
    ]
    waiting = awaiting_match().state.replace(partnership_id="p-waiting")
    subject_at = NOW + timedelta(days=30)
    gatherings = gathering_plans(plan(group_subjects_at=subject_at), [*matched, waiting])
    assert [g.gathering_id for g in gatherings] == ["group-01", "group-02"]
    assert [len(g.invitees or ()) for g in gatherings] == [13, 12], "split evenly, none above 20"
    assert all(g.capacity == SUBJECT_GROUP_SIZE == 20 and g.starts_at == subject_at for g in gatherings)
    assert "p-waiting" not in {m for g in gatherings for m in g.invitees or ()}, "only matched partnerships"
    assert gathering_plans(plan(), matched) == [], "no group date: no subject groups"


def test_the_report_keeps_a_lapse_after_it_was_cleared_with_what_cleared_it() -> None:
    from activities.reports.cohort import render_html, render_text

    lapsed = active()
    lapsed.tick(T0 + days(80))  # lapses and is escalated
    lapsed.do(meeting(minutes=60), at=T0 + days(81))  # ... and a meeting clears it
    quiet = active()
    report = build_report("c", [lapsed.state, quiet.state])
    assert report.open_attention == {}, "nothing is open any more"
    assert report.attention_raised == {"MEETING_LAPSED": 1}, "but the lapse is not forgotten"
    [record] = report.attention_history[lapsed.state.partnership_id]
    assert (record.raised_by, record.cleared_by) == ("meeting_lapsed", "meeting_logged")
    text = render_text(report)
    assert "attention raised (all, cleared or not)  MEETING_LAPSED 1" in text
    assert "p-1: MEETING_LAPSED, raised " in text and "by meeting_lapsed; cleared " in text
    assert "by meeting_logged" in render_html(report)
    assert build_report("c", [quiet.state]).attention_history == {}


def test_the_report_counts_checkins_asked_answered_low_and_the_score_distribution() -> None:
    from activities.reports.cohort import render_html, render_text
    from domain import Policy
    from domain.partnership import commands as c

    policy = Policy(checkin_first=days(30))
    happy, unhappy, silent = active(policy), active(policy), active(policy)
    for run in (happy, unhappy, silent):
        run.do(meeting(), at=T0 + days(31))
        run.tick(T0 + days(32))  # check-in 1 asked (day 30 after the start on day 2)
    happy.do(c.AnswerCheckin(party=MENTEE, score=5, meeting_as_planned=True, note="great"), at=T0 + days(33))
    happy.do(c.AnswerCheckin(party=MENTOR, score=4, meeting_as_planned=True), at=T0 + days(33))
    unhappy.do(c.AnswerCheckin(party=MENTEE, score=2, meeting_as_planned=False), at=T0 + days(33))
    silent.tick(T0 + days(47))  # the window closed: both nudged
    report = build_report("c", [happy.state, unhappy.state, silent.state])
    k = report.checkins
    assert (k.rounds, k.asked, k.answered, k.low, k.not_meeting) == (3, 6, 3, 1, 1)
    assert k.nudged == 2
    assert k.scores == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert report.open_attention == {"CHECKIN_LOW": 1}
    text = render_text(report)
    assert "check-in answers asked (rounds)         6 (3)" in text
    assert "check-in answers given (nudged)         3 (2)" in text
    assert "check-ins low (not meeting as planned)  1 (1)" in text
    assert "check-in scores (1-5)  " in text and "2 1, 3 0, 4 1, 5 1" in text
    assert "great" not in text and "Check-in scores" in render_html(report)
    assert build_report("c", [active().state]).checkins.scores == {}, "no answers: no distribution"

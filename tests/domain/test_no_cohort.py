"""NO_COHORT: an application waiting for a match checks, after ``cohort_wait``, that its cohort's workflow runs."""

from __future__ import annotations

from domain import Policy
from domain.partnership import Attention, Stage, next_due
from domain.partnership import commands as c
from domain.partnership import events as e
from tests.domain.builders import DAY, A, awaiting_match, coord, match

WAIT = Policy(cohort_wait=3 * DAY)


def test_without_a_cohort_wait_an_application_waits_on_people_alone() -> None:
    assert next_due(awaiting_match().state) is None


def test_after_the_wait_a_missing_cohort_raises_no_cohort_once() -> None:
    run = awaiting_match(WAIT)
    due = next_due(run.state)
    assert due is not None and due.at == run.now + 3 * DAY
    run.at(due.at)
    assert "cohort" in run.reject(c.Tick()), "the caller must say whether the cohort runs"
    events = run.do(c.Tick(cohort_running=False))
    assert events == [e.CohortChecked(at=run.now, running=False)]
    assert run.state.attention == Attention.NO_COHORT and run.state.stage == Stage.AWAITING_MATCH
    assert next_due(run.state) is None, "checked once"
    assert run.refold() == run.state


def test_a_running_cohort_raises_nothing_and_a_match_still_comes() -> None:
    run = awaiting_match(WAIT)
    run.at(run.due())
    run.do(c.Tick(cohort_running=True))
    assert run.state.attention is None and next_due(run.state) is None
    run.do(match())
    assert run.state.stage == Stage.AWAITING_SIGNATURES


def test_acknowledged_it_is_cleared_and_a_rematch_waits_again() -> None:
    run = awaiting_match(WAIT)
    run.at(run.due())
    run.do(c.Tick(cohort_running=False))
    run.do(coord(A.ACKNOWLEDGE, "the cohort starts next week"))
    assert run.state.attention is None and next_due(run.state) is None
    run.do(match())
    run.do(coord(A.REMATCH, "the pair did not click"), at=run.now + DAY)
    due = next_due(run.state)
    assert due is not None and due.at == run.now + 3 * DAY, "a new wait from the rematch"


def test_the_wait_must_be_positive() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Policy(cohort_wait=-DAY)

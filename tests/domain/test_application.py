"""Submitting and screening an application."""

import pytest

from domain import DegreeLevel, DomainRejection, Policy
from domain.partnership import Stage, decide, initial_state
from domain.partnership import events as e

from .builders import DAY, PID, T0, applied, awaiting_match, institution, match, screen, submit


def test_nothing_happens_before_an_application() -> None:
    state = initial_state(PID)
    assert state.stage is None and state.version == 0
    with pytest.raises(DomainRejection, match="no application has been submitted"):
        decide(state, screen(), T0)


def test_submitting_records_the_mentee_cohort_and_policy() -> None:
    policy = Policy.fast()
    run = applied(policy)
    [event] = run.log
    assert isinstance(event, e.ApplicationSubmitted)
    assert event.partnership_id == PID and event.at == T0
    assert run.state.stage == Stage.APPLIED
    assert run.state.cohort_id == "cohort-2026"
    assert run.state.mentee_id == "mentee-1" and run.state.institution_id == "uni-1"
    assert run.state.policy == policy
    assert run.state.version == 1


def test_submitting_twice_is_rejected() -> None:
    run = applied()
    assert "already been submitted" in run.reject(submit())


def test_accepted_path() -> None:
    run = applied()
    events = run.do(screen(), at=T0 + DAY)
    assert events == [e.ApplicationAccepted(at=T0 + DAY)]
    assert run.state.stage == Stage.AWAITING_MATCH
    assert run.state.ended_reason is None


def test_ineligible_degree_level_is_rejected() -> None:
    policy = Policy(eligible_degree_levels=(DegreeLevel.MASTER, DegreeLevel.PHD))
    run = applied(policy, degree_level=DegreeLevel.BACHELOR)
    [event] = run.do(screen())
    assert isinstance(event, e.ApplicationRejected)
    [reason] = event.reasons
    assert "degree level bachelor is not eligible" in reason
    assert "master, phd" in reason
    assert run.state.stage == Stage.REJECTED
    assert run.state.ended_reason == reason


def test_unknown_institution_is_rejected() -> None:
    run = applied()
    [event] = run.do(screen(unknown=True))
    assert isinstance(event, e.ApplicationRejected)
    assert event.reasons == ("institution uni-1 is not registered",)
    assert run.state.stage == Stage.REJECTED


def test_non_partner_institution_is_rejected() -> None:
    run = applied()
    [event] = run.do(screen(institution(partner=False)))
    assert isinstance(event, e.ApplicationRejected)
    assert event.reasons == ("institution uni-1 is not a partner of the programme",)


def test_screening_against_another_institution_is_rejected() -> None:
    run = applied()
    [event] = run.do(screen(institution(institution_id="uni-2")))
    assert isinstance(event, e.ApplicationRejected)
    assert "wrong institution" in event.reasons[0]


def test_every_screening_problem_is_reported() -> None:
    policy = Policy(eligible_degree_levels=(DegreeLevel.PHD,))
    run = applied(policy, degree_level=DegreeLevel.BACHELOR)
    [event] = run.do(screen(institution(partner=False)))
    assert isinstance(event, e.ApplicationRejected)
    assert len(event.reasons) == 2
    assert run.state.ended_reason is not None and "; " in run.state.ended_reason


def test_screening_only_once() -> None:
    run = awaiting_match()
    message = run.reject(screen())
    assert "cannot screen the application" in message
    assert "AWAITING_MATCH" in message and "only in APPLIED" in message


def test_no_match_before_screening() -> None:
    run = applied()
    message = run.reject(match())
    assert "cannot propose a match while the partnership is APPLIED" in message

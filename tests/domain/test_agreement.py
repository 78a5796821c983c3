"""Matching, signing the Mentoring Partnership Agreement, and the signing timers."""

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.partnership import Attention, Stage, next_due
from domain.partnership import events as e
from domain.partnership.commands import Party

from .builders import (
    DAY,
    MENTEE,
    MENTOR,
    MENTOR_ID,
    T0,
    A,
    Run,
    active,
    awaiting_match,
    awaiting_signatures,
    coord,
    match,
    sign,
    withdraw,
)

MATCHED_AT = T0 + DAY


# ---------------------------------------------------------------------------------------------- match


def test_match_in_awaiting_match_opens_the_agreement() -> None:
    run = awaiting_match()
    [event] = run.do(match(score=0.75), at=MATCHED_AT)
    assert isinstance(event, e.MatchProposed)
    assert event.signing_due == MATCHED_AT + timedelta(days=14)
    assert event.topics == ("a first job in Finland", "networking"), "the mentee's goals are the first topics"
    state = run.state
    assert state.stage == Stage.AWAITING_SIGNATURES
    assert (state.mentor_id, state.match_score, state.matched_at) == (MENTOR_ID, 0.75, MATCHED_AT)
    assert state.agreement is not None
    assert state.agreement.meeting_cadence == timedelta(days=30)
    assert state.agreement.signatures == {}
    assert state.agreement.starts_on is None and state.agreement.ends_on is None


def test_topics_fall_back_to_interests_then_field() -> None:
    from .builders import applied, screen

    run = applied(goals=(), interests=("ux",))
    run.do(screen())
    [event] = run.do(match())
    assert isinstance(event, e.MatchProposed) and event.topics == ("ux",)
    run = applied(goals=(), interests=())
    run.do(screen())
    [event] = run.do(match())
    assert isinstance(event, e.MatchProposed) and event.topics == ("data science",)


@pytest.mark.parametrize("builder", [awaiting_signatures, active])
def test_match_only_while_awaiting_a_match(builder: Callable[[], Run]) -> None:
    run = builder()
    message = run.reject(match("mentor-2"))
    assert "cannot propose a match" in message and "only in AWAITING_MATCH" in message


def test_previous_mentor_is_rejected_after_rematch() -> None:
    run = awaiting_signatures()
    run.do(coord(A.REMATCH, "no chemistry"), at=MATCHED_AT + DAY)
    message = run.reject(match(MENTOR_ID))
    assert MENTOR_ID in message and "already matched" in message
    run.do(match("mentor-2"))
    assert run.state.mentor_id == "mentor-2"


@pytest.mark.parametrize("score", [float("nan"), float("inf"), float("-inf")])
def test_a_match_score_must_be_finite(score: float) -> None:
    run = awaiting_match()
    assert "finite number" in run.reject(match(score=score))


# ---------------------------------------------------------------------------------------------- signing


def test_both_signatures_start_the_partnership() -> None:
    run = awaiting_signatures()
    first = run.do(sign(MENTEE, ref="sig-a"), at=MATCHED_AT + DAY)
    assert [type(ev) for ev in first] == [e.AgreementSigned]
    assert run.state.stage == Stage.AWAITING_SIGNATURES
    start = MATCHED_AT + 2 * DAY
    second = run.do(sign(MENTOR), at=start)
    assert [type(ev) for ev in second] == [e.AgreementSigned, e.PartnershipStarted]
    started = second[-1]
    assert isinstance(started, e.PartnershipStarted)
    assert started.starts_on == start
    assert started.ends_on == start + timedelta(days=182)
    assert started.next_meeting_due == start + timedelta(days=30)
    state = run.state
    assert state.stage == Stage.ACTIVE
    assert state.agreement is not None
    assert (state.agreement.starts_on, state.agreement.ends_on) == (start, start + timedelta(days=182))
    assert set(state.agreement.signatures) == {"mentee", "mentor"}
    assert state.agreement.signatures["mentee"].signature_ref == "sig-a"
    assert state.next_meeting_due == start + timedelta(days=30)


def test_start_follows_the_policy_programme_length() -> None:
    from domain import Policy

    run = awaiting_signatures(Policy.fast())
    run.do(sign(MENTOR))
    [_, started] = run.do(sign(MENTEE), at=run.now + timedelta(seconds=3))
    assert isinstance(started, e.PartnershipStarted)
    assert started.ends_on - started.starts_on == timedelta(seconds=182)


@pytest.mark.parametrize("party", [MENTEE, MENTOR])
def test_double_signing_is_rejected(party: Party) -> None:
    run = awaiting_signatures()
    run.do(sign(party))
    message = run.reject(sign(party), at=run.now + DAY)
    assert f"the {party} has already signed" in message


def test_amending_terms_clears_the_other_signature() -> None:
    run = awaiting_signatures()
    run.do(sign(MENTEE))
    events = run.do(sign(MENTOR, topics=("public speaking",), cadence_days=14), at=MATCHED_AT + DAY)
    assert [type(ev) for ev in events] == [e.AgreementAmended, e.AgreementSigned]
    agreement = run.state.agreement
    assert agreement is not None
    assert agreement.topics == ("public speaking",)
    assert agreement.meeting_cadence == timedelta(days=14)
    assert set(agreement.signatures) == {"mentor"}, "the mentee's earlier signature no longer holds"
    assert run.state.stage == Stage.AWAITING_SIGNATURES
    # the mentee now signs the amended terms as they stand
    [_, started] = run.do(sign(MENTEE), at=MATCHED_AT + 2 * DAY)
    assert isinstance(started, e.PartnershipStarted)
    assert started.next_meeting_due == MATCHED_AT + 2 * DAY + timedelta(days=14)


def test_signing_the_same_terms_explicitly_is_no_amendment() -> None:
    run = awaiting_signatures()
    agreement = run.state.agreement
    assert agreement is not None
    events = run.do(sign(MENTEE, topics=agreement.topics, cadence_days=30))
    assert [type(ev) for ev in events] == [e.AgreementSigned]


def test_re_signing_with_new_terms_is_an_amendment_not_a_double_signature() -> None:
    run = awaiting_signatures()
    run.do(sign(MENTEE))
    events = run.do(sign(MENTEE, cadence_days=21))
    assert [type(ev) for ev in events] == [e.AgreementAmended, e.AgreementSigned]


def test_an_agreement_needs_a_topic() -> None:
    run = awaiting_signatures()
    assert "at least one topic" in run.reject(sign(MENTEE, topics=()))


def test_signing_outside_awaiting_signatures_is_rejected() -> None:
    assert "cannot sign the agreement while the partnership is AWAITING_MATCH" in awaiting_match().reject(sign(MENTEE))
    assert "while the partnership is ACTIVE" in active().reject(sign(MENTEE))


def test_no_signing_after_the_mentor_withdrew() -> None:
    run = awaiting_signatures()
    run.do(withdraw(MENTOR))
    assert "mentor has withdrawn" in run.reject(sign(MENTEE))


# ---------------------------------------------------------------------------------------------- signing timers


def test_signing_reminder_then_overdue_escalation() -> None:
    run = awaiting_signatures()
    run.do(sign(MENTOR))
    assert run.due() == MATCHED_AT + timedelta(days=7)
    assert run.tick(MATCHED_AT + timedelta(days=6)) == [], "nothing is due yet"

    [reminder] = run.tick_due()
    assert reminder == e.SigningReminderDue(at=MATCHED_AT + timedelta(days=7), parties=(MENTEE,))
    assert run.state.signing_clock.reminded and run.state.attention is None

    assert run.due() == MATCHED_AT + timedelta(days=14)
    [overdue] = run.tick_due()
    assert overdue == e.SignatureOverdue(at=MATCHED_AT + timedelta(days=14), parties=(MENTEE,))
    assert run.state.attention == Attention.SIGNATURE_OVERDUE
    assert next_due(run.state) is None, "it waits on the coordinator now"
    assert run.tick(run.now + 30 * DAY) == []


def test_a_late_tick_raises_every_due_timer_at_once() -> None:
    run = awaiting_signatures()
    events = run.tick(MATCHED_AT + timedelta(days=20))
    assert [type(ev) for ev in events] == [e.SigningReminderDue, e.SignatureOverdue]
    assert all(ev.at == MATCHED_AT + timedelta(days=20) for ev in events)
    assert isinstance(events[0], e.SigningReminderDue) and events[0].parties == (MENTEE, MENTOR)


def test_acknowledge_re_arms_the_signing_deadline() -> None:
    run = awaiting_signatures()
    run.tick(MATCHED_AT + timedelta(days=14))
    assert run.state.attention == Attention.SIGNATURE_OVERDUE
    acknowledged_at = MATCHED_AT + timedelta(days=16)
    [event] = run.do(coord(A.ACKNOWLEDGE, "called both"), at=acknowledged_at)
    assert isinstance(event, e.AttentionAcknowledged)
    assert event.attention == Attention.SIGNATURE_OVERDUE
    assert event.rearmed_until == acknowledged_at + timedelta(days=7)
    assert run.state.attention is None and not run.state.signing_clock.overdue
    assert run.state.interventions == 1
    assert run.due() == acknowledged_at + timedelta(days=7)
    [again] = run.tick_due()
    assert isinstance(again, e.SignatureOverdue)
    assert run.state.attention == Attention.SIGNATURE_OVERDUE


def test_acknowledge_needs_something_to_acknowledge() -> None:
    run = awaiting_signatures()
    assert "nothing needs a coordinator's attention" in run.reject(coord(A.ACKNOWLEDGE))


def test_signing_clears_an_overdue_attention() -> None:
    run = awaiting_signatures()
    run.tick(MATCHED_AT + timedelta(days=15))
    run.do(sign(MENTEE))
    run.do(sign(MENTOR))
    assert run.state.stage == Stage.ACTIVE and run.state.attention is None

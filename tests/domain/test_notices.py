"""Who is told what: the notices each event causes."""

from collections.abc import Callable

import pytest

from domain.partnership import Notice, PartnershipState, Recipient, evolve, fold, initial_state, notices_for
from domain.partnership import commands as c
from domain.partnership import events as e

from .builders import (
    DAY,
    MENTEE,
    MENTOR,
    PID,
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
    review,
    screen,
    sign,
    withdraw,
)

PAIR = {Recipient.MENTEE, Recipient.MENTOR}
COORDINATOR = {Recipient.COORDINATOR}


def told(notices: list[Notice]) -> dict[Recipient, str]:
    """Recipient -> template; every notice goes to a distinct recipient."""
    assert len({n.recipient for n in notices}) == len(notices)
    return {n.recipient: n.template for n in notices}


def notices(run: Run, steps: Callable[[Run], list[e.Event]]) -> list[tuple[e.Event, dict[Recipient, str]]]:
    """Run ``steps`` and pair each event with the notices it causes against the state it met."""
    before_log = len(run.log)
    start: PartnershipState = run.state
    steps(run)
    out = []
    state = start
    for event in run.log[before_log:]:
        out.append((event, told(notices_for(event, state))))
        state = evolve(state, event)
    return out


def only(run: Run, steps: Callable[[Run], list[e.Event]]) -> dict[Recipient, str]:
    [(_, recipients)] = notices(run, steps)
    return recipients


def test_screening_tells_the_mentee() -> None:
    assert only(applied(), lambda r: r.do(screen())) == {Recipient.MENTEE: "application_accepted"}
    assert only(applied(), lambda r: r.do(screen(unknown=True))) == {Recipient.MENTEE: "application_rejected"}


def test_a_match_tells_both_including_the_new_mentor() -> None:
    assert only(awaiting_match(), lambda r: r.do(match())) == {
        Recipient.MENTEE: "match_proposed",
        Recipient.MENTOR: "match_proposed",
    }


def test_signing_reminders_go_to_whoever_has_not_signed() -> None:
    run = awaiting_signatures()
    run.do(sign(MENTOR))
    assert only(run, lambda r: r.tick_due()) == {Recipient.MENTEE: "signing_reminder_due"}
    run = awaiting_signatures()
    assert set(only(run, lambda r: r.tick_due())) == PAIR


def test_overdue_signatures_escalate_to_the_coordinator() -> None:
    run = awaiting_signatures()
    run.tick_due()
    assert only(run, lambda r: r.tick_due()) == {Recipient.COORDINATOR: "signature_overdue"}


def test_signatures_and_amendments() -> None:
    run = awaiting_signatures()
    [(signed, to)] = notices(run, lambda r: r.do(sign(MENTEE)))
    assert isinstance(signed, e.AgreementSigned) and to == {}
    [(amended, to_amended), (_, to_signed)] = notices(run, lambda r: r.do(sign(MENTOR, cadence_days=14)))
    assert isinstance(amended, e.AgreementAmended)
    assert to_amended == {Recipient.MENTEE: "agreement_amended", Recipient.MENTOR: "agreement_amended"}
    assert to_signed == {}


def test_start_sends_the_toolkit_to_both() -> None:
    run = awaiting_signatures()
    run.do(sign(MENTEE))
    [_, (started, to)] = notices(run, lambda r: r.do(sign(MENTOR)))
    assert isinstance(started, e.PartnershipStarted)
    assert to == {Recipient.MENTEE: "mentoring_toolkit", Recipient.MENTOR: "mentoring_toolkit"}


def test_nudges_go_to_the_pair_and_lapses_to_the_coordinator() -> None:
    run = active()
    assert only(run, lambda r: r.tick_due()) == {
        Recipient.MENTEE: "meeting_nudge_due",
        Recipient.MENTOR: "meeting_nudge_due",
    }
    assert only(run, lambda r: r.tick_due()) == {Recipient.COORDINATOR: "meeting_lapsed"}


def test_a_coordinator_nudge_reaches_the_pair() -> None:
    assert only(active(), lambda r: r.do(coord(A.NUDGE, "please meet"))) == {
        Recipient.MENTEE: "meeting_nudge_due",
        Recipient.MENTOR: "meeting_nudge_due",
    }


@pytest.mark.parametrize(
    ("builder", "command", "template"),
    [
        (active, coord(A.PAUSE, "leave"), "partnership_paused"),
        (paused, coord(A.RESUME, "back"), "partnership_resumed"),
    ],
)
def test_pause_and_resume_tell_the_pair(builder: Callable[[], Run], command: c.Command, template: str) -> None:
    run = builder()
    run.after(DAY)
    assert only(run, lambda r: r.do(command)) == {
        Recipient.MENTEE: template,
        Recipient.MENTOR: template,
    }


def test_reschedule_and_extend_tell_the_pair() -> None:
    run = active()
    run.after(DAY)
    to = only(run, lambda r: r.do(coord(A.RESCHEDULE, "travel", until=r.now + 3 * DAY)))
    assert set(to) == PAIR and set(to.values()) == {"meeting_rescheduled"}
    agreement = run.state.agreement
    assert agreement is not None and agreement.ends_on is not None
    ends = agreement.ends_on
    to = only(run, lambda r: r.do(coord(A.EXTEND, "more time", until=ends + 10 * DAY)))
    assert set(to) == PAIR and set(to.values()) == {"partnership_extended"}


def test_quiet_events_tell_nobody() -> None:
    run = active()
    run.after(DAY)
    assert only(run, lambda r: r.do(meeting())) == {}
    assert only(run, lambda r: r.do(diary())) == {}
    assert only(run, lambda r: r.do(gathering())) == {}
    run.tick(run.now + 60 * DAY)
    assert only(run, lambda r: r.do(coord(A.ACKNOWLEDGE, "seen"))) == {}


def test_rematch_tells_the_mentee() -> None:
    assert only(active(), lambda r: r.do(coord(A.REMATCH, "no chemistry"))) == {Recipient.MENTEE: "rematch_requested"}


def test_mentor_withdrawal_tells_the_mentee_and_the_coordinator() -> None:
    assert only(active(), lambda r: r.do(withdraw(MENTOR))) == {
        Recipient.MENTEE: "mentor_withdrew",
        Recipient.COORDINATOR: "mentor_withdrew",
    }


def test_mentee_withdrawal_tells_the_mentor_if_any_and_the_coordinator() -> None:
    assert only(active(), lambda r: r.do(withdraw(MENTEE))) == {
        Recipient.MENTOR: "mentee_withdrew",
        Recipient.COORDINATOR: "mentee_withdrew",
    }
    assert only(awaiting_match(), lambda r: r.do(withdraw(MENTEE))) == {Recipient.COORDINATOR: "mentee_withdrew"}
    run = active()
    run.do(withdraw(MENTOR))
    assert only(run, lambda r: r.do(withdraw(MENTEE))) == {Recipient.COORDINATOR: "mentee_withdrew"}


def test_end_early_tells_whoever_is_still_there() -> None:
    assert set(only(active(), lambda r: r.do(coord(A.END_EARLY, "stop")))) == PAIR
    assert only(awaiting_match(), lambda r: r.do(coord(A.END_EARLY, "stop"))) == {
        Recipient.MENTEE: "partnership_ended_early"
    }
    run = active()
    run.do(withdraw(MENTOR))
    assert only(run, lambda r: r.do(coord(A.END_EARLY, "stop"))) == {Recipient.MENTEE: "partnership_ended_early"}


def test_end_of_programme_asks_both_for_the_closing_review() -> None:
    run = closing_review()
    ended = run.log[-1]
    assert isinstance(ended, e.ProgrammeEnded)
    before = fold(initial_state(PID), run.log[:-1])
    assert told(notices_for(ended, before)) == {
        Recipient.MENTEE: "closing_review_request",
        Recipient.MENTOR: "closing_review_request",
    }


def test_review_reminders_to_the_missing_and_overdue_to_the_coordinator() -> None:
    run = closing_review()
    run.do(review(MENTOR), at=run.now + DAY)
    assert only(run, lambda r: r.tick_due()) == {Recipient.MENTEE: "review_reminder_due"}
    assert only(run, lambda r: r.tick_due()) == {Recipient.COORDINATOR: "review_overdue"}


def test_completion_tells_both() -> None:
    run = closing_review()
    run.do(review(MENTOR), at=run.now + DAY)
    [(_, to_review), (_, to_completed)] = notices(run, lambda r: r.do(review(MENTEE)))
    assert to_review == {}
    assert to_completed == {Recipient.MENTEE: "partnership_completed", Recipient.MENTOR: "partnership_completed"}

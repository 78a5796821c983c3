"""The attention history: every attention raised is kept, with what raised it and what cleared it, so a lapse
stays visible after the programme ends. Additive: states and logs from before it still load and fold."""

from __future__ import annotations

from datetime import timedelta

from domain.partnership import Attention, PartnershipState, Stage, evolve
from domain.partnership import events as e
from domain.partnership.attention import describe, open_record
from workflows.status import describe as status_of

from .builders import (
    DAY,
    MENTOR,
    T0,
    A,
    active,
    applied,
    awaiting_signatures,
    coord,
    institution,
    meeting,
    screen,
    withdraw,
)

START = T0 + 2 * DAY
FIRST_DUE = START + timedelta(days=30)
ESCALATE_AT = FIRST_DUE + timedelta(days=21)
ENDS = START + timedelta(days=182)


def test_a_lapse_that_reached_the_closing_review_stays_in_the_history() -> None:
    run = active()
    run.tick(ESCALATE_AT)
    assert run.state.attention == Attention.MEETING_LAPSED
    run.at(ENDS)
    while run.state.stage != Stage.CLOSING_REVIEW:
        run.tick_due()
    while run.state.attention != Attention.REVIEW_OVERDUE:
        run.tick_due()

    lapse, review = run.state.attention_history
    assert (lapse.attention, lapse.raised_at, lapse.raised_by, lapse.due) == (
        Attention.MEETING_LAPSED,
        ESCALATE_AT,
        "meeting_lapsed",
        FIRST_DUE,
    )
    assert (lapse.cleared_at, lapse.cleared_by) == (ENDS, "programme_ended")
    assert review.attention == Attention.REVIEW_OVERDUE and review.cleared_at is None
    window = run.state.review_window
    assert review.parties == ("mentee", "mentor") and window is not None and review.due == window.due
    assert open_record(run.state) == review

    status = status_of(run.state)
    assert status.attention == "REVIEW_OVERDUE"
    assert (
        status.attention_reason is not None
        and "closing reviews missing from mentee and mentor" in status.attention_reason
    )
    assert [h.attention for h in status.attention_history] == ["MEETING_LAPSED", "REVIEW_OVERDUE"]
    assert run.refold() == run.state, "the history is folded from the log alone"


def test_who_cleared_it_and_why() -> None:
    run = active()
    run.tick(ESCALATE_AT)
    run.do(coord(A.ACKNOWLEDGE, "called the pair"), at=ESCALATE_AT + DAY)
    [record] = run.state.attention_history
    assert (record.cleared_by, record.cleared_reason) == ("attention_acknowledged", "called the pair")

    while run.state.attention is None:
        run.tick_due()
    run.do(meeting(60), at=run.now + DAY)
    first, second = run.state.attention_history
    assert first == record
    assert (second.raised_by, second.cleared_by, second.cleared_reason) == ("meeting_lapsed", "meeting_logged", None)
    assert run.state.attention is None and open_record(run.state) is None


def test_a_mentors_withdrawal_is_raised_with_its_reason_and_cleared_by_the_rematch() -> None:
    run = awaiting_signatures()
    run.do(withdraw(MENTOR, "changed jobs"), at=T0 + 3 * DAY)
    [record] = run.state.attention_history
    assert (record.attention, record.parties, record.reason) == (Attention.MENTOR_WITHDREW, ("mentor",), "changed jobs")
    assert describe(record) == "the mentor withdrew: changed jobs"
    run.do(coord(A.REMATCH, "new mentor needed"), at=T0 + 4 * DAY)
    [record] = run.state.attention_history
    assert (record.cleared_by, record.cleared_reason) == ("rematch_requested", "new mentor needed")


def test_a_signature_overdue_names_who_had_not_signed() -> None:
    run = awaiting_signatures()
    while run.state.attention is None:
        run.tick_due()
    [record] = run.state.attention_history
    assert record.attention == Attention.SIGNATURE_OVERDUE and record.parties == ("mentee", "mentor")
    assert record.due == run.state.agreement.signing_due if run.state.agreement else False
    assert describe(record).startswith("the agreement is not signed by mentee and mentor (due ")


def test_a_state_stored_before_the_history_existed_loads_and_keeps_what_it_knows() -> None:
    run = active()
    run.tick(ESCALATE_AT)
    stored = run.state.model_dump(mode="json")
    del stored["attention_history"]  # as the records kept it before
    old = PartnershipState.model_validate(stored)
    assert old.attention == Attention.MEETING_LAPSED and old.attention_history == ()
    assert status_of(old).attention_reason == "MEETING_LAPSED"

    held = ESCALATE_AT + DAY
    after = evolve(old, e.MeetingLogged(at=held, held_on=held, minutes=60, next_meeting_due=held + 30 * DAY))
    [record] = after.attention_history
    assert (record.attention, record.raised_by, record.cleared_by) == (
        Attention.MEETING_LAPSED,
        "unknown",
        "meeting_logged",
    )


def test_terminal_stages_say_why_and_nothing_is_due_after_them() -> None:
    rejected = applied()
    rejected.do(screen(institution(partner=False)), at=T0 + DAY)
    status = status_of(rejected.state)
    assert status.stage == "REJECTED"
    assert status.ended_reason == "institution uni-1 is not a partner of the programme"
    assert "REJECTED: application rejected: institution uni-1 is not a partner" in status.waiting_for

    withdrawn = active()
    withdrawn.do(withdraw(c_party("mentee"), "moved abroad"), at=START + 10 * DAY)
    status = status_of(withdrawn.state)
    assert status.stage == "WITHDRAWN" and status.ended_reason == "moved abroad"
    assert status.next_meeting_due is None and status.next_deadline is None
    assert withdrawn.state.next_meeting_due is not None, "the state keeps what was; only the view drops it"


def c_party(name: str):  # type: ignore[no-untyped-def]
    from domain.partnership.commands import Party

    return Party(name)


def test_every_attention_kind_has_its_words() -> None:
    from domain.partnership.attention import ATTENTION_WORDS
    from domain.partnership.state import Attention

    assert set(ATTENTION_WORDS) == set(Attention)

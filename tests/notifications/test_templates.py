"""Every notice ``notices_for`` can emit has a template, and every template renders the partnership's facts."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from activities.notifications.rendering import (
    KNOWN_PLACEHOLDERS,
    TemplateMissing,
    duration,
    placeholders,
    render,
    template_files,
    when,
)
from domain import Policy
from domain.partnership import PartnershipState, Recipient, evolve, initial_state, notices_for
from domain.partnership import commands as c
from domain.partnership import events as e
from tests.domain import builders as b

EVENT_CLASSES: tuple[type[e._Event], ...] = tuple(typing.get_args(typing.get_args(e.Event)[0]))


def flat(text: str) -> str:
    """The text with its line wrapping undone, to look for phrases."""
    return " ".join(text.split())


def _befores() -> list[PartnershipState]:
    """States an event may meet: without a mentor, with one, with one who has withdrawn."""
    matched = b.awaiting_signatures().state
    return [b.awaiting_match().state, matched, matched.model_copy(update={"mentor_withdrawn": True}), b.active().state]


def emitted() -> set[tuple[str, Recipient]]:
    """Every (template, recipient) that ``notices_for`` can produce, found by trying every event type."""
    found: set[tuple[str, Recipient]] = set()
    for cls in EVENT_CLASSES:
        for party in c.Party:
            fields: dict[str, Any] = {"at": b.T0, "party": party, "parties": tuple(c.Party), "low": True}
            sample = cls.model_construct(**fields)  # only the fields the class has are kept
            for before in _befores():
                found |= {(n.template, n.recipient) for n in notices_for(sample, before)}  # type: ignore[arg-type]
    return found


def test_the_event_union_was_read() -> None:
    assert len(EVENT_CLASSES) >= 29
    assert {"mentoring_toolkit", "closing_review_request", "mentor_withdrew"} <= {t for t, _ in emitted()}


@pytest.mark.parametrize(("template", "recipient"), sorted(emitted()))
def test_every_emitted_notice_renders(template: str, recipient: Recipient) -> None:
    state = b.closing_review().state
    message = render(template, recipient, name="Ada Example", state=state, counterpart_name="Bo Example")
    assert message.subject and "\n" not in message.subject and "$" not in message.subject
    assert message.body.startswith("Dear Ada Example,\n")
    assert b.PID in message.body
    assert "$" not in message.body


def test_every_template_file_is_used_and_uses_only_known_facts() -> None:
    names = {t for t, _ in emitted()}
    pairs = {f"{t}.{r.value}" for t, r in emitted()}
    for stem in template_files():
        assert stem in names or stem in pairs, f"template {stem} is never used"
        assert placeholders(stem) <= KNOWN_PLACEHOLDERS, (
            f"{stem} uses unknown {placeholders(stem) - KNOWN_PLACEHOLDERS}"
        )


def test_an_unknown_template_is_a_clear_error() -> None:
    with pytest.raises(TemplateMissing, match="no notification template 'nope' for the mentee"):
        render("nope", Recipient.MENTEE, name="A", state=b.active().state)


def lifecycle() -> Iterator[tuple[e.Event, PartnershipState, PartnershipState]]:
    """(event, before, after) for many real partnerships, through every kind of notice."""
    A = b.A
    runs: list[b.Run] = [b.completed(), b.withdrawn(), b.ended_early(), b.rejected()]
    run = b.awaiting_signatures()
    run.do(b.sign(b.MENTEE, topics=("networking in Finland",)), at=run.now + b.DAY)
    run.tick_due()
    run.tick_due()
    run.do(b.coord(A.REMATCH, "the mentor changed jobs"), at=run.now + b.DAY)
    runs.append(run)
    run = b.active()
    run.do(b.meeting(90), at=run.now + 10 * b.DAY)
    run.do(b.gathering(3.0))
    run.tick_due()
    run.tick_due()
    run.do(b.coord(A.NUDGE, "please meet this week"), at=run.now + b.DAY)
    run.do(b.coord(A.RESCHEDULE, "holidays", until=run.now + 10 * b.DAY))
    run.do(b.coord(A.PAUSE, "parental leave", until=run.now + 30 * b.DAY))
    run.tick_due()
    agreement = run.state.agreement
    assert agreement is not None and agreement.ends_on is not None
    run.do(b.coord(A.EXTEND, "time lost to the pause", until=agreement.ends_on + 20 * b.DAY))
    run.do(b.withdraw(b.MENTOR), at=run.now + b.DAY)
    runs.append(run)
    run = b.active(Policy(checkin_first=30 * b.DAY))
    run.do(b.meeting(60), at=run.now + 29 * b.DAY)
    run.tick_due()  # check-in 1 asked
    run.do(c.AnswerCheckin(party=b.MENTOR, score=2, meeting_as_planned=True, note="canary-note"), at=run.now + b.DAY)
    run.tick_due()  # the mentee never answered: nudged
    runs.append(run)
    run = b.closing_review()
    run.tick_due()
    run.tick_due()
    run.do(b.coord(A.CLOSE_REVIEW, "the mentor is unreachable"), at=run.now + b.DAY)
    runs.append(run)
    for run in runs:
        state = initial_state(b.PID)
        for event in run.log:
            before, state = state, evolve(state, event)
            yield event, before, state


def test_a_whole_programme_renders_the_facts_of_each_moment() -> None:
    seen: dict[str, list[str]] = {}
    for event, before, after in lifecycle():
        for notice in notices_for(event, before):
            message = render(
                notice.template, notice.recipient, name="Ada", state=after, event=event, counterpart_name="Bo"
            )
            assert "$" not in message.body and "not set" not in message.body, (notice.template, message.body)
            seen.setdefault(f"{notice.template}.{notice.recipient.value}", []).append(
                message.subject + "\n" + message.body
            )
    assert {t for t, _ in emitted()} <= {key.split(".")[0] for key in seen}, "a scenario is missing"

    def body(key: str) -> str:
        return flat("\n".join(seen[key]))

    assert "please meet this week" in body("meeting_nudge_due.mentee")  # the coordinator's note
    assert "16-24 h" in body("meeting_nudge_due.mentor")
    assert "entrypoint intervene p-1 reschedule --until" in body("meeting_lapsed.coordinator")
    assert "entrypoint intervene p-1 rematch --reason" in body("mentor_withdrew.coordinator")
    assert "entrypoint intervene p-1 close_review --reason" in body("review_overdue.coordinator")
    assert "entrypoint intervene p-1 acknowledge --reason" in body("signature_overdue.coordinator")
    assert "the mentor changed jobs" in body("rematch_requested.mentee")
    assert "holidays" in body("meeting_rescheduled.mentor")
    assert "time lost to the pause" in body("partnership_extended.mentee")
    assert "were changed by the mentee" in body("agreement_amended.mentor")  # who changed the terms
    assert "networking in Finland" in body("agreement_amended.mentor")
    assert "the mentor" in body("signing_reminder_due.mentor")
    assert "Pair meetings: 7 (10.5 h)" in body("closing_review_request.mentee")
    assert "moved abroad" not in body("mentor_withdrew.mentee")  # a party's own reason goes to the coordinator only
    assert "moved abroad" in body("mentor_withdrew.coordinator")
    assert "How is it going?" in body("checkin_request.mentee") and "check-in 1" in body("checkin_request.mentor")
    assert "we have not received your answer" in body("checkin_nudge_due.mentee")
    assert "checkin_nudge_due.mentor" not in seen, "only who did not answer is nudged"
    low = body("checkin_low.coordinator")
    assert "the mentor answered: how it is going 2 of 5; meeting as planned: yes" in low
    assert "canary-note" not in low, "the note, free text, stays in the records"


def test_the_toolkit_carries_guidelines_a_planning_template_and_working_across_cultures() -> None:
    run = b.active()
    event = run.log[-1]
    assert isinstance(event, e.PartnershipStarted)
    message = render(
        "mentoring_toolkit", Recipient.MENTOR, name="Mikko", state=run.state, event=event, counterpart_name="Priya"
    )
    text = message.body
    for heading in ("GUIDELINES FOR THE PARTNERSHIP", "PLANNING TEMPLATE", "WORKING ACROSS CULTURES"):
        assert heading in text
    for part in ("Goals:", "Topics:", "Meeting rhythm: pair meetings every 30 days", "Confidentiality:"):
        assert part in text
    assert "your partnership with Priya (your mentee) has" in flat(text)
    assert when(event.ends_on) in flat(text) and when(event.next_meeting_due) in flat(text)
    assert "  - a first job in Finland\n  - networking\n" in text
    assert len(text.split()) > 700


def test_facts_are_written_for_people() -> None:
    assert when(b.T0) == "Mon 5 Jan 2026 11:00 (Finnish time)"
    assert duration(timedelta(days=30)) == "30 days"
    assert duration(timedelta(days=1)) == "1 day"
    assert duration(timedelta(hours=36)) == "1.5 days"
    assert duration(timedelta(seconds=30)) == "30 seconds"
    state = b.awaiting_signatures().state
    message = render("match_proposed", Recipient.MENTEE, name="Priya", state=state)
    assert f"sign it by {when(state.agreement.signing_due)}" in flat(message.body)  # type: ignore[union-attr]
    assert "between you and your proposed mentor" not in message.body
    assert "between you and your mentor." in flat(message.body)
    assert all(len(line) <= 76 for line in message.body.splitlines())

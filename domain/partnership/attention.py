"""The attention history: each time an event raises or clears the attention, it is written down.

``evolve`` calls :func:`record` whenever an event changes ``attention``; the rules that raise and clear it stay
where they are. Additive: a state or log from before the history existed folds to the same state plus the
history. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.partnership import events as e
from domain.partnership.state import Attention, AttentionRecord, PartnershipState


def record(state: PartnershipState, event: e.Event, attention: Attention | None) -> tuple[AttentionRecord, ...]:
    """The history after ``event`` changed the attention from ``state.attention`` to ``attention``."""
    history = list(state.attention_history)
    if state.attention is not None:
        if history and history[-1].cleared_at is None and history[-1].attention == state.attention:
            history[-1] = history[-1].replace(
                cleared_at=event.at, cleared_by=event.type, cleared_reason=getattr(event, "reason", None)
            )
        else:  # raised before the history was kept: what is known of it
            history.append(
                AttentionRecord(
                    attention=state.attention,
                    raised_at=event.at,
                    raised_by="unknown",
                    cleared_at=event.at,
                    cleared_by=event.type,
                    cleared_reason=getattr(event, "reason", None),
                )
            )
    if attention is not None:
        history.append(_raised(attention, state, event))
    return tuple(history)


def _raised(attention: Attention, state: PartnershipState, event: e.Event) -> AttentionRecord:
    parties: tuple[str, ...] = ()
    due: datetime | None = None
    reason: str | None = None
    if isinstance(event, e.SignatureOverdue):
        parties = tuple(p.value for p in event.parties)
        due = state.agreement.signing_due if state.agreement else None
    elif isinstance(event, e.MeetingLapsed):
        due = event.meeting_was_due
    elif isinstance(event, e.ReviewOverdue):
        parties = tuple(p.value for p in event.parties)
        due = state.review_window.due if state.review_window else None
    elif isinstance(event, e.PartyWithdrew):
        parties = (event.party.value,)
        reason = event.reason
    elif isinstance(event, e.CheckinAnswered):  # never its note: free text
        parties = (event.party.value,)
    return AttentionRecord(
        attention=attention, raised_at=event.at, raised_by=event.type, parties=parties, due=due, reason=reason
    )


def open_record(state: PartnershipState) -> AttentionRecord | None:
    """The record of the attention open now (None when nothing needs a coordinator)."""
    if state.attention is None:
        return None
    last = state.attention_history[-1] if state.attention_history else None
    if last is not None and last.cleared_at is None and last.attention == state.attention:
        return last
    return None


ATTENTION_WORDS = {
    Attention.SIGNATURE_OVERDUE: "the agreement is not signed in time",
    Attention.MEETING_LAPSED: "pair meetings have lapsed",
    Attention.REVIEW_OVERDUE: "the closing reviews are overdue",
    Attention.MENTOR_WITHDREW: "the mentor withdrew",
    Attention.NO_COHORT: "no Cohort workflow runs for the partnership's cohort",
    Attention.CHECKIN_LOW: "a check-in answer was low (a score of 2 or less, or not meeting as planned)",
}


def describe(record: AttentionRecord, when: Callable[[datetime], str] | None = None) -> str:
    """What the attention is about, in words; ``when`` formats a moment (default: ISO 8601 in UTC)."""
    show = when or (lambda moment: moment.isoformat(timespec="minutes"))
    words = ATTENTION_WORDS.get(record.attention, str(record.attention))
    if record.attention == Attention.SIGNATURE_OVERDUE:
        words = f"the agreement is not signed by {' and '.join(record.parties) or 'everyone'}"
        words += f" (due {show(record.due)})" if record.due else ""
    elif record.attention == Attention.MEETING_LAPSED:
        words = "no pair meeting" + (f" since one was due {show(record.due)}" if record.due else "")
    elif record.attention == Attention.REVIEW_OVERDUE:
        words = f"closing reviews missing from {' and '.join(record.parties) or 'the parties'}"
        words += f" (due {show(record.due)})" if record.due else ""
    elif record.attention == Attention.CHECKIN_LOW and record.parties:
        words = f"a low check-in answer from the {' and '.join(record.parties)} (a score of 2 or less, or not meeting"
        words += " as planned)"
    elif record.attention == Attention.MENTOR_WITHDREW and record.reason:
        words = f"the mentor withdrew: {record.reason}"
    return words

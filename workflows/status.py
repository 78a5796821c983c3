"""How a partnership's state is published: the ``status`` view, search attributes and the UI's details line.

Deterministic and pure (no I/O); no personal data: ids, stages, counts and dates only.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeUpdate

from domain.partnership import PartnershipState, Stage, next_due
from domain.partnership.attention import describe as describe_attention
from domain.partnership.attention import open_record
from workflows.contract import Deadline, PartnershipStatus, SearchAttributes

_STAGE_WORDS = {
    None: "registering the application",
    Stage.APPLIED: "screening the application",
    Stage.AWAITING_MATCH: "waiting for a mentor match",
    Stage.AWAITING_SIGNATURES: "waiting for the Mentoring Partnership Agreement to be signed",
    Stage.ACTIVE: "mentoring under way",
    Stage.PAUSED: "paused by a coordinator",
    Stage.CLOSING_REVIEW: "waiting for the closing reviews",
    Stage.COMPLETED: "completed",
    Stage.WITHDRAWN: "withdrawn",
    Stage.REJECTED: "application rejected",
    Stage.ENDED_EARLY: "ended early",
}


def waiting_for(state: PartnershipState) -> str:
    """One line for the Temporal UI: what the partnership waits for, and until when."""
    words = _STAGE_WORDS[state.stage]
    if state.is_terminal and state.ended_reason:
        words = f"{words}: {state.ended_reason}"
    parts = [f"{state.stage or 'NEW'}: {words}"]
    if state.stage == Stage.AWAITING_SIGNATURES and state.agreement is not None:
        unsigned = [p for p in ("mentee", "mentor") if p not in state.agreement.signatures]
        if unsigned:
            parts.append(f"unsigned: {', '.join(unsigned)}")
    if state.stage == Stage.ACTIVE and state.next_meeting_due is not None:
        parts.append(f"{state.meetings_held} meetings; next due {state.next_meeting_due:%Y-%m-%d %H:%M} UTC")
    if state.stage == Stage.CLOSING_REVIEW:
        missing = [p for p in ("mentee", "mentor") if p not in state.reviews]
        parts.append(f"reviews missing: {', '.join(missing)}")
    due = next_due(state)
    if due is not None:
        parts.append(f"next timer: {due.waiting_for} at {due.at:%Y-%m-%d %H:%M:%S} UTC")
    if state.attention is not None:
        parts.append(f"ATTENTION {state.attention}")
    return " · ".join(parts)


def describe(state: PartnershipState) -> PartnershipStatus:
    due = next_due(state)
    agreement: dict[str, Any] | None = None
    if state.agreement is not None:
        agreement = state.agreement.model_dump(mode="json")
    return PartnershipStatus(
        partnership_id=state.partnership_id,
        stage=state.stage.value if state.stage else None,
        cohort_id=state.cohort_id,
        mentee_id=state.mentee_id,
        mentor_id=state.mentor_id,
        institution_id=state.institution_id,
        agreement=agreement,
        meetings_held=state.meetings_held,
        last_meeting_at=state.last_meeting_at,
        next_meeting_due=None if state.is_terminal else state.next_meeting_due,
        attention=state.attention.value if state.attention else None,
        hours={
            "meetings": state.meeting_hours,
            "gatherings": round(state.gathering_hours, 2),
            "total": state.total_hours,
            "target_min": state.policy.target_hours_min,
            "target_max": state.policy.target_hours_max,
        },
        diary_entries=state.diary_entries,
        gatherings_attended=state.gatherings_attended,
        next_deadline=Deadline(at=due.at, waiting_for=due.waiting_for) if due else None,
        waiting_for=waiting_for(state),
        last_rejection=state.last_rejection.model_dump(mode="json") if state.last_rejection else None,
        summary=state.summary.model_dump(mode="json") if state.summary else None,
        version=state.version,
        ended_reason=state.ended_reason if state.is_terminal else None,
        attention_reason=_attention_reason(state),
        attention_history=[record.model_dump(mode="json") for record in state.attention_history],
    )


def _attention_reason(state: PartnershipState) -> str | None:
    if state.attention is None:
        return None
    record = open_record(state)
    return describe_attention(record) if record is not None else state.attention.value


def search_attribute_updates(state: PartnershipState) -> list[SearchAttributeUpdate[Any]]:
    """The search attributes as they should be now; unset ones (no mentor, no attention) are removed."""
    sa = SearchAttributes
    updates: list[SearchAttributeUpdate[Any]] = [
        sa.STAGE.value_set(state.stage.value if state.stage else "NEW"),
        sa.MEETINGS_HELD.value_set(state.meetings_held),
    ]
    optional: list[tuple[Any, Any]] = [
        (sa.COHORT, state.cohort_id),
        (sa.MENTEE_ID, state.mentee_id),
        (sa.INSTITUTION, state.institution_id),
        (sa.MENTOR_ID, state.mentor_id),
        (sa.LAST_MEETING_AT, state.last_meeting_at),
        (sa.ATTENTION, state.attention.value if state.attention else None),
    ]
    for key, value in optional:
        updates.append(key.value_set(value) if value is not None else key.value_unset())
    return updates

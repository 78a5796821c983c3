"""How a partnership's state is published: the ``status`` view, search attributes and the UI's details line.

Deterministic and pure (no I/O); no personal data: ids, stages, counts and dates only.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeUpdate

from contract.partnership import (
    AgreementView,
    AttentionView,
    CheckinRoundView,
    Deadline,
    HoursView,
    PartnershipStatus,
    RejectionView,
    SearchAttributes,
    SummaryView,
)
from domain.partnership import PartnershipState, Stage, next_due
from domain.partnership.attention import describe as describe_attention
from domain.partnership.attention import open_record

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
    if state.stage == Stage.REJECTED and state.ended_reason:
        # the screening's reasons are the programme's own words (ids only); a withdrawal's or coordinator's
        # reason is free text and stays out of the UI's details (it is in the status query's ``ended_reason``)
        words = f"{words}: {state.ended_reason}"
    parts = [f"{state.stage or 'NEW'}: {words}"]
    if state.stage == Stage.AWAITING_SIGNATURES and state.agreement is not None:
        unsigned = state.unsigned
        if unsigned:
            parts.append(f"unsigned: {', '.join(unsigned)}")
    if state.stage == Stage.ACTIVE and state.next_meeting_due is not None:
        parts.append(f"{state.meetings_held} meetings; next due {state.next_meeting_due:%Y-%m-%d %H:%M} UTC")
    if state.stage == Stage.CLOSING_REVIEW:
        missing = state.reviews_missing
        parts.append(f"reviews missing: {', '.join(missing)}")
    if state.stage == Stage.REJECTED and state.ended_reason:
        parts.append(f"reason: {state.ended_reason}")
    due = next_due(state)
    if due is not None:
        parts.append(f"next timer: {due.waiting_for} at {due.at:%Y-%m-%d %H:%M:%S} UTC")
    if state.attention is not None:
        parts.append(f"ATTENTION {state.attention}")
    return " · ".join(parts)


def describe(state: PartnershipState) -> PartnershipStatus:
    """The status view. Fields named as in the state (counts, ids, dates) are copied as they are; only the ones
    shaped differently are built here, so a new state field shows in the status by adding it to the view."""
    due = next_due(state)
    shaped: dict[str, Any] = {
        "stage": state.stage.value if state.stage else None,
        "agreement": AgreementView.model_validate(state.agreement.model_dump()) if state.agreement else None,
        "attention": state.attention.value if state.attention else None,
        "hours": HoursView(
            meetings=state.meeting_hours,
            gatherings=round(state.gathering_hours, 2),
            total=state.total_hours,
            target_min=state.policy.target_hours_min,
            target_max=state.policy.target_hours_max,
        ),
        "next_deadline": Deadline(at=due.at, waiting_for=due.waiting_for) if due else None,
        "waiting_for": waiting_for(state),
        "last_rejection": (
            RejectionView.model_validate(state.last_rejection.model_dump()) if state.last_rejection else None
        ),
        "summary": SummaryView.model_validate(state.summary.model_dump()) if state.summary else None,
        "next_meeting_due": None if state.is_terminal else state.next_meeting_due,
        "ended_reason": state.ended_reason if state.is_terminal else None,
        "attention_reason": _attention_reason(state),
        "attention_history": [AttentionView.model_validate(r.model_dump()) for r in state.attention_history],
        "next_checkin_due": None if state.stage != Stage.ACTIVE else state.next_checkin_due,
        "checkins": [
            CheckinRoundView.model_validate(
                {
                    **r.model_dump(),
                    "waiting_for": [p.value for p in r.unanswered],
                    "low": any(a.low for a in r.answers.values()),
                }
            )
            for r in state.checkins
        ],
    }
    same = {name: getattr(state, name) for name in PartnershipStatus.model_fields if name not in shaped}
    return PartnershipStatus(**shaped, **same)


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

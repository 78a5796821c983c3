"""Events: facts about a partnership, appended to its log and folded by ``evolve``.

Every event says when it happened (``at``, the ``now`` the decision was taken at). Versions are the
position in the log and belong to the store's envelope, not to the event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from domain.frozen import Frozen
from domain.partnership.commands import (
    CoordinatorActionKind,
    GatheringKind,
    MenteeOutcome,
    Party,
)
from domain.partnership.state import Attention, Summary
from domain.people import Id, MenteeProfile
from domain.policy import Policy


class _Event(Frozen):
    at: datetime


class ApplicationSubmitted(_Event):
    type: Literal["application_submitted"] = "application_submitted"
    partnership_id: str
    cohort_id: Id
    mentee: MenteeProfile
    policy: Policy


class ApplicationAccepted(_Event):
    type: Literal["application_accepted"] = "application_accepted"


class ApplicationRejected(_Event):
    type: Literal["application_rejected"] = "application_rejected"
    reasons: tuple[str, ...]


class MatchProposed(_Event):
    type: Literal["match_proposed"] = "match_proposed"
    mentor_id: Id
    score: float | None = None
    reasons: tuple[str, ...] = ()
    topics: tuple[str, ...]
    meeting_cadence: timedelta
    signing_due: datetime


class AgreementAmended(_Event):
    """The terms changed before both had signed: earlier signatures no longer hold."""

    type: Literal["agreement_amended"] = "agreement_amended"
    party: Party
    topics: tuple[str, ...]
    meeting_cadence: timedelta


class AgreementSigned(_Event):
    type: Literal["agreement_signed"] = "agreement_signed"
    party: Party
    signature_ref: str | None = None


class PartnershipStarted(_Event):
    """Both signed: the six months run from here."""

    type: Literal["partnership_started"] = "partnership_started"
    starts_on: datetime
    ends_on: datetime
    next_meeting_due: datetime
    first_checkin_due: datetime | None = None
    """When the first check-in pulse survey is asked (None: no check-ins, as before they existed)."""


class SigningReminderDue(_Event):
    type: Literal["signing_reminder_due"] = "signing_reminder_due"
    parties: tuple[Party, ...]


class SignatureOverdue(_Event):
    type: Literal["signature_overdue"] = "signature_overdue"
    parties: tuple[Party, ...]


class MeetingLogged(_Event):
    type: Literal["meeting_logged"] = "meeting_logged"
    held_on: datetime
    minutes: int
    topics: tuple[str, ...] = ()
    notes: str | None = None
    next_meeting_due: datetime | None


class DiaryEntryAdded(_Event):
    type: Literal["diary_entry_added"] = "diary_entry_added"
    reflection: str
    goals: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()


class GatheringAttended(_Event):
    type: Literal["gathering_attended"] = "gathering_attended"
    gathering_id: Id
    kind: GatheringKind
    hours: float


class MeetingNudgeDue(_Event):
    """A meeting is overdue by the grace period: the pair is nudged."""

    type: Literal["meeting_nudge_due"] = "meeting_nudge_due"
    meeting_was_due: datetime


class MeetingLapsed(_Event):
    """A meeting is overdue past ``escalation_after``: a coordinator must step in."""

    type: Literal["meeting_lapsed"] = "meeting_lapsed"
    meeting_was_due: datetime


class CoordinatorIntervened(_Event):
    """A coordinator action that needs no state of its own beyond the record (nudge)."""

    type: Literal["coordinator_intervened"] = "coordinator_intervened"
    action: CoordinatorActionKind
    reason: str


class MeetingRescheduled(_Event):
    type: Literal["meeting_rescheduled"] = "meeting_rescheduled"
    reason: str
    next_meeting_due: datetime


class PartnershipPaused(_Event):
    type: Literal["partnership_paused"] = "partnership_paused"
    reason: str
    until: datetime | None = None


class PartnershipResumed(_Event):
    type: Literal["partnership_resumed"] = "partnership_resumed"
    reason: str
    paused_for: timedelta
    ends_on: datetime
    next_meeting_due: datetime


class PartnershipExtended(_Event):
    type: Literal["partnership_extended"] = "partnership_extended"
    reason: str
    ends_on: datetime


class RematchRequested(_Event):
    type: Literal["rematch_requested"] = "rematch_requested"
    reason: str
    previous_mentor_id: Id


class AttentionAcknowledged(_Event):
    """A coordinator has seen to it; the clock that raised it starts again from ``at``."""

    type: Literal["attention_acknowledged"] = "attention_acknowledged"
    attention: Attention
    reason: str
    rearmed_until: datetime


class PartyWithdrew(_Event):
    type: Literal["party_withdrew"] = "party_withdrew"
    party: Party
    reason: str
    summary: Summary | None = None
    """Set when the withdrawal ends the partnership (the mentee's)."""


class PartnershipEndedEarly(_Event):
    type: Literal["partnership_ended_early"] = "partnership_ended_early"
    reason: str
    summary: Summary


class ProgrammeEnded(_Event):
    """The agreed end date passed: the closing review opens."""

    type: Literal["programme_ended"] = "programme_ended"
    review_due: datetime


class ReviewReminderDue(_Event):
    type: Literal["review_reminder_due"] = "review_reminder_due"
    parties: tuple[Party, ...]


class ReviewOverdue(_Event):
    type: Literal["review_overdue"] = "review_overdue"
    parties: tuple[Party, ...]


class ClosingReviewSubmitted(_Event):
    type: Literal["closing_review_submitted"] = "closing_review_submitted"
    party: Party
    rating: int
    outcome: MenteeOutcome | None = None
    comments: str | None = None


class PartnershipCompleted(_Event):
    type: Literal["partnership_completed"] = "partnership_completed"
    closed_by: Literal["parties", "coordinator"]
    reason: str | None = None
    summary: Summary


class CheckinRequested(_Event):
    """A check-in round is asked of both parties; answers are due by ``due``."""

    type: Literal["checkin_requested"] = "checkin_requested"
    round: int
    due: datetime


class CheckinAnswered(_Event):
    """A party answered a check-in round. ``low``: a score of 2 or less, or not meeting as planned."""

    type: Literal["checkin_answered"] = "checkin_answered"
    round: int
    party: Party
    score: int
    meeting_as_planned: bool
    low: bool
    note: str | None = None
    """Free text for the coordinator: personal data."""


class CheckinNudgeDue(_Event):
    """A check-in round's window closed without every answer: the parties who did not answer are nudged (no
    escalation)."""

    type: Literal["checkin_nudge_due"] = "checkin_nudge_due"
    round: int
    parties: tuple[Party, ...]


class CohortChecked(_Event):
    """The cohort wait passed with no match: whether the cohort's workflow runs (if not, NO_COHORT)."""

    type: Literal["cohort_checked"] = "cohort_checked"
    running: bool


class CommandRejected(_Event):
    """A signal that made no sense in the state it met. Kept so the status can say why."""

    type: Literal["command_rejected"] = "command_rejected"
    command: str
    reason: str


Event = Annotated[
    ApplicationSubmitted
    | ApplicationAccepted
    | ApplicationRejected
    | MatchProposed
    | AgreementAmended
    | AgreementSigned
    | PartnershipStarted
    | SigningReminderDue
    | SignatureOverdue
    | MeetingLogged
    | DiaryEntryAdded
    | GatheringAttended
    | MeetingNudgeDue
    | MeetingLapsed
    | CoordinatorIntervened
    | MeetingRescheduled
    | PartnershipPaused
    | PartnershipResumed
    | PartnershipExtended
    | RematchRequested
    | AttentionAcknowledged
    | PartyWithdrew
    | PartnershipEndedEarly
    | ProgrammeEnded
    | ReviewReminderDue
    | ReviewOverdue
    | ClosingReviewSubmitted
    | PartnershipCompleted
    | CohortChecked
    | CheckinRequested
    | CheckinAnswered
    | CheckinNudgeDue
    | CommandRejected,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_LIST_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def parse_event(data: dict[str, object] | str | bytes, context: dict[str, object] | None = None) -> Event:
    """An event from its stored JSON (a dict, or JSON text). ``context``: the validation context (the records
    store passes one saying which strings are sealed, see ``domain.limits.SEALED_CONTEXT_KEY``)."""
    if isinstance(data, str | bytes):
        return EVENT_ADAPTER.validate_json(data, context=context)
    return EVENT_ADAPTER.validate_python(data, context=context)


def event_json(event: Event) -> dict[str, object]:
    """The canonical JSON form of an event, as stored."""
    return event.model_dump(mode="json")

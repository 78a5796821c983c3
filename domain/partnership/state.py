"""The state of one partnership: frozen, and only ever produced by folding events through ``evolve``."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.people import MenteeProfile
from domain.policy import Policy


class Stage(StrEnum):
    APPLIED = "APPLIED"
    AWAITING_MATCH = "AWAITING_MATCH"
    AWAITING_SIGNATURES = "AWAITING_SIGNATURES"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CLOSING_REVIEW = "CLOSING_REVIEW"
    COMPLETED = "COMPLETED"
    WITHDRAWN = "WITHDRAWN"
    REJECTED = "REJECTED"
    ENDED_EARLY = "ENDED_EARLY"


TERMINAL_STAGES = frozenset({Stage.COMPLETED, Stage.WITHDRAWN, Stage.REJECTED, Stage.ENDED_EARLY})


class Attention(StrEnum):
    """What a coordinator must see. One at a time: the most recent need."""

    SIGNATURE_OVERDUE = "SIGNATURE_OVERDUE"
    MEETING_LAPSED = "MEETING_LAPSED"
    REVIEW_OVERDUE = "REVIEW_OVERDUE"
    MENTOR_WITHDREW = "MENTOR_WITHDREW"


class LapseLevel(StrEnum):
    ON_TRACK = "on_track"
    NUDGED = "nudged"
    ESCALATED = "escalated"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Signature(_Frozen):
    signed_at: datetime
    signature_ref: str | None = None


class Agreement(_Frozen):
    """The Mentoring Partnership Agreement. Dates are set once both have signed."""

    topics: tuple[str, ...]
    meeting_cadence: timedelta
    confidentiality: bool = True
    signing_due: datetime
    signatures: dict[str, Signature] = {}
    starts_on: datetime | None = None
    ends_on: datetime | None = None


class Review(_Frozen):
    rating: int
    outcome: str | None = None
    submitted_at: datetime


class AttentionRecord(_Frozen):
    """One time a coordinator was needed: raised by what, with its particulars, and cleared by what.

    Kept for ever in the state (``attention_history``), so a lapse stays visible after the programme ends.
    ``raised_by`` and ``cleared_by`` are the types of the events that did it (``meeting_lapsed``,
    ``attention_acknowledged``, ``meeting_logged``, ...): a coordinator's action, a party's or a timer's."""

    attention: Attention
    raised_at: datetime
    raised_by: str
    parties: tuple[str, ...] = ()
    """Who had not acted (signatures or reviews missing)."""
    due: datetime | None = None
    """What was due and was missed: the meeting, the signatures, the reviews."""
    reason: str | None = None
    """The reason given (a mentor's withdrawal)."""
    cleared_at: datetime | None = None
    cleared_by: str | None = None
    cleared_reason: str | None = None
    """The coordinator's reason, when a coordinator's action cleared it."""


class Rejection(_Frozen):
    command: str
    reason: str
    at: datetime


class Summary(_Frozen):
    """The final account of a partnership."""

    stage: Stage
    meetings_held: int
    meeting_hours: float
    gathering_hours: float
    total_hours: float
    target_hours_min: float
    target_hours_max: float
    diary_entries: int
    gatherings_attended: int
    mentee_outcome: str | None = None
    ratings: dict[str, int] = {}


class PartnershipState(_Frozen):
    partnership_id: str
    version: int = 0
    stage: Stage | None = None
    cohort_id: str | None = None
    mentee: MenteeProfile | None = None
    policy: Policy = Policy()
    mentor_id: str | None = None
    previous_mentor_ids: tuple[str, ...] = ()
    rematch_reasons: tuple[str, ...] = ()
    match_score: float | None = None
    match_reasons: tuple[str, ...] = ()
    matched_at: datetime | None = None
    agreement: Agreement | None = None
    signing_reminded: bool = False
    signing_overdue: bool = False
    meetings_held: int = 0
    meeting_minutes: int = 0
    last_meeting_at: datetime | None = None
    next_meeting_due: datetime | None = None
    lapse: LapseLevel = LapseLevel.ON_TRACK
    diary_entries: int = 0
    gatherings_attended: int = 0
    gathering_hours: float = 0.0
    attended_gathering_ids: tuple[str, ...] = ()
    """The gatherings counted, in the order attended: a gathering counts once (retried deliveries included)."""
    attention: Attention | None = None
    attention_history: tuple[AttentionRecord, ...] = ()
    """Every attention raised, oldest first, the open one (if any) last; see :class:`AttentionRecord`."""
    mentor_withdrawn: bool = False
    paused_at: datetime | None = None
    pause_until: datetime | None = None
    review_opened_at: datetime | None = None
    review_due: datetime | None = None
    review_reminded: bool = False
    review_overdue: bool = False
    reviews: dict[str, Review] = {}
    interventions: int = 0
    lapses: int = 0
    summary: Summary | None = None
    last_rejection: Rejection | None = None
    ended_reason: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.stage in TERMINAL_STAGES

    @property
    def institution_id(self) -> str | None:
        return self.mentee.institution_id if self.mentee else None

    @property
    def mentee_id(self) -> str | None:
        return self.mentee.mentee_id if self.mentee else None

    @property
    def meeting_hours(self) -> float:
        return round(self.meeting_minutes / 60, 2)

    @property
    def total_hours(self) -> float:
        return round(self.meeting_hours + self.gathering_hours, 2)

    def summarise(self, stage: Stage) -> Summary:
        mentee_review = self.reviews.get("mentee")
        return Summary(
            stage=stage,
            meetings_held=self.meetings_held,
            meeting_hours=self.meeting_hours,
            gathering_hours=round(self.gathering_hours, 2),
            total_hours=self.total_hours,
            target_hours_min=self.policy.target_hours_min,
            target_hours_max=self.policy.target_hours_max,
            diary_entries=self.diary_entries,
            gatherings_attended=self.gatherings_attended,
            mentee_outcome=mentee_review.outcome if mentee_review else None,
            ratings={party: review.rating for party, review in sorted(self.reviews.items())},
        )

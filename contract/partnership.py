"""The Partnership workflow's contract: one mentee's partnership, from application to closing review."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from contract.common import STATUS_QUERY, TASK_QUEUE, Deadline, SearchAttributes, message_name, message_table
from domain.limits import Line, Lines, at_most
from domain.partnership import commands as c
from domain.people import Contact, DegreeLevel, Id, MenteeProfile, Sector
from domain.policy import Policy

WORKFLOW_TYPE = "Partnership"
ID_PREFIX = "partnership-"


def partnership_id(cohort_id: str, mentee_id: str) -> str:
    """The workflow ID: ``partnership-{cohort_id}-{mentee_id}``. Ids are opaque, never names or e-mails."""
    return f"{ID_PREFIX}{cohort_id}-{mentee_id}"


MESSAGES: Mapping[str, type[BaseModel]] = message_table(
    c.ProposeMatch,
    c.SignAgreement,
    c.LogMeeting,
    c.AddDiaryEntry,
    c.RecordGathering,
    c.CoordinatorAction,
    c.Withdraw,
    c.SubmitClosingReview,
    c.AnswerCheckin,
)
"""Each message is a signal and an update of the same name, carrying one JSON object: the command of that ``type``.
The update answers with the new :class:`PartnershipStatus` or is rejected (non-retryable) with the reason."""


class Application(BaseModel):
    """The workflow's input: one mentee's application, as a university application system sends it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cohort_id: Id
    mentee_id: Id
    institution_id: Id
    degree_level: DegreeLevel
    year_of_study: int | None = Field(default=None, ge=1, le=12)
    field: Line
    interests: Lines = ()
    languages: Lines = ()
    goals: Lines = ()
    preferred_sector: Sector | None = None
    contact: Contact | None = None
    """Moved into the people registry by the first activity; the workflow keeps only the id."""
    policy: Annotated[dict[str, Any], at_most("POLICY_OVERRIDES")] | None = None
    """Overrides of any policy duration (ISO 8601 or seconds), e.g. {"meeting_cadence": "P21D"}."""

    @property
    def workflow_id(self) -> str:
        return partnership_id(self.cohort_id, self.mentee_id)

    def mentee_profile(self) -> MenteeProfile:
        return MenteeProfile(
            mentee_id=self.mentee_id,
            degree_level=self.degree_level,
            year_of_study=self.year_of_study,
            institution_id=self.institution_id,
            field=self.field,
            interests=self.interests,
            languages=self.languages,
            goals=self.goals,
            preferred_sector=self.preferred_sector,
        )

    def resolved_policy(self) -> Policy:
        return Policy().with_overrides(self.policy)


class SignatureView(BaseModel):
    signed_at: datetime
    signature_ref: str | None = None


class AgreementView(BaseModel):
    """The Mentoring Partnership Agreement as the status shows it. Dates are set once both have signed."""

    topics: list[str]
    meeting_cadence: timedelta
    confidentiality: bool = True
    signing_due: datetime
    signatures: dict[str, SignatureView] = {}
    """Party (``mentee`` | ``mentor``) -> its signature."""
    starts_on: datetime | None = None
    ends_on: datetime | None = None


class RejectionView(BaseModel):
    """The last command refused: its name, why, and when."""

    command: str
    reason: str
    at: datetime


class SummaryView(BaseModel):
    """The final account of a partnership, once it has ended."""

    stage: str
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


class HoursView(BaseModel):
    meetings: float
    gatherings: float
    total: float
    target_min: float
    target_max: float


class AttentionView(BaseModel):
    """One time a coordinator was needed: raised by what (an event type), with its particulars, and cleared by
    what (``domain.partnership.state.AttentionRecord``)."""

    attention: str
    raised_at: datetime
    raised_by: str
    parties: list[str] = []
    """Who had not acted (signatures or reviews missing)."""
    due: datetime | None = None
    reason: str | None = None
    cleared_at: datetime | None = None
    cleared_by: str | None = None
    cleared_reason: str | None = None


class CheckinAnswerView(BaseModel):
    """One party's answer to a check-in round (its note, free text, is in the records only)."""

    score: int
    meeting_as_planned: bool
    answered_at: datetime


class CheckinRoundView(BaseModel):
    """One check-in pulse survey round: asked of both parties, answers due by ``due``."""

    round: int
    asked_at: datetime
    due: datetime
    answers: dict[str, CheckinAnswerView] = {}
    """Party (``mentee`` | ``mentor``) -> its answer."""
    waiting_for: list[str] = []
    """The parties who have not answered yet."""
    nudged: bool = False
    """The window closed with answers missing; those parties were nudged."""
    nudged_parties: list[str] = []
    """Who was nudged (a late answer still counts)."""
    low: bool = False
    """Some answer was low (a score of 2 or less, or not meeting as planned)."""


class PartnershipStatus(BaseModel):
    """What the ``status`` query and every update return: the partnership as operations staff see it."""

    partnership_id: str
    stage: str | None
    cohort_id: str | None
    mentee_id: str | None
    mentor_id: str | None
    institution_id: str | None
    agreement: AgreementView | None
    meetings_held: int
    last_meeting_at: datetime | None
    next_meeting_due: datetime | None
    attention: str | None
    hours: HoursView
    diary_entries: int
    gatherings_attended: int
    next_deadline: Deadline | None
    waiting_for: str
    last_rejection: RejectionView | None
    summary: SummaryView | None
    version: int
    ended_reason: str | None = None
    """Why a terminal stage was reached: the screening's reasons, the withdrawal's or the coordinator's."""
    attention_reason: str | None = None
    """What the open attention is about, in words."""
    attention_history: list[AttentionView] = []
    """Every attention raised and how it was cleared, oldest first (the open one, if any, last)."""
    next_checkin_due: datetime | None = None
    """When the next check-in round is asked (None: none to come)."""
    checkins: list[CheckinRoundView] = []
    """Every check-in round asked, oldest first; the latest takes answers (``answer_checkin``)."""


__all__ = [
    "ID_PREFIX",
    "MESSAGES",
    "STATUS_QUERY",
    "TASK_QUEUE",
    "WORKFLOW_TYPE",
    "AgreementView",
    "Application",
    "AttentionView",
    "CheckinAnswerView",
    "CheckinRoundView",
    "Deadline",
    "HoursView",
    "PartnershipStatus",
    "RejectionView",
    "SearchAttributes",
    "SignatureView",
    "SummaryView",
    "message_name",
    "partnership_id",
]

"""The public contract of the Partnership workflow: names integrations depend on. Keep them stable.

Pure declarations (pydantic and Temporal's typed search-attribute keys); no I/O. Shared by the workflow,
the worker, the command line and (later) the integration gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import SearchAttributeKey

from domain.partnership import commands as c
from domain.people import Contact, DegreeLevel, Id, MenteeProfile, Sector
from domain.policy import Policy

WORKFLOW_TYPE = "Partnership"
DEFAULT_TASK_QUEUE = "entrypoint"
STATUS_QUERY = "status"


def partnership_id(cohort_id: str, mentee_id: str) -> str:
    """The workflow ID: ``partnership-{cohort_id}-{mentee_id}``. Ids are opaque, never names or e-mails."""
    return f"partnership-{cohort_id}-{mentee_id}"


# Signals (and updates of the same name) -> the command each one carries. The command's ``type`` is the name.
SIGNAL_COMMANDS: dict[str, type[c._Command]] = {
    "match_proposed": c.ProposeMatch,
    "sign_agreement": c.SignAgreement,
    "log_meeting": c.LogMeeting,
    "add_diary_entry": c.AddDiaryEntry,
    "gathering_attended": c.RecordGathering,
    "coordinator_action": c.CoordinatorAction,
    "withdraw": c.Withdraw,
    "submit_closing_review": c.SubmitClosingReview,
}


class SearchAttributes:
    """Custom search attributes, registered by ``entrypoint setup`` and kept current by the workflow."""

    COHORT = SearchAttributeKey.for_keyword("EpCohort")
    STAGE = SearchAttributeKey.for_keyword("EpStage")
    MENTEE_ID = SearchAttributeKey.for_keyword("EpMenteeId")
    MENTOR_ID = SearchAttributeKey.for_keyword("EpMentorId")
    INSTITUTION = SearchAttributeKey.for_keyword("EpInstitution")
    MEETINGS_HELD = SearchAttributeKey.for_int("EpMeetingsHeld")
    LAST_MEETING_AT = SearchAttributeKey.for_datetime("EpLastMeetingAt")
    ATTENTION = SearchAttributeKey.for_keyword("EpAttention")

    @classmethod
    def all(cls) -> list[SearchAttributeKey[Any]]:
        return [
            cls.COHORT,
            cls.STAGE,
            cls.MENTEE_ID,
            cls.MENTOR_ID,
            cls.INSTITUTION,
            cls.MEETINGS_HELD,
            cls.LAST_MEETING_AT,
            cls.ATTENTION,
        ]


class Application(BaseModel):
    """The workflow's input: one mentee's application, as a university application system sends it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cohort_id: Id
    mentee_id: Id
    institution_id: Id
    degree_level: DegreeLevel
    year_of_study: int | None = Field(default=None, ge=1, le=12)
    field: str = Field(min_length=1, max_length=200)
    interests: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    preferred_sector: Sector | None = None
    contact: Contact | None = None
    """Moved into the people registry by the first activity; the workflow keeps only the id."""
    policy: dict[str, Any] | None = None
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


class Deadline(BaseModel):
    at: datetime
    waiting_for: str


class PartnershipStatus(BaseModel):
    """What the ``status`` query and every update return: the partnership as operations staff see it."""

    partnership_id: str
    stage: str | None
    cohort_id: str | None
    mentee_id: str | None
    mentor_id: str | None
    institution_id: str | None
    agreement: dict[str, Any] | None
    meetings_held: int
    last_meeting_at: datetime | None
    next_meeting_due: datetime | None
    attention: str | None
    hours: dict[str, float]
    diary_entries: int
    gatherings_attended: int
    next_deadline: Deadline | None
    waiting_for: str
    last_rejection: dict[str, Any] | None
    summary: dict[str, Any] | None
    version: int
    ended_reason: str | None = None
    """Why a terminal stage was reached: the screening's reasons, the withdrawal's or the coordinator's."""
    attention_reason: str | None = None
    """What the open attention is about, in words."""
    attention_history: list[dict[str, Any]] = []
    """Every attention raised and how it was cleared (domain.partnership.state.AttentionRecord), oldest first."""


# ---------------------------------------------------------------------------------------------- Gathering
# The Gathering workflow: one subject group meeting (up to 20) or collective meeting (about 100).

GATHERING_WORKFLOW_TYPE = "Gathering"
GATHERING_UPDATES = ("register", "cancel_registration", "record_attendance", "cancel_gathering")
"""Updates, each with one JSON object; each returns the new ``GatheringStatus`` or is rejected with the reason."""


def gathering_workflow_id(cohort_id: str, gathering_id: str) -> str:
    """The workflow ID: ``gathering-{cohort_id}-{gathering_id}``."""
    return f"gathering-{cohort_id}-{gathering_id}"


class GatheringSearchAttributes:
    """The Gathering workflow keeps ``EpCohort``, ``EpStage`` and (when closed unrecorded) ``EpAttention``
    current, plus ``EpGatheringKind`` (``group`` | ``collective``)."""

    KIND = SearchAttributeKey.for_keyword("EpGatheringKind")

    @classmethod
    def all(cls) -> list[SearchAttributeKey[Any]]:
        return [cls.KIND]


class GatheringStatus(BaseModel):
    """What the ``status`` query and every update of a gathering return. Ids only, no personal data."""

    gathering_key: str
    gathering_id: str | None
    cohort_id: str | None
    kind: str | None
    subject: str | None
    place: str | None
    stage: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    capacity: int
    registered: list[str]
    waitlist: list[str]
    reminded_at: datetime | None
    reminded: int
    attendance: dict[str, float]
    """Registrant id -> hours credited."""
    delivery: dict[str, Any]
    """``signalled`` (ids whose partnership was told), ``skipped`` (id -> reason), ``pending`` (ids)."""
    attendance_closes_at: datetime | None
    next_deadline: Deadline | None
    waiting_for: str
    """The one line shown as the current details in the Temporal UI."""
    cancelled_reason: str | None
    note: str | None
    attention: str | None
    version: int

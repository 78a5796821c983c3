"""Commands: what someone (or a timer) asks of a partnership. ``decide`` answers with events or a rejection."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from domain.frozen import Frozen
from domain.limits import Line, Lines, Notes, OptionalText, Text
from domain.people import Id, Institution, MenteeProfile
from domain.policy import Policy

Topic = Line
"""Kept for importers: a topic, goal or action is one line (see ``domain.limits``)."""


class Party(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"


class GatheringKind(StrEnum):
    GROUP = "group"
    COLLECTIVE = "collective"


class CoordinatorActionKind(StrEnum):
    NUDGE = "nudge"
    RESCHEDULE = "reschedule"
    PAUSE = "pause"
    RESUME = "resume"
    EXTEND = "extend"
    REMATCH = "rematch"
    END_EARLY = "end_early"
    ACKNOWLEDGE = "acknowledge"
    CLOSE_REVIEW = "close_review"


class MenteeOutcome(StrEnum):
    EMPLOYED_IN_FIELD = "employed_in_field"
    EMPLOYED_OUTSIDE_FIELD = "employed_outside_field"
    FURTHER_STUDIES = "further_studies"
    STILL_SEEKING = "still_seeking"
    OTHER = "other"


class _Command(Frozen):
    """Every command: frozen, no unknown fields."""


class SubmitApplication(_Command):
    type: Literal["submit_application"] = "submit_application"
    cohort_id: Id
    mentee: MenteeProfile
    policy: Policy = Policy()


class RejectMalformedApplication(_Command):
    """The workflow's input was not a valid application: end the partnership before it starts, saying why."""

    type: Literal["reject_malformed_application"] = "reject_malformed_application"
    reason: str


class ScreenApplication(_Command):
    """The facts screening needs, looked up by the caller: the institution as registered (None if unknown)."""

    type: Literal["screen_application"] = "screen_application"
    institution: Institution | None


class ProposeMatch(_Command):
    type: Literal["match_proposed"] = "match_proposed"
    mentor_id: Id
    score: float | None = None
    reasons: Lines = ()


class SignAgreement(_Command):
    """A party signs the Mentoring Partnership Agreement. Changing its terms clears earlier signatures."""

    type: Literal["sign_agreement"] = "sign_agreement"
    party: Party
    signature_ref: Line | None = None
    topics: Lines | None = None
    meeting_cadence_days: int | None = Field(default=None, ge=7, le=92)


class LogMeeting(_Command):
    type: Literal["log_meeting"] = "log_meeting"
    kind: Literal["pair"] = "pair"
    held_on: datetime | None = None
    minutes: int = Field(ge=5, le=600)
    topics: Lines = ()
    notes: Notes | None = None


class AddDiaryEntry(_Command):
    type: Literal["add_diary_entry"] = "add_diary_entry"
    reflection: Text
    goals: Lines = ()
    actions: Lines = ()


class RecordGathering(_Command):
    type: Literal["gathering_attended"] = "gathering_attended"
    gathering_id: Id
    kind: GatheringKind
    hours: float = Field(gt=0, le=12)


class CoordinatorAction(_Command):
    type: Literal["coordinator_action"] = "coordinator_action"
    action: CoordinatorActionKind
    reason: Text
    until: datetime | None = None


class Withdraw(_Command):
    type: Literal["withdraw"] = "withdraw"
    party: Party
    reason: Text


class SubmitClosingReview(_Command):
    type: Literal["submit_closing_review"] = "submit_closing_review"
    party: Party
    rating: int = Field(ge=1, le=5)
    outcome: MenteeOutcome | None = None
    comments: OptionalText | None = None


class AnswerCheckin(_Command):
    """A party answers the check-in pulse survey (the latest round asked; ``round`` guards against a stale form)."""

    type: Literal["answer_checkin"] = "answer_checkin"
    party: Party
    score: int = Field(ge=1, le=5)
    """How is it going: 1 (badly) to 5 (very well). 2 or less raises CHECKIN_LOW."""
    meeting_as_planned: bool
    """Are you meeting as planned? No raises CHECKIN_LOW."""
    note: OptionalText | None = None
    """Anything the coordinator should know (personal data: never in logs, ids, summaries or details)."""
    round: int | None = Field(default=None, ge=1)
    """The round answered (1, 2, ...); None: the latest one asked."""


class Tick(_Command):
    """A timer fired: raise whatever reminders, escalations and stage changes are due at ``now``."""

    type: Literal["tick"] = "tick"
    cohort_running: bool | None = None
    """Whether a Cohort workflow runs for the partnership's cohort, looked up by the caller when the cohort wait
    is what fell due (None otherwise)."""


Command = Annotated[
    SubmitApplication
    | RejectMalformedApplication
    | ScreenApplication
    | ProposeMatch
    | SignAgreement
    | LogMeeting
    | AddDiaryEntry
    | RecordGathering
    | CoordinatorAction
    | Withdraw
    | SubmitClosingReview
    | AnswerCheckin
    | Tick,
    Field(discriminator="type"),
]

"""The state of one partnership: frozen, and only ever produced by folding events through ``evolve``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import model_validator

from domain.frozen import Frozen
from domain.partnership.commands import Party
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

ADDED_SINCE_RELEASE = frozenset(
    {"meetings_today", "diary_today", "awaiting_match_since", "cohort_checked", "attention_history"}
)
"""Fields a state stored by an earlier release lacks and only the log knows (per-day limits, the cohort check,
the attention history): a stored state without them agrees with its folded log whatever they fold to (``records
verify``, the release tests); the records load such a row by folding its log (activities/records/log.py
``stored_state``), so what the log says of them is not lost."""
MATCHED_STAGES = frozenset({Stage.AWAITING_SIGNATURES, Stage.ACTIVE, Stage.PAUSED})
"""The stages in which a match stands: the partnership holds one of its mentor's slots."""
PAIR = (Party.MENTEE, Party.MENTOR)


def missing(done: Mapping[str, object]) -> tuple[Party, ...]:
    """The parties of the pair not in ``done`` (signatures, reviews), mentee first."""
    return tuple(party for party in PAIR if party not in done)


class Attention(StrEnum):
    """What a coordinator must see. One at a time: the most recent need."""

    SIGNATURE_OVERDUE = "SIGNATURE_OVERDUE"
    MEETING_LAPSED = "MEETING_LAPSED"
    REVIEW_OVERDUE = "REVIEW_OVERDUE"
    MENTOR_WITHDREW = "MENTOR_WITHDREW"
    NO_COHORT = "NO_COHORT"
    """Waiting for a match, and no Cohort workflow is running for its cohort: nobody will ever match it."""
    CHECKIN_LOW = "CHECKIN_LOW"
    """A check-in answer was low (a score of 2 or less, or not meeting as planned)."""


class LapseLevel(StrEnum):
    ON_TRACK = "on_track"
    NUDGED = "nudged"
    ESCALATED = "escalated"


class Signature(Frozen):
    signed_at: datetime
    signature_ref: str | None = None


class Agreement(Frozen):
    """The Mentoring Partnership Agreement. Dates are set once both have signed."""

    topics: tuple[str, ...]
    meeting_cadence: timedelta
    confidentiality: bool = True
    signing_due: datetime
    signatures: dict[str, Signature] = {}
    starts_on: datetime | None = None
    ends_on: datetime | None = None


class Review(Frozen):
    rating: int
    outcome: str | None = None
    submitted_at: datetime


class AttentionRecord(Frozen):
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


CHECKIN_LOW_SCORE = 2
"""A check-in score at or below this is low (CHECKIN_LOW)."""


class CheckinAnswer(Frozen):
    """One party's answer to a check-in round (the free-text note stays in the event, not in the state)."""

    score: int
    meeting_as_planned: bool
    answered_at: datetime

    @property
    def low(self) -> bool:
        return self.score <= CHECKIN_LOW_SCORE or not self.meeting_as_planned


class CheckinRound(Frozen):
    """One check-in pulse survey: asked of both parties at ``asked_at``, answers due by ``due``."""

    round: int
    asked_at: datetime
    due: datetime
    answers: dict[str, CheckinAnswer] = {}
    """Party (``mentee`` | ``mentor``) -> its answer."""
    nudged: bool = False
    """The window closed with answers missing and those parties were nudged."""
    nudged_parties: tuple[str, ...] = ()
    """Who was nudged (a late answer still counts; they stay here)."""

    @property
    def unanswered(self) -> tuple[Party, ...]:
        return missing(self.answers)

    @property
    def open(self) -> bool:
        """Its window timer is still to fire: answers are missing and nobody has been nudged yet."""
        return not self.nudged and bool(self.unanswered)


class Rejection(Frozen):
    command: str
    reason: str
    at: datetime


class Summary(Frozen):
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


class Clock(Frozen):
    """The two steps of a deadline: the reminder went out, then the deadline passed."""

    reminded: bool = False
    overdue: bool = False


class Pause(Frozen):
    at: datetime
    until: datetime | None = None
    """None: until a coordinator resumes it."""


class ReviewWindow(Frozen):
    """The closing review: open from the end of the programme until ``due``."""

    opened_at: datetime
    due: datetime


_FLAT_CLOCK_FIELDS = (
    "signing_reminded",
    "signing_overdue",
    "paused_at",
    "pause_until",
    "review_opened_at",
    "review_due",
    "review_reminded",
    "review_overdue",
)


def _lift_flat_clock_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A state stored before the clocks were grouped (flat ``signing_reminded``, ``paused_at``, ``review_due``
    ...) in today's shape. Stored states are read by every later release."""
    data = dict(data)
    old = {name: data.pop(name) for name in _FLAT_CLOCK_FIELDS if name in data}
    for clock in ("signing", "review"):
        if f"{clock}_reminded" in old or f"{clock}_overdue" in old:
            flags = {"reminded": old.get(f"{clock}_reminded", False), "overdue": old.get(f"{clock}_overdue", False)}
            data.setdefault(f"{clock}_clock", flags)
    if old.get("paused_at") is not None:
        data.setdefault("pause", {"at": old["paused_at"], "until": old.get("pause_until")})
    if old.get("review_opened_at") is not None and old.get("review_due") is not None:
        data.setdefault("review_window", {"opened_at": old["review_opened_at"], "due": old["review_due"]})
    return data


class DayCount(Frozen):
    """How many of something a partnership took on one day (UTC): for the per-day limits."""

    day: date
    count: int


class PartnershipState(Frozen):
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
    awaiting_match_since: datetime | None = None
    cohort_checked: bool = False
    """The cohort wait has passed and whether the cohort runs was looked at (once per wait)."""
    agreement: Agreement | None = None
    signing_clock: Clock = Clock()
    """The signing deadline's clock (its date is the agreement's ``signing_due``)."""
    meetings_held: int = 0
    meeting_minutes: int = 0
    last_meeting_at: datetime | None = None
    next_meeting_due: datetime | None = None
    lapse: LapseLevel = LapseLevel.ON_TRACK
    diary_entries: int = 0
    diary_today: DayCount | None = None
    """Diary entries added on the day of the last one (``limits.DIARY_ENTRIES_PER_DAY``)."""
    meetings_today: DayCount | None = None
    """Meetings logged on the day of the last one (``limits.MEETINGS_PER_DAY``)."""
    gatherings_attended: int = 0
    gathering_hours: float = 0.0
    attended_gathering_ids: tuple[str, ...] = ()
    """The gatherings counted, in the order attended: a gathering counts once (retried deliveries included)."""
    attention: Attention | None = None
    attention_history: tuple[AttentionRecord, ...] = ()
    """Every attention raised, oldest first, the open one (if any) last; see :class:`AttentionRecord`."""
    mentor_withdrawn: bool = False
    pause: Pause | None = None
    """Set while PAUSED."""
    review_window: ReviewWindow | None = None
    """Set once the programme has ended (CLOSING_REVIEW and after)."""
    review_clock: Clock = Clock()
    """The closing review deadline's clock (its date is the window's ``due``)."""
    reviews: dict[str, Review] = {}
    next_checkin_due: datetime | None = None
    """When the next check-in round is asked (None: no more, or no check-ins for this partnership)."""
    checkins: tuple[CheckinRound, ...] = ()
    """Every check-in round asked, oldest first; the latest takes answers."""
    interventions: int = 0
    lapses: int = 0
    summary: Summary | None = None
    last_rejection: Rejection | None = None
    ended_reason: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _stored_before_the_clocks_were_grouped(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(name in data for name in _FLAT_CLOCK_FIELDS):
            return _lift_flat_clock_fields(data)
        return data

    @property
    def is_terminal(self) -> bool:
        return self.stage in TERMINAL_STAGES

    @property
    def unsigned(self) -> tuple[Party, ...]:
        """Who still has to sign the agreement (both, while there is none)."""
        return missing(self.agreement.signatures if self.agreement else {})

    @property
    def reviews_missing(self) -> tuple[Party, ...]:
        """Who still has to submit the closing review."""
        return missing(self.reviews)

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

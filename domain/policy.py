"""The programme policy: every duration the lifecycle waits on, and the time-commitment target.

Durations accept ISO 8601 (``"P30D"``, ``"PT10S"``) or a number of seconds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from domain.frozen import Frozen
from domain.people import DegreeLevel

DEFAULT_COHORT_WAIT = timedelta(days=14)
"""How long a new partnership waits for a match before it checks that its cohort exists."""
DEFAULT_CHECKIN_FIRST = timedelta(days=30)
"""From the start of the agreement to the first check-in pulse survey, for partnerships that do not set it."""


class Policy(Frozen):
    signing_deadline: timedelta = timedelta(days=14)
    """After a match, both parties must sign the agreement within this; then a coordinator is told."""
    signing_reminder: timedelta = timedelta(days=7)
    """After a match, the parties who have not signed are reminded."""
    meeting_cadence: timedelta = timedelta(days=30)
    """Default time between pair meetings; the pair may set its own in the agreement."""
    lapse_grace: timedelta = timedelta(days=7)
    """A meeting overdue by this much: the pair is nudged."""
    escalation_after: timedelta = timedelta(days=21)
    """A meeting overdue by this much: a coordinator is told (MEETING_LAPSED)."""
    programme_length: timedelta = timedelta(days=182)
    review_window: timedelta = timedelta(days=14)
    """After the programme ends, both parties have this long for the closing review."""
    review_reminder: timedelta = timedelta(days=7)
    cohort_wait: timedelta | None = None
    """Waiting for a match this long with no Cohort workflow running for the cohort: a coordinator is told
    (NO_COHORT). None: no such check (partnerships from before it); new ones get ``DEFAULT_COHORT_WAIT``."""
    checkin_first: timedelta | None = None
    """From the start of the agreement (both signatures) to the first check-in pulse survey. None: no check-ins
    (partnerships from before them); new ones get ``DEFAULT_CHECKIN_FIRST``."""
    checkin_every: timedelta = timedelta(days=60)
    """Then a check-in every this long, while mentoring is under way (pausing stops this clock)."""
    checkin_window: timedelta = timedelta(days=14)
    """Each check-in is open for answers this long; a party who has not answered by then is nudged (once)."""
    target_hours_min: float = Field(default=16.0, ge=0)
    target_hours_max: float = Field(default=24.0, ge=0)
    """The time commitment: about 2-3 working days in total."""
    eligible_degree_levels: tuple[DegreeLevel, ...] = tuple(DegreeLevel)

    @field_validator(
        "signing_deadline",
        "signing_reminder",
        "meeting_cadence",
        "lapse_grace",
        "escalation_after",
        "programme_length",
        "review_window",
        "review_reminder",
        "cohort_wait",
        "checkin_first",
        "checkin_every",
        "checkin_window",
    )
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be a positive duration (ISO 8601 such as P30D, or seconds)")
        return value

    @field_validator("eligible_degree_levels")
    @classmethod
    def _canonical_levels(cls, value: tuple[DegreeLevel, ...]) -> tuple[DegreeLevel, ...]:
        if not value:
            raise ValueError("at least one degree level must be eligible")
        order = list(DegreeLevel)
        return tuple(sorted(set(value), key=order.index))

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.signing_reminder >= self.signing_deadline:
            raise ValueError("signing_reminder must come before signing_deadline")
        if self.lapse_grace >= self.escalation_after:
            raise ValueError("lapse_grace must be shorter than escalation_after")
        if self.review_reminder >= self.review_window:
            raise ValueError("review_reminder must come before the end of review_window")
        if self.checkin_window >= self.checkin_every:
            raise ValueError("checkin_window must be shorter than checkin_every")
        if self.target_hours_min > self.target_hours_max:
            raise ValueError("target_hours_min must not exceed target_hours_max")
        return self

    def with_overrides(self, overrides: dict[str, Any] | None) -> Policy:
        """This policy with some fields replaced (validated as a whole)."""
        if not overrides:
            return self
        return Policy.model_validate({**self.model_dump(), **overrides})

    @classmethod
    def fast(cls, unit: timedelta = timedelta(seconds=1)) -> Policy:
        """A demo policy: one day of the real programme lasts ``unit``."""
        day = unit
        return cls(
            signing_deadline=14 * day,
            signing_reminder=7 * day,
            meeting_cadence=30 * day,
            lapse_grace=7 * day,
            escalation_after=21 * day,
            programme_length=182 * day,
            review_window=14 * day,
            review_reminder=7 * day,
            checkin_first=30 * day,
            checkin_every=60 * day,
            checkin_window=14 * day,
        )

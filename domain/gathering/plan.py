"""The plan of one gathering: a subject group meeting (up to 20) or a collective meeting (about 100).

Durations accept ISO 8601 (``"P2D"``, ``"PT12H"``) or a number of seconds, as the policy does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from domain.frozen import Frozen
from domain.limits import Line, at_most
from domain.partnership.commands import GatheringKind
from domain.people import Id

RegistrantId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160, pattern=r"^[A-Za-z0-9_.:-]+$")
]
"""Who registers: an opaque id, typically a partnership's workflow id (``partnership-{cohort}-{mentee}``).

A partnership's mentor may register separately as ``{partnership_id}:mentor``. Never a name or an e-mail.
"""

Label = Line

MAX_HOURS = 12.0
"""The longest a gathering (and the hours it counts) can be: a partnership accepts at most 12 per gathering."""

SUBJECT_GROUP_SIZE = 20
"""A subject group meeting is for up to this many participants (the cohort forms its groups to this size)."""
DEFAULT_CAPACITY = {GatheringKind.GROUP: SUBJECT_GROUP_SIZE, GatheringKind.COLLECTIVE: 100}
MAX_CAPACITY = {GatheringKind.GROUP: SUBJECT_GROUP_SIZE, GatheringKind.COLLECTIVE: 500}
"""Subject group meetings are for up to 20 participants; collective meetings for about 100 (room for 500)."""


class GatheringPlan(Frozen):
    """What the coordinator plans: the Gathering workflow's input."""

    cohort_id: Id
    gathering_id: Id
    kind: GatheringKind
    subject: Label
    starts_at: AwareDatetime
    duration_hours: float = Field(gt=0, le=MAX_HOURS)
    place: Label
    capacity: int = Field(ge=1)
    """Defaults to 20 for a group meeting (at most 20) and 100 for a collective one (at most 500)."""
    reminder_before: timedelta = timedelta(days=2)
    """Registrants are reminded this long before the start (if the gathering was planned that early)."""
    attendance_grace: timedelta = timedelta(days=7)
    """After the end, the coordinator has this long to record attendance; then the gathering closes."""
    length: timedelta | None = None
    """How long it runs, when not its ``duration_hours`` (a demo's fast clock); the hours credited stay."""
    invitees: Annotated[tuple[RegistrantId, ...], at_most("ATTENDEES")] | None = None
    """Only these may register (a partnership id also admits its ``:mentor``); None: open to the cohort."""

    @model_validator(mode="before")
    @classmethod
    def _default_capacity(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("capacity") is None:
            try:
                kind = GatheringKind(str(data.get("kind")))
            except ValueError:
                return data  # the kind's own error says why
            return {**data, "capacity": DEFAULT_CAPACITY[kind]}
        return data

    @field_validator("reminder_before", "attendance_grace", "length")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be a positive duration (ISO 8601 such as P2D, or seconds)")
        return value

    @field_validator("invitees")
    @classmethod
    def _unique(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("invitees must not repeat")
        return value

    @model_validator(mode="after")
    def _capacity_fits_the_kind(self) -> Self:
        most = MAX_CAPACITY[self.kind]
        if self.capacity > most:
            raise ValueError(f"a {self.kind} gathering takes at most {most} participants, not {self.capacity}")
        return self

    @property
    def duration(self) -> timedelta:
        return timedelta(hours=self.duration_hours)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + (self.length if self.length is not None else self.duration)

    @property
    def reminder_at(self) -> datetime:
        return self.starts_at - self.reminder_before

    @property
    def closes_at(self) -> datetime:
        """The end of the attendance window: the gathering closes then, attendance recorded or not."""
        return self.ends_at + self.attendance_grace

    def invites(self, registrant_id: str) -> bool:
        if self.invitees is None:
            return True
        return registrant_id in self.invitees or registrant_id.split(":", 1)[0] in self.invitees

"""Commands: what a coordinator, a registrant, a timer or a delivery report asks of a gathering."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from domain.frozen import Frozen
from domain.gathering.plan import MAX_HOURS, GatheringPlan, RegistrantId
from domain.limits import Text, at_most

Reason = Text


class _Command(Frozen):
    """Every command: frozen, no unknown fields."""


class Schedule(_Command):
    """The workflow starts: the plan becomes the gathering."""

    type: Literal["schedule"] = "schedule"
    plan: GatheringPlan


class Register(_Command):
    type: Literal["register"] = "register"
    registrant_id: RegistrantId


class CancelRegistration(_Command):
    type: Literal["cancel_registration"] = "cancel_registration"
    registrant_id: RegistrantId


class RecordAttendance(_Command):
    """A coordinator records who was there. Adds to attendance already recorded; never takes any back."""

    type: Literal["record_attendance"] = "record_attendance"
    present: Annotated[tuple[RegistrantId, ...], at_most("ATTENDEES"), Field(min_length=1)]
    hours: float | None = Field(default=None, gt=0, le=MAX_HOURS)
    """The hours each of them is credited with; the gathering's duration when not given."""


class CancelGathering(_Command):
    type: Literal["cancel_gathering"] = "cancel_gathering"
    reason: Reason


class NoteDelivery(_Command):
    """What the ``deliver_attendance`` activity reports: whose partnership was told, who was skipped and why."""

    type: Literal["note_delivery"] = "note_delivery"
    signalled: tuple[str, ...] = ()
    skipped: dict[str, str] = {}


class Tick(_Command):
    """A timer fired: remind, start or close, whichever is due at ``now``."""

    type: Literal["tick"] = "tick"


Command = Annotated[
    Schedule | Register | CancelRegistration | RecordAttendance | CancelGathering | NoteDelivery | Tick,
    Field(discriminator="type"),
]

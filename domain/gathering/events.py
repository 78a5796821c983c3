"""Events: facts about a gathering, folded by ``evolve``. Every event says when it happened (``at``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from domain.frozen import Frozen
from domain.gathering.plan import GatheringPlan


class _Event(Frozen):
    at: datetime


class GatheringScheduled(_Event):
    type: Literal["gathering_scheduled"] = "gathering_scheduled"
    plan: GatheringPlan


class Registered(_Event):
    """A place was taken."""

    type: Literal["registered"] = "registered"
    registrant_id: str


class Waitlisted(_Event):
    """The gathering was full: the registrant waits, in order, for a place."""

    type: Literal["waitlisted"] = "waitlisted"
    registrant_id: str
    position: int


class RegistrationCancelled(_Event):
    """A registrant (or someone waiting) withdrew; a freed place goes to the first on the waitlist."""

    type: Literal["registration_cancelled"] = "registration_cancelled"
    registrant_id: str
    was_waitlisted: bool = False
    promoted: str | None = None


class ReminderSent(_Event):
    type: Literal["reminder_sent"] = "reminder_sent"
    recipients: tuple[str, ...]


class GatheringStarted(_Event):
    type: Literal["gathering_started"] = "gathering_started"


class AttendanceDue(_Event):
    """The gathering has ended without attendance: the coordinator is asked to record it."""

    type: Literal["attendance_due"] = "attendance_due"
    closes_at: datetime


class AttendanceRecorded(_Event):
    type: Literal["attendance_recorded"] = "attendance_recorded"
    present: tuple[str, ...]
    hours: float


class AttendanceDelivered(_Event):
    """The attendees' partnerships were told (``signalled``), or could not be (``skipped``, with the reason)."""

    type: Literal["attendance_delivered"] = "attendance_delivered"
    signalled: tuple[str, ...] = ()
    skipped: dict[str, str] = {}


class GatheringCancelled(_Event):
    type: Literal["gathering_cancelled"] = "gathering_cancelled"
    reason: str
    notified: tuple[str, ...]


class GatheringClosed(_Event):
    type: Literal["gathering_closed"] = "gathering_closed"
    attendance_recorded: bool
    note: str


Event = Annotated[
    GatheringScheduled
    | Registered
    | Waitlisted
    | RegistrationCancelled
    | ReminderSent
    | GatheringStarted
    | AttendanceDue
    | AttendanceRecorded
    | AttendanceDelivered
    | GatheringCancelled
    | GatheringClosed,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: dict[str, object] | str | bytes) -> Event:
    if isinstance(data, str | bytes):
        return EVENT_ADAPTER.validate_json(data)
    return EVENT_ADAPTER.validate_python(data)


def event_json(event: Event) -> dict[str, object]:
    return event.model_dump(mode="json")

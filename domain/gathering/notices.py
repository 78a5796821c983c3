"""Who is told what when a gathering changes: registrants by opaque id, the coordinator by role."""

from __future__ import annotations

from domain.frozen import Frozen
from domain.gathering import events as e
from domain.people import Role

COORDINATOR = Role.COORDINATOR.value
"""The recipient of a coordinator's notice: the cohort's coordinator (looked up by whoever delivers it)."""


class GatheringNotice(Frozen):
    recipient: str
    """A registrant id, or ``coordinator``."""
    template: str


def notices_for(event: e.Event) -> list[GatheringNotice]:
    if isinstance(event, e.ReminderSent):
        return [GatheringNotice(recipient=r, template="gathering_reminder") for r in event.recipients]
    if isinstance(event, e.RegistrationCancelled) and event.promoted is not None:
        return [GatheringNotice(recipient=event.promoted, template="gathering_place_offered")]
    if isinstance(event, e.GatheringCancelled):
        return [GatheringNotice(recipient=r, template="gathering_cancelled") for r in event.notified]
    if isinstance(event, e.AttendanceDue):
        return [GatheringNotice(recipient=COORDINATOR, template="gathering_attendance_due")]
    if isinstance(event, e.GatheringClosed) and not event.attendance_recorded:
        return [GatheringNotice(recipient=COORDINATOR, template="gathering_attendance_missing")]
    return []

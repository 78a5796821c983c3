"""The state of one gathering: frozen, and only ever produced by folding events through ``evolve``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from domain.frozen import Frozen
from domain.gathering.plan import GatheringPlan


class GatheringStage(StrEnum):
    SCHEDULED = "SCHEDULED"
    REMINDED = "REMINDED"
    HELD = "HELD"
    ATTENDANCE_RECORDED = "ATTENDANCE_RECORDED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


TERMINAL_STAGES = frozenset({GatheringStage.CLOSED, GatheringStage.CANCELLED})
OPEN_STAGES = frozenset({GatheringStage.SCHEDULED, GatheringStage.REMINDED})
"""Before the start: registration is open."""
STARTED_STAGES = frozenset({GatheringStage.HELD, GatheringStage.ATTENDANCE_RECORDED})


class Attendee(Frozen):
    registrant_id: str
    hours: float


class GatheringState(Frozen):
    gathering_key: str
    """The workflow id, ``gathering-{cohort_id}-{gathering_id}``."""
    version: int = 0
    stage: GatheringStage | None = None
    plan: GatheringPlan | None = None
    scheduled_at: datetime | None = None
    registered: tuple[str, ...] = ()
    """Who holds a place, in the order they got it."""
    waitlist: tuple[str, ...] = ()
    """Who waits for a place, first come first served."""
    reminded_at: datetime | None = None
    reminded: tuple[str, ...] = ()
    started_at: datetime | None = None
    attendance_requested_at: datetime | None = None
    """When the coordinator was asked for the attendance (the gathering had ended without it)."""
    attendance: tuple[Attendee, ...] = ()
    delivered: tuple[str, ...] = ()
    """Attendees whose partnership has been told of the hours."""
    skipped: dict[str, str] = {}
    """Attendees whose partnership could not be told, and why (unknown, closed, not a partnership)."""
    cancelled_reason: str | None = None
    notified: tuple[str, ...] = ()
    """Who was told of the cancellation."""
    closed_at: datetime | None = None
    note: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.stage in TERMINAL_STAGES

    def credited(self, partnership_id: str) -> Attendee | None:
        """The attendance recorded for a partnership (its id, or ``{id}:{role}``), as its hours are counted:
        the first of its attendees (one partnership counts a gathering once). None: not recorded as present."""
        for attendee in self.attendance:
            if attendee.registrant_id.split(":", 1)[0] == partnership_id:
                return attendee
        return None

    @property
    def capacity(self) -> int:
        return self.plan.capacity if self.plan else 0

    @property
    def attendees(self) -> tuple[str, ...]:
        return tuple(a.registrant_id for a in self.attendance)

    @property
    def attendance_recorded(self) -> bool:
        return bool(self.attendance)

    @property
    def pending_delivery(self) -> tuple[Attendee, ...]:
        """Attendees whose partnership is still to be told."""
        done = {*self.delivered, *self.skipped}
        return tuple(a for a in self.attendance if a.registrant_id not in done)

    @property
    def attention(self) -> str | None:
        """What a coordinator must see: attendance due after the end, or never recorded at all."""
        if self.attendance_recorded or self.stage == GatheringStage.CANCELLED:
            return None
        if self.stage == GatheringStage.CLOSED:
            return "ATTENDANCE_NEVER_RECORDED"
        if self.attendance_requested_at is not None:
            return "ATTENDANCE_DUE"
        return None

    @property
    def reminds(self) -> bool:
        """Whether a reminder is planned: only when the gathering was scheduled before the reminder's time."""
        return self.plan is not None and self.scheduled_at is not None and self.plan.reminder_at > self.scheduled_at

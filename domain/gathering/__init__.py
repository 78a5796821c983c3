"""One gathering: a subject group meeting (up to 20) or a collective meeting (about 100), as rules.

Registration, waitlist, reminder, attendance and closing; the hours reach each attendee's partnership as
``gathering_attended`` (the partnership counts a gathering once).
"""

from domain.gathering import commands, events
from domain.gathering.notices import COORDINATOR, GatheringNotice, notices_for
from domain.gathering.plan import DEFAULT_CAPACITY, MAX_CAPACITY, MAX_HOURS, GatheringPlan, RegistrantId
from domain.gathering.rules import NEVER_RECORDED, decide, evolve, fold, initial_state, next_due, utc
from domain.gathering.state import TERMINAL_STAGES, Attendee, GatheringStage, GatheringState

__all__ = [
    "COORDINATOR",
    "DEFAULT_CAPACITY",
    "MAX_CAPACITY",
    "MAX_HOURS",
    "NEVER_RECORDED",
    "TERMINAL_STAGES",
    "Attendee",
    "GatheringNotice",
    "GatheringPlan",
    "GatheringStage",
    "GatheringState",
    "RegistrantId",
    "commands",
    "decide",
    "events",
    "evolve",
    "fold",
    "initial_state",
    "next_due",
    "notices_for",
    "utc",
]

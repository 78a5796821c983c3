"""One mentoring partnership, from application to closing review, as commands, events and rules."""

from domain.partnership import commands, events
from domain.partnership.notices import Notice, Recipient, notices_for
from domain.partnership.rules import (
    Due,
    decide,
    evolve,
    fold,
    initial_state,
    next_due,
    rejection_event,
)
from domain.partnership.state import TERMINAL_STAGES, Attention, PartnershipState, Stage, Summary

__all__ = [
    "TERMINAL_STAGES",
    "Attention",
    "Due",
    "Notice",
    "PartnershipState",
    "Recipient",
    "Stage",
    "Summary",
    "commands",
    "decide",
    "events",
    "evolve",
    "fold",
    "initial_state",
    "next_due",
    "notices_for",
    "rejection_event",
]

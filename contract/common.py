"""What every workflow of the engine shares: the task queue, the status query's name, search attributes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.common import SearchAttributeKey

TASK_QUEUE = "entrypoint"
"""The default task queue of the worker (``entrypoint worker --task-queue`` overrides it)."""
STATUS_QUERY = "status"
"""Every workflow answers the ``status`` query with its status view."""
RECEIVED_AT_HEADER = "entrypoint-received-at"
"""Temporal header on start, signal, update and signal/update-with-start calls: when the sending client received the
command (ISO 8601 UTC, JSON string; no personal data). The workflow counts a message as of this time, clamped to
its own clock (workflows/inbox.py). Calls without it (a raw ``temporal workflow signal``) count as of delivery."""


class SearchAttributes:
    """Custom search attributes, registered by ``entrypoint setup`` and kept current by the workflows."""

    COHORT = SearchAttributeKey.for_keyword("EpCohort")
    STAGE = SearchAttributeKey.for_keyword("EpStage")
    MENTEE_ID = SearchAttributeKey.for_keyword("EpMenteeId")
    MENTOR_ID = SearchAttributeKey.for_keyword("EpMentorId")
    INSTITUTION = SearchAttributeKey.for_keyword("EpInstitution")
    MEETINGS_HELD = SearchAttributeKey.for_int("EpMeetingsHeld")
    LAST_MEETING_AT = SearchAttributeKey.for_datetime("EpLastMeetingAt")
    ATTENTION = SearchAttributeKey.for_keyword("EpAttention")

    @classmethod
    def all(cls) -> list[SearchAttributeKey[Any]]:
        return [
            cls.COHORT,
            cls.STAGE,
            cls.MENTEE_ID,
            cls.MENTOR_ID,
            cls.INSTITUTION,
            cls.MEETINGS_HELD,
            cls.LAST_MEETING_AT,
            cls.ATTENTION,
        ]


class Deadline(BaseModel):
    at: datetime
    waiting_for: str


def message_name(command: type[BaseModel]) -> str:
    """The name of the signal/update carrying ``command``: its ``type`` (e.g. ``LogMeeting`` -> ``log_meeting``)."""
    name = command.model_fields["type"].default
    assert isinstance(name, str), f"{command.__name__} has no type"
    return name


def message_table(*commands: type[BaseModel]) -> Mapping[str, type[BaseModel]]:
    """Message name -> the command it carries, from the commands themselves: a command's ``type`` is its name."""
    table: dict[str, type[BaseModel]] = {}
    for command in commands:
        name = message_name(command)
        assert name not in table, f"{command.__name__}: one message, one name"
        table[name] = command
    return table

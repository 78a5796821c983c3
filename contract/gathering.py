"""The Gathering workflow's contract: one subject group meeting (up to 20) or collective meeting (about 100)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.common import SearchAttributeKey

from contract.common import STATUS_QUERY, TASK_QUEUE, Deadline, SearchAttributes, message_name, message_table
from domain.gathering import commands as c

WORKFLOW_TYPE = "Gathering"


def gathering_workflow_id(cohort_id: str, gathering_id: str) -> str:
    """The workflow ID: ``gathering-{cohort_id}-{gathering_id}``."""
    return f"gathering-{cohort_id}-{gathering_id}"


MESSAGES: Mapping[str, type[BaseModel]] = message_table(
    c.Register,
    c.CancelRegistration,
    c.RecordAttendance,
    c.CancelGathering,
)
"""Updates (no signals), each with one JSON object: the command of that ``type``. Each returns the new
:class:`GatheringStatus` or is rejected (non-retryable) with the reason."""


class GatheringSearchAttributes:
    """The Gathering workflow keeps ``EpCohort``, ``EpStage`` and (when closed unrecorded) ``EpAttention``
    current, plus ``EpGatheringKind`` (``group`` | ``collective``)."""

    KIND = SearchAttributeKey.for_keyword("EpGatheringKind")

    @classmethod
    def all(cls) -> list[SearchAttributeKey[Any]]:
        return [cls.KIND]


class DeliveryView(BaseModel):
    """Where telling the attendees' partnerships stands."""

    signalled: list[str]
    """Registrant ids whose partnership was told."""
    skipped: dict[str, str]
    """Registrant id -> why their partnership was not told (e.g. ``unknown partnership``)."""
    pending: list[str]
    """Registrant ids still to tell."""


class GatheringStatus(BaseModel):
    """What the ``status`` query and every update of a gathering return. Ids only, no personal data."""

    gathering_key: str
    gathering_id: str | None
    cohort_id: str | None
    kind: str | None
    subject: str | None
    place: str | None
    stage: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    capacity: int
    registered: list[str]
    waitlist: list[str]
    reminded_at: datetime | None
    reminded: int
    attendance: dict[str, float]
    """Registrant id -> hours credited."""
    delivery: DeliveryView
    attendance_closes_at: datetime | None
    next_deadline: Deadline | None
    waiting_for: str
    """The one line shown as the current details in the Temporal UI."""
    cancelled_reason: str | None
    note: str | None
    attention: str | None
    version: int


__all__ = [
    "MESSAGES",
    "STATUS_QUERY",
    "TASK_QUEUE",
    "WORKFLOW_TYPE",
    "Deadline",
    "DeliveryView",
    "GatheringSearchAttributes",
    "GatheringStatus",
    "SearchAttributes",
    "gathering_workflow_id",
    "message_name",
]

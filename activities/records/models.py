"""What the store hands back: plain, frozen pydantic models (safe to return from Temporal activities)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from domain.frozen import Frozen
from domain.partnership import Recipient
from domain.partnership.events import Event
from domain.people import Role

PersonRole = Role
"""A person's role in the people registry."""


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"


class AppendResult(Frozen):
    partnership_id: str
    version: int
    """The log's version after the append: the version of the last event appended."""
    duplicate: bool = False
    """A replay: these very events were already stored (a retried append), so nothing was written."""
    outbox_keys: tuple[str, ...] = ()
    """Idempotency keys of the outbox messages the events caused."""


class StoredEvent(Frozen):
    version: int
    type: str
    event: Event
    data: dict[str, Any]
    """The event exactly as stored (JSON)."""
    occurred_at: datetime
    recorded_at: datetime
    digest: str


class OutboxMessage(Frozen):
    """A notice waiting to be (or already) delivered.

    ``recipient_id`` is None when the store could not tell who it is for (a cohort without a
    coordinator): the delivery marks such messages undeliverable, or resolves them itself.
    """

    key: str
    partnership_id: str
    event_version: int
    event_type: str
    template: str
    recipient_role: Recipient
    recipient_id: str | None
    status: OutboxStatus
    reason: str | None = None
    attempts: int = 0
    created_at: datetime
    sent_at: datetime | None = None
    message_id: str | None = None
    context: dict[str, Any] | None = Field(default=None, exclude=True, repr=False)
    """What the notice is rendered with, as written with it (see ``outbox.rows_for``); None in rows from before
    revision 0009. Left out of dumps and reprs: it is for delivery only."""


class Disagreement(Frozen):
    partnership_id: str
    what: str


class VerifyReport(Frozen):
    partnerships_checked: int
    events_checked: int
    disagreements: tuple[Disagreement, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.disagreements

    def by_partnership(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = defaultdict(list)
        for item in self.disagreements:
            grouped[item.partnership_id].append(item.what)
        return dict(grouped)

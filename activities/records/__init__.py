"""The records store: event logs, read models, the people registry and the notification outbox."""

from activities.records.errors import (
    PersonErased,
    RecordsError,
    UnknownOutboxMessage,
    UnknownPerson,
    VersionConflict,
)
from activities.records.models import (
    AppendResult,
    Disagreement,
    OutboxMessage,
    OutboxStatus,
    PersonRole,
    StoredEvent,
    VerifyReport,
)
from activities.records.store import RecordStore

__all__ = [
    "AppendResult",
    "Disagreement",
    "OutboxMessage",
    "OutboxStatus",
    "PersonErased",
    "PersonRole",
    "RecordStore",
    "RecordsError",
    "StoredEvent",
    "UnknownOutboxMessage",
    "UnknownPerson",
    "VerifyReport",
    "VersionConflict",
]

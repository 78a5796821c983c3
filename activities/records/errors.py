"""Errors the records store raises. Messages name ids and versions, never personal data."""

from __future__ import annotations


class RecordsError(Exception):
    """Base class of the store's errors."""


class VersionConflict(RecordsError):
    """The log is not where the caller expected: another append won, or the caller is ahead of the log."""

    def __init__(
        self, stream_id: str, expected_version: int, actual_version: int, detail: str, *, kind: str = "partnership"
    ) -> None:
        super().__init__(
            f"version conflict on {kind} {stream_id}: expected version {expected_version}, "
            f"the log is at version {actual_version} ({detail})"
        )
        self.stream_id = stream_id
        self.kind = kind
        self.expected_version = expected_version
        self.actual_version = actual_version


class GatheringVersionConflict(VersionConflict):
    """A version conflict on a gathering's log."""


class PersonErased(RecordsError):
    """The person's contact data was erased; the registry will not take it again under the same id."""

    def __init__(self, person_id: str) -> None:
        super().__init__(f"person {person_id} was erased; register them under a new id")
        self.person_id = person_id


class UnknownPerson(RecordsError, LookupError):
    def __init__(self, person_id: str, role: str) -> None:
        super().__init__(f"no {role} {person_id} in the people registry")
        self.person_id = person_id
        self.role = role


class UnknownOutboxMessage(RecordsError, LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no outbox message with key {key}")
        self.key = key

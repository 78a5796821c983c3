"""One event log for every kind of stream (a partnership's, a gathering's): gap-free versions from 1, each
event stored with the sha256 of its canonical JSON, appended at an expected version.

The rule for a batch appended at ``expected`` (the version the caller last saw):

- the log is at ``expected``: the batch is appended;
- the log is beyond ``expected`` and holds exactly these events at these versions: a retried append, which
  succeeds and writes nothing (``duplicate``);
- otherwise (another event at one of the versions, or only part of the batch stored, or the caller ahead of
  the log): :class:`~activities.records.errors.VersionConflict`, and nothing is written.

A batch is written in one transaction, so "part of the batch" can only be a different, shorter batch: it is
refused, never completed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Row, Table, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records.engine import Database
from activities.records.errors import VersionConflict
from activities.records.sqltypes import db_now

E = TypeVar("E", bound=BaseModel)
T = TypeVar("T")

APPEND_ATTEMPTS = 3
"""An append that loses a race on the primary key looks again (it may turn out to be a replay)."""


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(data: Any) -> str:
    """sha256 of the canonical JSON of an event's data: identical events, identical digests."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


@dataclass(frozen=True)
class Prepared(Generic[E]):
    """One event of a batch, ready to store: its version, its stored JSON and that JSON's digest."""

    version: int
    event: E
    data: dict[str, object]
    digest: str
    legacy_digest: str | None = None
    """The digest of the event unsealed (when ``data`` is sealed): a batch stored before sealing, retried after
    it, is still recognised as already stored."""
    other_digests: tuple[str, ...] = ()
    """The digests of the event sealed as it may have been stored by an earlier attempt (under the keyring's
    older keys: a gathering's batch retried across a keyring rotation is still recognised)."""


@dataclass(frozen=True)
class EventLog:
    """The log of one kind of stream, in ``table`` keyed by (``key``, ``version``)."""

    table: Table
    key: str
    """The column naming the stream (``partnership_id``, ``gathering_key``)."""
    kind: str
    """What a stream is, in words for error messages (``partnership``, ``gathering``)."""
    conflict: type[VersionConflict] = VersionConflict

    def prepare(
        self, expected: int, events: Sequence[E], to_json: Callable[[E], dict[str, object]]
    ) -> list[Prepared[E]]:
        if expected < 0:
            raise ValueError(f"expected_version must be 0 or more, not {expected}")
        prepared = []
        for offset, event in enumerate(events, start=1):
            data = to_json(event)
            prepared.append(Prepared(expected + offset, event, data, digest(data)))
        return prepared

    async def version(self, connection: AsyncConnection, stream: str) -> int:
        t = self.table.c
        return int(await connection.scalar(select(func.max(t.version)).where(t[self.key] == stream)) or 0)

    async def already_stored(
        self, connection: AsyncConnection, stream: str, expected: int, prepared: Sequence[Prepared[Any]]
    ) -> bool:
        """Whether the batch is stored already (a retried append: write nothing); False when it is to be
        appended. Raises VersionConflict when it may be neither (see the module's rule)."""
        current = await self.version(connection, stream)
        if expected == current:
            return False
        if expected > current:
            raise self._conflict(stream, expected, current, "the log has no events beyond its version")
        t = self.table.c
        first, last = prepared[0].version, prepared[-1].version
        result = await connection.execute(
            select(t.version, t.digest).where(t[self.key] == stream, t.version.between(first, last))
        )
        stored = {row.version: row.digest for row in result}
        for item in prepared:
            if item.version not in stored:
                detail = f"only part of the batch is stored: version {item.version} is not"
                raise self._conflict(stream, expected, current, detail)
            if stored[item.version] not in (item.digest, item.legacy_digest, *item.other_digests):
                raise self._conflict(stream, expected, current, f"version {item.version} holds a different event")
        return True

    async def insert(
        self, connection: AsyncConnection, stream: str, prepared: Sequence[Prepared[Any]], **columns: Any
    ) -> None:
        """Store the batch (after :meth:`already_stored` said False, in the same transaction)."""
        rows = [
            {
                self.key: stream,
                "version": item.version,
                "type": item.data["type"],
                "data": item.data,
                "occurred_at": item.event.at,
                "digest": item.digest,
                **columns,
            }
            for item in prepared
        ]
        await connection.execute(self.table.insert().values(recorded_at=db_now()), rows)

    async def rows(self, connection: AsyncConnection, stream: str) -> Sequence[Row[Any]]:
        """The stored rows of one stream, oldest first."""
        t = self.table.c
        return (await connection.execute(select(self.table).where(t[self.key] == stream).order_by(t.version))).all()

    def _conflict(self, stream: str, expected: int, current: int, detail: str) -> VersionConflict:
        return self.conflict(stream, expected, current, detail, kind=self.kind)


async def write_retrying(db: Database, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run an append in a write transaction; when a concurrent append took one of its versions after it read
    the log (the primary key refuses it), read the log again and decide again."""
    for attempt in range(APPEND_ATTEMPTS):
        try:
            return await db.write(work)
        except IntegrityError:
            if attempt == APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover

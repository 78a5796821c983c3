"""The event log of each partnership: append (with read models and outbox, in one transaction) and read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import outbox, projection
from activities.records import schema as s
from activities.records.engine import Database
from activities.records.errors import VersionConflict
from activities.records.models import AppendResult, StoredEvent
from activities.records.sqltypes import db_now
from domain.partnership import PartnershipState, evolve, fold, initial_state
from domain.partnership.events import Event, event_json, parse_event

APPEND_ATTEMPTS = 3
"""An append that loses a race on the primary key looks again (it may turn out to be a replay)."""


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(data: Any) -> str:
    """sha256 of the canonical JSON of an event's data: identical events, identical digests."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


@dataclass(frozen=True)
class _Prepared:
    version: int
    event: Event
    data: dict[str, object]
    digest: str


async def append(db: Database, partnership_id: str, expected_version: int, events: Sequence[Event]) -> AppendResult:
    if expected_version < 0:
        raise ValueError(f"expected_version must be 0 or more, not {expected_version}")
    prepared = []
    for offset, event in enumerate(events, start=1):
        data = event_json(event)
        prepared.append(_Prepared(expected_version + offset, event, data, digest(data)))
    if not prepared:
        return AppendResult(partnership_id=partnership_id, version=expected_version)

    async def work(connection: AsyncConnection) -> AppendResult:
        return await _append(connection, partnership_id, expected_version, prepared)

    for attempt in range(APPEND_ATTEMPTS):
        try:
            return await db.write(work)
        except IntegrityError:
            # A concurrent append took one of these versions after we read the log: read it again.
            if attempt == APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _append(
    connection: AsyncConnection, partnership_id: str, expected: int, prepared: Sequence[_Prepared]
) -> AppendResult:
    read_model = select(s.partnerships.c.version, s.partnerships.c.state).where(s.partnerships.c.id == partnership_id)
    if connection.dialect.name == "postgresql":
        read_model = read_model.with_for_update()  # appends to one partnership queue here
    row = (await connection.execute(read_model)).one_or_none()
    current = await _log_version(connection, partnership_id)
    last = prepared[-1].version
    if expected < current:
        return await _replay(connection, partnership_id, expected, current, prepared)
    if expected > current:
        raise VersionConflict(partnership_id, expected, current, "the log has no events beyond its version")

    if row is not None and row.version == current:
        state = PartnershipState.model_validate(row.state)
    elif current == 0:
        state = initial_state(partnership_id)
    else:  # no read model (or a stale one): fold the log instead
        logged = await _read(connection, partnership_id)
        state = fold(initial_state(partnership_id), [stored.event for stored in logged])

    coordinator: list[str | None] = []  # looked up once, and only when a notice is for the coordinator
    outbox_rows = []
    for item in prepared:
        before, state = state, evolve(state, item.event)
        if not coordinator and outbox.needs_coordinator(item.event, before):
            coordinator.append(await _coordinator_of(connection, state.cohort_id))
        coordinator_id = coordinator[0] if coordinator else None
        outbox_rows.extend(outbox.rows_for(item.version, item.event, before, state, coordinator_id))

    await connection.execute(
        s.events.insert().values(recorded_at=db_now()),
        [
            {
                "partnership_id": partnership_id,
                "version": item.version,
                "type": item.event.type,
                "data": item.data,
                "occurred_at": item.event.at,
                "digest": item.digest,
            }
            for item in prepared
        ],
    )
    view = projection.project(state, [(item.version, item.event) for item in prepared])
    await projection.write(connection, [view], fresh=False)
    await outbox.insert_rows(connection, outbox_rows)
    return AppendResult(
        partnership_id=partnership_id,
        version=last,
        outbox_keys=tuple(row["idempotency_key"] for row in outbox_rows),
    )


async def _replay(
    connection: AsyncConnection, partnership_id: str, expected: int, current: int, prepared: Sequence[_Prepared]
) -> AppendResult:
    """The versions are taken: fine if they hold these very events (a retried append), else a conflict."""
    first, last = prepared[0].version, prepared[-1].version
    result = await connection.execute(
        select(s.events.c.version, s.events.c.digest).where(
            s.events.c.partnership_id == partnership_id, s.events.c.version.between(first, last)
        )
    )
    stored = {row.version: row.digest for row in result}
    for item in prepared:
        if item.version not in stored:
            raise VersionConflict(
                partnership_id, expected, current, f"only part of the batch is stored: version {item.version} is not"
            )
        if stored[item.version] != item.digest:
            raise VersionConflict(partnership_id, expected, current, f"version {item.version} holds a different event")
    keys = await outbox.keys_for_versions(connection, partnership_id, first, last)
    return AppendResult(partnership_id=partnership_id, version=last, duplicate=True, outbox_keys=keys)


async def _log_version(connection: AsyncConnection, partnership_id: str) -> int:
    version = await connection.scalar(
        select(func.max(s.events.c.version)).where(s.events.c.partnership_id == partnership_id)
    )
    return int(version or 0)


async def _coordinator_of(connection: AsyncConnection, cohort_id: str | None) -> str | None:
    if cohort_id is None:
        return None
    return await connection.scalar(select(s.cohorts.c.coordinator_id).where(s.cohorts.c.cohort_id == cohort_id))


def stored_event(row: Any) -> StoredEvent:
    return StoredEvent(
        version=row.version,
        type=row.type,
        event=parse_event(row.data),
        data=row.data,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        digest=row.digest,
    )


async def _read(connection: AsyncConnection, partnership_id: str) -> list[StoredEvent]:
    result = await connection.execute(
        select(s.events).where(s.events.c.partnership_id == partnership_id).order_by(s.events.c.version)
    )
    return [stored_event(row) for row in result]


async def read_log(db: Database, partnership_id: str) -> list[StoredEvent]:
    async def work(connection: AsyncConnection) -> list[StoredEvent]:
        return await _read(connection, partnership_id)

    return await db.read(work)


async def load_state(db: Database, partnership_id: str) -> PartnershipState | None:
    async def work(connection: AsyncConnection) -> PartnershipState | None:
        state = await connection.scalar(select(s.partnerships.c.state).where(s.partnerships.c.id == partnership_id))
        return None if state is None else PartnershipState.model_validate(state)

    return await db.read(work)

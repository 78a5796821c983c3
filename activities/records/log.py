"""The event log of each partnership (see ``eventlog``): append with read models and outbox in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import outbox, projection
from activities.records import schema as s
from activities.records.engine import Database
from activities.records.eventlog import EventLog, Prepared, digest, write_retrying
from activities.records.models import AppendResult, StoredEvent
from activities.records.sealing import Sealer, parse_stored_event, stored_state_model
from domain.partnership import PartnershipState, evolve, fold, initial_state
from domain.partnership.events import Event, event_json
from domain.partnership.state import ADDED_SINCE_RELEASE

LOG = EventLog(s.events, "partnership_id", "partnership")


async def append(
    db: Database,
    partnership_id: str,
    expected_version: int,
    events: Sequence[Event],
    sealer: Sealer | None = None,
) -> AppendResult:
    """Append ``events``; with a ``sealer``, their free text is sealed first (see ``sealing``), and the log, the
    read models and the outbox are written from the sealed events."""
    if sealer is None:
        prepared = LOG.prepare(expected_version, events, event_json)
    else:
        prepared = [
            replace(item, event=parse_stored_event(item.data), legacy_digest=digest(event_json(item.event)))
            for item in LOG.prepare(expected_version, events, lambda event: sealer.seal_event(event_json(event)))
        ]
    if not prepared:
        return AppendResult(partnership_id=partnership_id, version=expected_version)

    async def work(connection: AsyncConnection) -> AppendResult:
        return await _append(connection, partnership_id, expected_version, prepared)

    return await write_retrying(db, work)


async def _append(
    connection: AsyncConnection, partnership_id: str, expected: int, prepared: Sequence[Prepared[Event]]
) -> AppendResult:
    read_model = select(s.partnerships.c.version, s.partnerships.c.state).where(s.partnerships.c.id == partnership_id)
    if connection.dialect.name == "postgresql":
        read_model = read_model.with_for_update()  # appends to one partnership queue here
    row = (await connection.execute(read_model)).one_or_none()
    first, last = prepared[0].version, prepared[-1].version
    if await LOG.already_stored(connection, partnership_id, expected, prepared):
        keys = await outbox.keys_for_versions(connection, partnership_id, first, last)
        return AppendResult(partnership_id=partnership_id, version=last, duplicate=True, outbox_keys=keys)

    if row is not None and row.version == expected:
        state = await stored_state(connection, partnership_id, row.state)
    elif expected == 0:
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

    await LOG.insert(connection, partnership_id, prepared)
    view = projection.project(state, [(item.version, item.event) for item in prepared])
    await projection.write(connection, [view], fresh=False)
    await outbox.insert_rows(connection, outbox_rows)
    return AppendResult(
        partnership_id=partnership_id,
        version=last,
        outbox_keys=tuple(row["idempotency_key"] for row in outbox_rows),
    )


async def _coordinator_of(connection: AsyncConnection, cohort_id: str | None) -> str | None:
    if cohort_id is None:
        return None
    return await connection.scalar(select(s.cohorts.c.coordinator_id).where(s.cohorts.c.cohort_id == cohort_id))


def stored_event(row: Any) -> StoredEvent:
    return StoredEvent(
        version=row.version,
        type=row.type,
        event=parse_stored_event(row.data),
        data=row.data,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        digest=row.digest,
    )


async def _read(connection: AsyncConnection, partnership_id: str) -> list[StoredEvent]:
    return [stored_event(row) for row in await LOG.rows(connection, partnership_id)]


async def read_log(db: Database, partnership_id: str) -> list[StoredEvent]:
    async def work(connection: AsyncConnection) -> list[StoredEvent]:
        return await _read(connection, partnership_id)

    return await db.read(work)


async def load_state(db: Database, partnership_id: str) -> PartnershipState | None:
    async def work(connection: AsyncConnection) -> PartnershipState | None:
        state = await connection.scalar(select(s.partnerships.c.state).where(s.partnerships.c.id == partnership_id))
        return None if state is None else await stored_state(connection, partnership_id, state)

    return await db.read(work)


async def stored_state(connection: AsyncConnection, partnership_id: str, data: dict[str, Any]) -> PartnershipState:
    """A read model's state. A row written before a field of ``ADDED_SINCE_RELEASE`` existed is folded from the
    partnership's log instead (the same state, plus what the log says of the new fields), until the next append
    writes it back in today's shape."""
    if all(name in data for name in ADDED_SINCE_RELEASE):
        return stored_state_model(data)
    events = [stored.event for stored in await _read(connection, partnership_id)]
    if not events:
        return stored_state_model(data)
    return fold(initial_state(partnership_id), events)

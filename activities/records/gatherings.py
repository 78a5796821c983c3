"""A gathering's event log: append-only, gap-free versions, a retried append is a no-op (see ``eventlog``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import gathering_outbox
from activities.records import schema as s
from activities.records.engine import Database
from activities.records.errors import GatheringVersionConflict
from activities.records.eventlog import EventLog, write_retrying
from domain.gathering.events import Event, event_json, parse_event

__all__ = ["LOG", "GatheringVersionConflict", "append", "read"]

LOG = EventLog(s.gathering_events, "gathering_key", "gathering", GatheringVersionConflict)


async def append(
    db: Database, gathering_key: str, cohort_id: str, expected_version: int, events: Sequence[Event]
) -> int:
    """Append ``events`` as versions ``expected_version + 1 ...``; the same events again change nothing."""
    prepared = LOG.prepare(expected_version, events, event_json)
    if not prepared:
        return expected_version

    async def work(connection: AsyncConnection) -> int:
        if not await LOG.already_stored(connection, gathering_key, expected_version, prepared):
            await LOG.insert(connection, gathering_key, prepared, cohort_id=cohort_id)
            # The notices of the events written now, in the same transaction: a retried append that
            # writes no event writes no notice either.
            versioned = [(item.version, item.event) for item in prepared]
            await gathering_outbox.insert_rows(
                connection, await gathering_outbox.rows_for(connection, gathering_key, cohort_id, versioned)
            )
        return prepared[-1].version

    return await write_retrying(db, work)


async def read(db: Database, gathering_key: str) -> list[Event]:
    async def work(connection: AsyncConnection) -> list[Event]:
        return [parse_event(row.data) for row in await LOG.rows(connection, gathering_key)]

    return await db.read(work)

"""A gathering's event log: append-only, gap-free versions, a retried append is a no-op."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import gathering_outbox
from activities.records import schema as s
from activities.records.engine import Database
from activities.records.errors import RecordsError
from activities.records.log import digest
from domain.gathering.events import Event, event_json, parse_event


class GatheringVersionConflict(RecordsError):
    pass


async def append(
    db: Database, gathering_key: str, cohort_id: str, expected_version: int, events: Sequence[Event]
) -> int:
    """Append ``events`` as versions ``expected_version + 1 ...``; the same events again change nothing."""
    rows = [
        {
            "gathering_key": gathering_key,
            "version": expected_version + n,
            "cohort_id": cohort_id,
            "type": event.type,
            "data": event_json(event),
            "digest": digest(event_json(event)),
            "occurred_at": event.at,
        }
        for n, event in enumerate(events, start=1)
    ]

    async def work(connection: AsyncConnection) -> int:
        t = s.gathering_events
        current = int(
            await connection.scalar(
                select(func.coalesce(func.max(t.c.version), 0)).where(t.c.gathering_key == gathering_key)
            )
            or 0
        )
        stored = {
            row.version: row.digest
            for row in await connection.execute(
                select(t.c.version, t.c.digest).where(
                    t.c.gathering_key == gathering_key, t.c.version > expected_version
                )
            )
        }
        if current < expected_version:
            raise GatheringVersionConflict(
                f"gathering {gathering_key}: expected version {expected_version}, the log is at {current}"
            )
        fresh = []
        for row in rows:
            if row["version"] in stored:
                if stored[row["version"]] != row["digest"]:
                    raise GatheringVersionConflict(
                        f"gathering {gathering_key}: version {row['version']} holds a different event"
                    )
            else:
                fresh.append(row)
        if fresh:
            await connection.execute(t.insert(), fresh)
            # The notices of the events written now, in the same transaction: a retried append that
            # writes no event writes no notice either.
            fresh_versions = {row["version"] for row in fresh}
            versioned = [
                (expected_version + n, event)
                for n, event in enumerate(events, start=1)
                if expected_version + n in fresh_versions
            ]
            await gathering_outbox.insert_rows(
                connection, await gathering_outbox.rows_for(connection, gathering_key, cohort_id, versioned)
            )
        return expected_version + len(rows)

    return await db.write(work)


async def read(db: Database, gathering_key: str) -> list[Event]:
    async def work(connection: AsyncConnection) -> list[Event]:
        t = s.gathering_events
        query = select(t.c.data).where(t.c.gathering_key == gathering_key).order_by(t.c.version)
        return [parse_event(data) for data in (await connection.scalars(query)).all()]

    return await db.read(work)

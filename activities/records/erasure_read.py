"""When a person was erased (the ``person_erased`` record), for reads that show a tombstone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.store import RecordStore


async def erased_at(store: RecordStore, person_id: str) -> datetime | None:
    async def work(connection: AsyncConnection) -> datetime | None:
        query = select(s.people.c.erased_at).where(s.people.c.person_id == person_id)
        return await connection.scalar(query)

    return await store.database.read(work)

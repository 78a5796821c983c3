"""The gatherings' outbox: one row per (gathering, event, recipient) notice, written with the events.

A gathering knows its registrants by opaque id: a partnership id (its mentee) or ``{partnership_id}:mentor``
(``:mentee`` too). The row resolves that id to a person of the people registry when it is written, from the
partnership's read model, as the partnerships' outbox does; the coordinator is the cohort's. A registrant
that is no partnership on file gets a row with no recipient, which delivery marks undeliverable with why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import outbox
from activities.records import schema as s
from activities.records.engine import Database
from activities.records.models import OutboxStatus
from activities.records.sqltypes import db_now
from domain.gathering import COORDINATOR, notices_for
from domain.gathering.events import Event

Row = dict[str, Any]
KEY_LENGTH = s.PID + 40
ROLES = ("mentee", "mentor")


def gathering_outbox_key(gathering_key: str, version: int, registrant_id: str | None) -> str:
    """``{gathering_key}:{version}:{registrant_id or 'coordinator'}``; the tail hashed when that is too long."""
    key = f"{gathering_key}:{version}:{registrant_id or COORDINATOR}"
    if len(key) <= KEY_LENGTH:
        return key
    head = f"{gathering_key}:{version}:"[: KEY_LENGTH - 41]
    return head + "#" + hashlib.sha256(key.encode()).hexdigest()[:40]


def registrant_parts(registrant_id: str) -> tuple[str, str]:
    """The partnership id and the role a registrant id stands for (``P`` is P's mentee)."""
    partnership_id, _, role = registrant_id.partition(":")
    return partnership_id, role if role in ROLES else "mentee"


async def _recipients(
    connection: AsyncConnection, cohort_id: str, registrants: set[str], coordinator: bool
) -> dict[str | None, str | None]:
    found: dict[str | None, str | None] = {}
    partnership_ids = {registrant_parts(r)[0] for r in registrants}
    people: dict[str, tuple[str | None, str | None]] = {}
    if partnership_ids:
        p = s.partnerships.c
        query = select(p.id, p.mentee_id, p.mentor_id).where(p.id.in_(sorted(partnership_ids)))
        people = {row.id: (row.mentee_id, row.mentor_id) for row in await connection.execute(query)}
    for registrant in registrants:
        pid, role = registrant_parts(registrant)
        mentee, mentor = people.get(pid, (None, None))
        found[registrant] = mentor if role == "mentor" else mentee
    if coordinator:
        c = s.cohorts.c
        found[None] = await connection.scalar(select(c.coordinator_id).where(c.cohort_id == cohort_id))
    return found


async def rows_for(
    connection: AsyncConnection, gathering_key: str, cohort_id: str, versioned: Sequence[tuple[int, Event]]
) -> list[Row]:
    """The outbox rows of the events (each with its version), recipients resolved on ``connection``."""
    notices = [(version, event, notice) for version, event in versioned for notice in notices_for(event)]
    registrants = {n.recipient for _, _, n in notices if n.recipient != COORDINATOR}
    coordinator = any(n.recipient == COORDINATOR for _, _, n in notices)
    if not notices:
        return []
    recipients = await _recipients(connection, cohort_id, registrants, coordinator)
    rows: dict[str, Row] = {}
    for version, event, notice in notices:
        registrant = None if notice.recipient == COORDINATOR else notice.recipient
        key = gathering_outbox_key(gathering_key, version, registrant)
        rows[key] = {
            "idempotency_key": key,
            "gathering_key": gathering_key,
            "event_version": version,
            "event_type": event.type,
            "template": notice.template,
            "registrant_id": registrant,
            "recipient_role": COORDINATOR if registrant is None else registrant_parts(registrant)[1],
            "recipient_id": recipients.get(registrant),
            "status": OutboxStatus.PENDING.value,
            "reason": None,
            "attempts": 0,
        }
    return list(rows.values())


async def insert_rows(connection: AsyncConnection, rows: Sequence[Row]) -> None:
    if rows:
        await connection.execute(s.gathering_outbox.insert().values(created_at=db_now()), list(rows))


def _ordered(query: Select[Any]) -> Select[Any]:
    o = s.gathering_outbox.c
    return query.order_by(o.created_at, o.gathering_key, o.event_version, o.idempotency_key)


async def pending(db: Database, gathering_key: str | None, limit: int) -> list[Any]:
    """Pending rows, oldest first."""
    query = select(s.gathering_outbox).where(s.gathering_outbox.c.status == OutboxStatus.PENDING.value)
    if gathering_key is not None:
        query = query.where(s.gathering_outbox.c.gathering_key == gathering_key)

    async def work(connection: AsyncConnection) -> list[Any]:
        return list(await connection.execute(_ordered(query).limit(limit)))

    return await db.read(work)


async def listing(db: Database, status: OutboxStatus | str | None, gathering_key: str | None) -> list[Any]:
    query = select(s.gathering_outbox)
    if status is not None:
        query = query.where(s.gathering_outbox.c.status == OutboxStatus(status).value)
    if gathering_key is not None:
        query = query.where(s.gathering_outbox.c.gathering_key == gathering_key)

    async def work(connection: AsyncConnection) -> list[Any]:
        return list(await connection.execute(_ordered(query)))

    return await db.read(work)


async def mark_sent(db: Database, key: str, message_id: str | None) -> None:
    await outbox.mark_sent(db, key, message_id, s.gathering_outbox)


async def mark_undeliverable(db: Database, key: str, reason: str) -> None:
    await outbox.mark_undeliverable(db, key, reason, s.gathering_outbox)


async def record_attempt(db: Database, key: str, reason: str) -> None:
    await outbox.record_attempt(db, key, reason, s.gathering_outbox)

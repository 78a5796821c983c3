"""The outbox: one row per (partnership, event, recipient) notice, written with the events that cause it.

Delivery (rendering, SMTP) lives elsewhere and works through ``pending``, ``mark_sent``,
``mark_undeliverable`` and ``record_attempt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.engine import Database
from activities.records.errors import UnknownOutboxMessage
from activities.records.models import OutboxMessage, OutboxStatus
from activities.records.sqltypes import db_now
from domain.partnership import PartnershipState, Recipient, notices_for
from domain.partnership.events import Event, event_json

Row = dict[str, Any]


def outbox_key(partnership_id: str, version: int, recipient: Recipient | str) -> str:
    return f"{partnership_id}:{version}:{Recipient(recipient).value}"


def needs_coordinator(event: Event, before: PartnershipState) -> bool:
    return any(notice.recipient == Recipient.COORDINATOR for notice in notices_for(event, before))


def rows_for(
    version: int,
    event: Event,
    before: PartnershipState,
    after: PartnershipState,
    coordinator_id: str | None,
) -> list[Row]:
    """The outbox rows of ``event``, applied at ``version`` to ``before`` (giving ``after``).

    Each row carries its ``context``: ``after`` and ``event``, which is all delivery renders the notice with, so
    delivery does not fold the log again."""
    partnership_id = after.partnership_id
    notices = notices_for(event, before)
    if not notices:
        return []
    context = {"state": after.model_dump(mode="json"), "event": event_json(event)}
    recipients = {
        Recipient.MENTEE: after.mentee_id or before.mentee_id,
        Recipient.MENTOR: after.mentor_id or before.mentor_id,
        Recipient.COORDINATOR: coordinator_id,
    }
    rows: dict[str, Row] = {}
    for notice in notices:
        key = outbox_key(partnership_id, version, notice.recipient)
        rows[key] = {
            "idempotency_key": key,
            "partnership_id": partnership_id,
            "event_version": version,
            "event_type": event.type,
            "template": notice.template,
            "recipient_role": notice.recipient.value,
            "recipient_id": recipients[notice.recipient],
            "status": OutboxStatus.PENDING.value,
            "reason": None,
            "attempts": 0,
            "context": context,
        }
    return list(rows.values())


async def insert_rows(connection: AsyncConnection, rows: Sequence[Row]) -> None:
    if rows:
        await connection.execute(s.outbox.insert().values(created_at=db_now()), list(rows))


async def keys_for_versions(connection: AsyncConnection, partnership_id: str, first: int, last: int) -> tuple[str, ...]:
    result = await connection.execute(
        select(s.outbox.c.idempotency_key)
        .where(s.outbox.c.partnership_id == partnership_id, s.outbox.c.event_version.between(first, last))
        .order_by(s.outbox.c.event_version, s.outbox.c.recipient_role)
    )
    return tuple(result.scalars())


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        key=row.idempotency_key,
        partnership_id=row.partnership_id,
        event_version=row.event_version,
        event_type=row.event_type,
        template=row.template,
        recipient_role=Recipient(row.recipient_role),
        recipient_id=row.recipient_id,
        status=OutboxStatus(row.status),
        reason=row.reason,
        attempts=row.attempts,
        created_at=row.created_at,
        sent_at=row.sent_at,
        message_id=row.message_id,
        context=row.context,
    )


def _ordered(query: Select[Any]) -> Select[Any]:
    o = s.outbox.c
    return query.order_by(o.created_at, o.partnership_id, o.event_version, o.recipient_role)


async def pending(db: Database, partnership_id: str | None, limit: int) -> list[OutboxMessage]:
    """Pending messages, oldest first."""
    query = select(s.outbox).where(s.outbox.c.status == OutboxStatus.PENDING.value)
    if partnership_id is not None:
        query = query.where(s.outbox.c.partnership_id == partnership_id)

    async def work(connection: AsyncConnection) -> list[OutboxMessage]:
        return [_message(row) for row in await connection.execute(_ordered(query).limit(limit))]

    return await db.read(work)


async def listing(db: Database, status: OutboxStatus | str | None, partnership_id: str | None) -> list[OutboxMessage]:
    query = select(s.outbox)
    if status is not None:
        query = query.where(s.outbox.c.status == OutboxStatus(status).value)
    if partnership_id is not None:
        query = query.where(s.outbox.c.partnership_id == partnership_id)

    async def work(connection: AsyncConnection) -> list[OutboxMessage]:
        return [_message(row) for row in await connection.execute(_ordered(query))]

    return await db.read(work)


async def _update(db: Database, key: str, values: dict[str, Any], table: Table = s.outbox) -> None:
    """Update a message that has not been sent yet; a sent one is left as it is (retried calls are no-ops).
    ``table``: the partnerships' outbox, or the gatherings' (the same columns and the same rules)."""
    o = table.c

    async def work(connection: AsyncConnection) -> None:
        statement = (
            update(table)
            .where(o.idempotency_key == key, o.status != OutboxStatus.SENT.value)
            .values(attempts=o.attempts + 1, **values)
        )
        result = await connection.execute(statement)
        if result.rowcount == 0:
            exists = await connection.scalar(select(o.idempotency_key).where(o.idempotency_key == key))
            if exists is None:
                raise UnknownOutboxMessage(key)

    await db.write(work)


async def mark_sent(db: Database, key: str, message_id: str | None, table: Table = s.outbox) -> None:
    sent = {"status": OutboxStatus.SENT.value, "sent_at": db_now(), "message_id": message_id, "reason": None}
    await _update(db, key, sent, table)


async def mark_undeliverable(db: Database, key: str, reason: str, table: Table = s.outbox) -> None:
    await _update(db, key, {"status": OutboxStatus.UNDELIVERABLE.value, "reason": reason}, table)


async def record_attempt(db: Database, key: str, reason: str, table: Table = s.outbox) -> None:
    """A delivery attempt failed but may succeed later: count it, keep the message pending."""
    await _update(db, key, {"reason": reason}, table)

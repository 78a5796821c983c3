"""The programme's health, read from the records for the operations gauges (``workers/metrics.py``).

Cheap aggregate reads (indexed columns, one row per group); no personal data: counts, stages and ages only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.engine import Database

RAISING_EVENTS = ("signature_overdue", "meeting_lapsed", "review_overdue", "party_withdrew")
"""The event types that raise a coordinator's attention: the newest one of a partnership dates its attention."""


@dataclass(frozen=True)
class ProgrammeGauges:
    stages: dict[str, int] = field(default_factory=dict)
    """Partnerships by stage (``none`` while an application is being registered)."""
    attention: dict[str, int] = field(default_factory=dict)
    """Partnerships waiting for a coordinator, by attention kind."""
    attention_oldest_seconds: float = 0.0
    """How long the longest-waiting attention has waited (0 when none waits)."""
    outbox_pending: int = 0
    outbox_oldest_seconds: float = 0.0
    """Age of the oldest pending notification (0 when none is pending)."""
    outbox_undeliverable: int = 0


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


async def read_gauges(db: Database, now: datetime) -> ProgrammeGauges:
    async def work(connection: AsyncConnection) -> ProgrammeGauges:
        stages = {
            str(stage or "none"): int(count)
            for stage, count in await connection.execute(
                select(s.partnerships.c.stage, func.count()).group_by(s.partnerships.c.stage)
            )
        }
        attention = {
            str(kind): int(count)
            for kind, count in await connection.execute(
                select(s.partnerships.c.attention, func.count())
                .where(s.partnerships.c.attention.is_not(None))
                .group_by(s.partnerships.c.attention)
            )
        }
        raised = (
            select(func.max(s.events.c.occurred_at).label("raised_at"))
            .select_from(s.partnerships.join(s.events, s.events.c.partnership_id == s.partnerships.c.id))
            .where(s.partnerships.c.attention.is_not(None), s.events.c.type.in_(RAISING_EVENTS))
            .group_by(s.partnerships.c.id)
            .subquery()
        )
        oldest_raised = (await connection.execute(select(func.min(raised.c.raised_at)))).scalar()
        outbox = {
            str(status): (int(count), oldest)
            for status, count, oldest in await connection.execute(
                select(s.outbox.c.status, func.count(), func.min(s.outbox.c.created_at)).group_by(s.outbox.c.status)
            )
        }
        pending, oldest_pending = outbox.get("pending", (0, None))
        return ProgrammeGauges(
            stages=stages,
            attention=attention,
            attention_oldest_seconds=_age(now, _aware(oldest_raised)),
            outbox_pending=pending,
            outbox_oldest_seconds=_age(now, _aware(oldest_pending)),
            outbox_undeliverable=outbox.get("undeliverable", (0, None))[0],
        )

    return await db.read(work)


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates bypass the column type on SQLite (a string comes back): parse it, in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value

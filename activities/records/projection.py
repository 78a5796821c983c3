"""Event log → read models. The one place that knows which rows an event leads to.

``project`` is pure: given a partnership's events (with versions) and the state after them, it says
which read-model rows should exist. ``write`` stores a batch of projections. Appending (a few new
events, upserted) and rebuilding (whole logs, into emptied tables) both go through here, and
``verify`` compares the database with what ``project`` expects.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.sqltypes import db_now
from domain.partnership import PartnershipState
from domain.partnership import events as e

Row = dict[str, Any]

EVENT_TABLES: tuple[Table, ...] = (s.meetings, s.diary_entries, s.reviews, s.gatherings_attended)
"""Read-model tables with one row per event of some type (keyed by their primary key)."""


@dataclass
class Projection:
    """The read-model rows of one partnership."""

    partnership_id: str
    partnership: Row
    agreement: Row | None
    rows: dict[str, dict[tuple[Any, ...], Row]] = field(default_factory=dict)
    """Per event table name: rows by primary key (a later event's row replaces an earlier one's)."""


def event_rows(partnership_id: str, version: int, event: e.Event) -> list[tuple[Table, Row]]:
    """The rows of the per-event tables that ``event`` (at ``version``) adds."""
    match event:
        case e.MeetingLogged():
            return [
                (
                    s.meetings,
                    {
                        "partnership_id": partnership_id,
                        "version": version,
                        "held_on": event.held_on,
                        "minutes": event.minutes,
                        "topics": list(event.topics),
                        "notes": event.notes,
                    },
                )
            ]
        case e.DiaryEntryAdded():
            return [
                (
                    s.diary_entries,
                    {
                        "partnership_id": partnership_id,
                        "version": version,
                        "at": event.at,
                        "reflection": event.reflection,
                        "goals": list(event.goals),
                        "actions": list(event.actions),
                    },
                )
            ]
        case e.GatheringAttended():
            return [
                (
                    s.gatherings_attended,
                    {
                        "partnership_id": partnership_id,
                        "version": version,
                        "gathering_id": event.gathering_id,
                        "kind": event.kind.value,
                        "hours": event.hours,
                    },
                )
            ]
        case e.ClosingReviewSubmitted():
            return [
                (
                    s.reviews,
                    {
                        "partnership_id": partnership_id,
                        "party": event.party.value,
                        "rating": event.rating,
                        "outcome": event.outcome.value if event.outcome else None,
                        "comments": event.comments,
                        "submitted_at": event.at,
                    },
                )
            ]
    return []


def partnership_row(state: PartnershipState) -> Row:
    """The ``partnerships`` row of a state (``updated_at`` aside, which the database sets)."""
    return {
        "id": state.partnership_id,
        "cohort_id": state.cohort_id,
        "stage": state.stage.value if state.stage else None,
        "mentee_id": state.mentee_id,
        "mentor_id": state.mentor_id,
        "institution_id": state.institution_id,
        "meetings_held": state.meetings_held,
        "last_meeting_at": state.last_meeting_at,
        "next_meeting_due": state.next_meeting_due,
        "diary_entries": state.diary_entries,
        "gatherings_attended": state.gatherings_attended,
        "total_hours": state.total_hours,
        "attention": state.attention.value if state.attention else None,
        "version": state.version,
        "state": state.model_dump(mode="json"),
    }


def agreement_row(state: PartnershipState) -> Row | None:
    agreement = state.agreement
    if agreement is None:
        return None
    mentee_signature = agreement.signatures.get("mentee")
    mentor_signature = agreement.signatures.get("mentor")
    return {
        "partnership_id": state.partnership_id,
        "mentor_id": state.mentor_id,
        "topics": list(agreement.topics),
        "meeting_cadence_seconds": agreement.meeting_cadence.total_seconds(),
        "confidentiality": agreement.confidentiality,
        "signing_due": agreement.signing_due,
        "mentee_signed_at": mentee_signature.signed_at if mentee_signature else None,
        "mentor_signed_at": mentor_signature.signed_at if mentor_signature else None,
        "starts_on": agreement.starts_on,
        "ends_on": agreement.ends_on,
    }


def key_of(table: Table, row: Row) -> tuple[Any, ...]:
    return tuple(row[column.name] for column in table.primary_key.columns)


def project(state: PartnershipState, events: Iterable[tuple[int, e.Event]]) -> Projection:
    """The read-model rows for ``events`` (version, event), given ``state`` after all of them."""
    projection = Projection(state.partnership_id, partnership_row(state), agreement_row(state))
    for version, event in events:
        for table, row in event_rows(state.partnership_id, version, event):
            projection.rows.setdefault(table.name, {})[key_of(table, row)] = row
    return projection


# ---------------------------------------------------------------------------------------------- writing


async def write(connection: AsyncConnection, projections: Sequence[Projection], *, fresh: bool) -> None:
    """Store ``projections``. ``fresh``: their tables were just emptied for these partnerships (rebuild),
    so plain inserts do; otherwise rows are upserted and a partnership's agreement removed when it has none.
    """
    if not projections:
        return
    await _store(connection, s.partnerships, [p.partnership for p in projections], fresh=fresh)
    agreements = [p.agreement for p in projections if p.agreement is not None]
    if not fresh:
        gone = [p.partnership_id for p in projections if p.agreement is None]
        if gone:
            await connection.execute(delete(s.agreements).where(s.agreements.c.partnership_id.in_(gone)))
    await _store(connection, s.agreements, agreements, fresh=fresh)
    for table in EVENT_TABLES:
        rows = [row for p in projections for row in p.rows.get(table.name, {}).values()]
        await _store(connection, table, rows, fresh=fresh)


async def clear(connection: AsyncConnection, partnership_ids: Sequence[str]) -> None:
    """Delete every read-model row of these partnerships (children first)."""
    for table in (*s.READ_MODEL_CHILDREN, s.partnerships):
        column = table.c.id if table is s.partnerships else table.c.partnership_id
        await connection.execute(delete(table).where(column.in_(partnership_ids)))


async def _store(connection: AsyncConnection, table: Table, rows: list[Row], *, fresh: bool) -> None:
    if not rows:
        return
    stamped = table is s.partnerships
    if fresh:
        statement: Any = insert(table)
        if stamped:
            statement = statement.values(updated_at=db_now())
        await connection.execute(statement, rows)
        return
    await connection.execute(_upsert(connection.dialect.name, table, tuple(rows[0])), rows)


@functools.cache
def _upsert(dialect: str, table: Table, columns: tuple[str, ...]) -> Any:
    """The upsert of ``columns`` into ``table``, built once per dialect, table and column set and then reused.

    Statements are immutable, so sharing one is safe; building it for every append (the ``excluded``
    pseudo-table's column proxies in particular) was the largest cost of an append in our own code.
    """
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    upsert: Any = dialect_insert(table)
    keys = [column.name for column in table.primary_key.columns]
    updates = {name: upsert.excluded[name] for name in columns if name not in keys}
    if table is s.partnerships:
        upsert = upsert.values(updated_at=db_now())
        updates["updated_at"] = db_now()
    return upsert.on_conflict_do_update(index_elements=keys, set_=updates)


__all__ = ["Projection", "agreement_row", "clear", "event_rows", "key_of", "partnership_row", "project", "write"]

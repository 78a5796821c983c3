"""Checking and repairing the read models against the event logs, which are the truth.

``verify`` folds every log through ``evolve`` and compares what ``projection.project`` expects with
what the read-model tables hold. ``rebuild`` throws the read models away and projects them again
(people, institutions, cohorts and the outbox are not read models and are left alone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, select, text, union
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import projection
from activities.records import schema as s
from activities.records.engine import Database
from activities.records.errors import RecordsError
from activities.records.eventlog import digest
from activities.records.models import Disagreement, VerifyReport
from activities.records.projection import EVENT_TABLES, Projection, Row, key_of
from activities.records.sealing import parse_stored_event, stored_state_model
from domain.partnership import PartnershipState, evolve, initial_state
from domain.partnership.events import Event
from domain.partnership.state import ADDED_SINCE_RELEASE

Progress = Callable[[int, int], None]
"""Called with (partnerships done, partnerships in all) after each batch."""

VERIFY_BATCH = 200
REBUILD_BATCH = 100


class Unreadable(RecordsError):
    """A log that cannot be folded (an event that does not parse, or that ``evolve`` refuses)."""


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _partnership_ids(connection: AsyncConnection) -> list[str]:
    ids = union(select(s.events.c.partnership_id), select(s.partnerships.c.id))
    return sorted((await connection.execute(ids)).scalars())


async def _logs(connection: AsyncConnection, ids: Sequence[str]) -> dict[str, list[Any]]:
    query = (
        select(s.events)
        .where(s.events.c.partnership_id.in_(ids))
        .order_by(s.events.c.partnership_id, s.events.c.version)
    )
    logs: dict[str, list[Any]] = defaultdict(list)
    for row in await connection.execute(query):
        logs[row.partnership_id].append(row)
    return logs


def _fold(partnership_id: str, rows: Sequence[Any]) -> tuple[PartnershipState, list[tuple[int, Event]]]:
    state = initial_state(partnership_id)
    events: list[tuple[int, Event]] = []
    for row in rows:
        try:
            event = parse_stored_event(row.data)
            state = evolve(state, event)
        except Exception as error:  # any failure makes the log unreadable
            message = f"partnership {partnership_id}: event version {row.version} cannot be folded: {error}"
            raise Unreadable(message) from error
        events.append((row.version, event))
    return state, events


# ---------------------------------------------------------------------------------------------- verify


async def verify(db: Database, batch_size: int = VERIFY_BATCH) -> VerifyReport:
    async def work(connection: AsyncConnection) -> VerifyReport:
        ids = await _partnership_ids(connection)
        events_checked = 0
        found: list[Disagreement] = []
        for batch in _chunks(ids, batch_size):
            logs = await _logs(connection, batch)
            stored = await _stored_read_models(connection, batch)
            for partnership_id in batch:
                log = logs.get(partnership_id, [])
                events_checked += len(log)
                problems = _check(log, stored, partnership_id)
                found.extend(Disagreement(partnership_id=partnership_id, what=what) for what in problems)
        return VerifyReport(partnerships_checked=len(ids), events_checked=events_checked, disagreements=tuple(found))

    return await db.snapshot(work)


async def _stored_read_models(connection: AsyncConnection, ids: Sequence[str]) -> dict[str, dict[str, list[Row]]]:
    """Per table name, per partnership id: the rows stored."""
    stored: dict[str, dict[str, list[Row]]] = {}
    for table in (s.partnerships, s.agreements, *EVENT_TABLES):
        column = table.c.id if table is s.partnerships else table.c.partnership_id
        rows: dict[str, list[Row]] = defaultdict(list)
        for row in await connection.execute(select(table).where(column.in_(ids))):
            mapping = dict(row._mapping)
            rows[mapping["id"] if table is s.partnerships else mapping["partnership_id"]].append(mapping)
        stored[table.name] = rows
    return stored


def _check(log: Sequence[Any], stored: dict[str, dict[str, list[Row]]], partnership_id: str) -> list[str]:
    if not log:
        return ["read-model rows exist but the partnership has no events"]
    problems = []
    versions = [row.version for row in log]
    if versions != list(range(1, len(log) + 1)):
        problems.append(f"event versions are not 1..{len(log)} without gaps: {versions}")
    problems.extend(
        f"event version {row.version}: data does not match its digest (altered after it was recorded)"
        for row in log
        if digest(row.data) != row.digest
    )
    try:
        state, events = _fold(partnership_id, log)
    except Unreadable as error:
        return [*problems, str(error)]
    expected = projection.project(state, events)
    problems.extend(_compare_partnership(expected, stored["partnerships"].get(partnership_id, [])))
    problems.extend(_compare_rows(s.agreements, _agreements(expected), stored["agreements"].get(partnership_id, [])))
    for table in EVENT_TABLES:
        wanted = list(expected.rows.get(table.name, {}).values())
        problems.extend(_compare_rows(table, wanted, stored[table.name].get(partnership_id, [])))
    return problems


def _agreements(expected: Projection) -> list[Row]:
    return [expected.agreement] if expected.agreement is not None else []


def _compare_partnership(expected: Projection, rows: list[Row]) -> list[str]:
    if not rows:
        return ["partnerships: no read-model row"]
    row, problems = rows[0], []
    for column, value in expected.partnership.items():
        if column == "state":
            stored = _as_today(row["state"]) if row["state"] != value else value
            absent = {k for k in ADDED_SINCE_RELEASE if isinstance(row["state"], dict) and k not in row["state"]}
            value = {k: v for k, v in value.items() if k not in absent}
            stored = {k: v for k, v in stored.items() if k not in absent}
            if stored != value:
                keys = sorted(k for k in {*value, *stored} if value.get(k) != stored.get(k))
                problems.append(f"partnerships.state: JSON differs from the folded log in {', '.join(keys)}")
        elif row[column] != value:
            problems.append(f"partnerships.{column}: expected {value!r}, found {row[column]!r}")
    return problems


def _as_today(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored state's JSON in today's shape (a release before may have written another shape of the same
    state: it must not count as a disagreement); as stored when it does not load at all."""
    try:
        return stored_state_model(stored).model_dump(mode="json")
    except ValidationError:
        return stored


def _compare_rows(table: Table, expected: list[Row], found: list[Row]) -> list[str]:
    problems = []
    if len(expected) != len(found):
        problems.append(f"{table.name}: expected {len(expected)} rows, found {len(found)}")
    wanted = {key_of(table, row): row for row in expected}
    have = {key_of(table, row): row for row in found}
    for key in sorted(wanted.keys() - have.keys(), key=str):
        problems.append(f"{table.name} {_key(table, key)}: missing")
    for key in sorted(have.keys() - wanted.keys(), key=str):
        problems.append(f"{table.name} {_key(table, key)}: not in the log")
    for key in sorted(wanted.keys() & have.keys(), key=str):
        for column, value in wanted[key].items():
            if have[key][column] != value:
                stored = have[key][column]
                problems.append(f"{table.name} {_key(table, key)}: {column} expected {value!r}, found {stored!r}")
    return problems


def _key(table: Table, key: tuple[Any, ...]) -> str:
    """The row's key without the partnership id: ``[version=5]``, ``[party=mentee]`` or ``[]``."""
    names = [column.name for column in table.primary_key.columns]
    parts = [f"{name}={part}" for name, part in zip(names, key, strict=True) if name != "partnership_id"]
    return "[" + ", ".join(parts) + "]"


# ---------------------------------------------------------------------------------------------- rebuild


async def rebuild(db: Database, progress: Progress | None = None, batch_size: int = REBUILD_BATCH) -> int:
    """Rebuild every partnership's read models from its log; returns how many partnerships were rebuilt."""

    async def list_ids(connection: AsyncConnection) -> list[str]:
        return await _partnership_ids(connection)

    ids = await db.read(list_ids)
    rebuilt = done = 0
    for batch in _chunks(ids, batch_size):

        async def work(connection: AsyncConnection, batch: Sequence[str] = batch) -> int:
            if db.is_postgresql:  # no append may interleave (appends lock their partnerships row first)
                await connection.execute(text("LOCK TABLE partnerships IN EXCLUSIVE MODE"))
            await projection.clear(connection, batch)
            logs = await _logs(connection, batch)
            views = []
            for partnership_id in batch:
                if logs.get(partnership_id):
                    state, events = _fold(partnership_id, logs[partnership_id])
                    views.append(projection.project(state, events))
            await projection.write(connection, views, fresh=True)
            return len(views)

        rebuilt += await db.write(work)
        done += len(batch)
        if progress is not None:
            progress(done, len(ids))
    return rebuilt

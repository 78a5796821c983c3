"""Every query on the per-command path finds its rows through an index, on SQLite and PostgreSQL.

The per-command path is what the Partnership workflow's activities run after each command:
``register_application`` (the people registry, the institution), ``record_events`` (the append: log,
read models, outbox rows) and ``deliver_notifications`` (the partnership's pending outbox messages, their
claims, sending, the count left). Each statement they execute is captured from the driver and explained
(SQLite: ``EXPLAIN QUERY PLAN``; PostgreSQL: ``EXPLAIN`` with sequential scans priced out, so that the
plan says which index the planner can use, not that a small table is cheaper to read whole). No plan may
scan a whole table or index, and the outbox queries of one partnership must use the
(partnership_id, status, created_at) index, with other partnerships' pending messages in the outbox.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event

from activities.notifications.delivery import deliver_pending
from activities.notifications.smtp import SmtpMailer
from activities.records.store import RecordStore
from domain import Contact
from domain.partnership import commands as c
from tests.notifications.conftest import MailServer
from tests.records.helpers import UNIVERSITY, Pair, day

PARTNERSHIP_INDEX = "ix_outbox_partnership_id_status_created_at"
OTHERS = 30
"""Other partnerships whose pending notices sit in the outbox (none delivered)."""

Statement = tuple[str, Any]


def _capture(store: RecordStore) -> tuple[list[Statement], Any]:
    seen: list[Statement] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not executemany:
            seen.append((statement, parameters))

    return seen, before


def _explained(statement: str) -> bool:
    head = statement.lstrip().split(None, 1)[0].upper()
    if head in {"SELECT", "UPDATE", "DELETE"}:
        return head != "SELECT" or re.search(r"\bFROM\b", statement, re.IGNORECASE) is not None
    return head == "INSERT" and re.search(r"\bSELECT\b", statement, re.IGNORECASE) is not None


async def _plan(store: RecordStore, statement: str, parameters: Any) -> list[str]:
    async with store.database.engine.connect() as connection:
        if store.database.is_sqlite:
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = [str(row[-1]) for row in rows]
        else:
            await connection.exec_driver_sql("ANALYZE outbox")  # as autovacuum would have: the plan by statistics
            await connection.exec_driver_sql("SET enable_seqscan = off")
            rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plan = [str(row[0]) for row in rows]
        await connection.rollback()
    return plan


def _whole_scans(plan: list[str], sqlite: bool) -> list[str]:
    """Plan lines that read a whole table or index."""
    if sqlite:
        # "SCAN t" or "SCAN t USING (COVERING) INDEX i": every row; "SEARCH t USING ... (col=?)": by key.
        return [line for line in plan if re.match(r"\s*SCAN (?!CONSTANT ROW)", line)]
    bad = [line for line in plan if "Seq Scan" in line]
    # An index scan with no Index Cond under it walks the whole index.
    for i, line in enumerate(plan):
        if re.search(r"Index (Only )?Scan", line) and not any("Index Cond" in later for later in plan[i + 1 : i + 3]):
            bad.append(line)
    return bad


def _by_partnership(plan: list[str]) -> bool:
    """The plan looks rows up by the partnership index *keyed by partnership_id*. Not merely "names the index":
    PostgreSQL can walk the whole of it with a condition on its second column (status), which the statistics
    make it choose for a query by status alone once enough rows are sent."""
    for i, line in enumerate(plan):
        if PARTNERSHIP_INDEX not in line:
            continue
        conditions = [line, *(later for later in plan[i + 1 : i + 3] if "Index Cond" in later)]
        if any("partnership_id" in condition.split(PARTNERSHIP_INDEX)[-1] for condition in conditions):
            return True
    return False


async def _background(store: RecordStore) -> None:
    for _ in range(OTHERS):
        other = Pair(store)
        await other.start()  # five pending notices each, never delivered


async def test_per_command_queries_use_indexes(store: RecordStore, mail_server: MailServer) -> None:
    await store.upsert_institution(UNIVERSITY)
    await _background(store)
    pair = Pair(store)
    await store.upsert_cohort(pair.cohort_id, None)
    mailer = SmtpMailer.from_url(mail_server.url)

    seen, listener = _capture(store)
    event.listen(store.database.engine.sync_engine, "before_cursor_execute", listener)
    try:
        # register_application
        await store.upsert_person(pair.mentee_id, "mentee", Contact(name="Ann Example", email="ann@example.org"))
        await store.get_institution(UNIVERSITY.institution_id)
        await store.upsert_person(pair.mentor_id, "mentor", Contact(name="Bo Example", email="bo@example.org"))
        # record_events and deliver_notifications, command by command
        await pair.start()
        await deliver_pending(store, mailer, pair.pid)
        await pair.do(c.LogMeeting(held_on=day(10), minutes=60, topics=("cv",)), day(10))
        await pair.do(c.Tick(), day(60))
        await deliver_pending(store, mailer, pair.pid)
        await deliver_pending(store, None, pair.pid)  # no mailer: only the count
    finally:
        event.remove(store.database.engine.sync_engine, "before_cursor_execute", listener)
    assert mail_server.messages  # delivery really ran

    statements = {(text, tuple(params) if isinstance(params, list) else params) for text, params in seen}
    explained = [(text, params) for text, params in statements if _explained(text)]
    assert any("outbox" in text for text, _ in explained)
    problems = []
    outbox_by_partnership = 0
    for text, params in sorted(explained, key=lambda item: item[0]):
        plan = await _plan(store, text, params)
        if bad := _whole_scans(plan, store.database.is_sqlite):
            problems.append(f"{text}\n  -> {bad}")
        if re.search(r"FROM outbox\b.*\bpartnership_id\b", " ".join(text.split()), re.IGNORECASE):
            outbox_by_partnership += 1
            if not _by_partnership(plan):
                problems.append(f"{text}\n  -> not by the partnership index: {plan}")
    assert outbox_by_partnership >= 2  # the pending messages and their count
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("with_index", [True, False])
async def test_the_check_notices_a_scan(store: RecordStore, with_index: bool) -> None:
    """The plan check itself: an outbox query by status alone walks the (status, created_at) index."""
    await _background(store)
    partnership = "" if not with_index else " AND partnership_id = 'p-none'"
    statement = f"SELECT count(*) FROM outbox WHERE status = 'pending'{partnership}"
    plan = await _plan(store, statement, ())
    assert _by_partnership(plan) is with_index, plan

"""Erasure of a person (GDPR art. 17) by crypto-shredding: destroy the keys, keep the counts.

1. Refused while the person is in an open (running) partnership: end it first.
2. Destroys the person's data key (their name and e-mail address in the people registry) and the data key of
   every partnership they took part in (every Temporal payload of it: application, diary, notes, comments; and
   the free text sealed under it in the records: event data, read models, outbox context, see
   activities/records/sealing.py).
3. Clears the registry row and records a ``person_erased`` row in ``erasures`` (ids, role, reason, when), and
   revokes the calendar feed URLs of those partnerships.
4. Optionally deletes the person's closed workflow executions from Temporal.

The event logs and read models keep their ids and counts (their free text now reads ``erased``), so the cohort
report still counts the person and ``records verify`` still passes (the digests cover the sealed text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus

from activities.records import RecordStore
from activities.records import schema as s
from activities.records.datakeys import DataKeys, partnership_subject, person_subject
from contract.partnership import WORKFLOW_TYPE, SearchAttributes

MAX_REASON = 200


class ErasureRefused(Exception):
    """The person cannot be erased now; the message says why and what to do."""


class UnknownPerson(Exception):
    pass


@dataclass(frozen=True)
class Erasure:
    person_id: str
    role: str
    partnerships: tuple[str, ...]
    keys_destroyed: int
    executions_deleted: int
    already: bool = False


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


async def _executions(client: Client, person_id: str) -> list[Any]:
    sa = SearchAttributes
    who = _quote(person_id)
    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND ({sa.MENTEE_ID.name} = '{who}' OR {sa.MENTOR_ID.name} = '{who}')"
    return [wf async for wf in client.list_workflows(query)]


async def _recorded_partnerships(store: RecordStore, person_id: str) -> list[str]:
    p = s.partnerships.c

    async def work(connection: AsyncConnection) -> list[str]:
        query = select(p.id).where(or_(p.mentee_id == person_id, p.mentor_id == person_id))
        return list((await connection.execute(query)).scalars())

    return await store.database.read(work)


async def _previous(store: RecordStore, person_id: str) -> Any:
    async def work(connection: AsyncConnection) -> Any:
        query = select(s.erasures).where(s.erasures.c.person_id == person_id)
        return (await connection.execute(query)).one_or_none()

    return await store.database.read(work)


async def erase_person(
    client: Client,
    store: RecordStore,
    partnership_keys: DataKeys,
    person_id: str,
    reason: str,
    delete_executions: bool = False,
) -> Erasure:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValueError(f"--reason must be 1 to {MAX_REASON} characters (a case reference, not personal data)")
    role = await store.get_role(person_id)
    if role is None:
        raise UnknownPerson(f"no person {person_id} in the people registry")
    previous = await _previous(store, person_id)
    executions = await _executions(client, person_id)
    running = sorted(wf.id for wf in executions if wf.status == WorkflowExecutionStatus.RUNNING)
    if running:
        raise ErasureRefused(
            f"person {person_id} is in open partnership(s) {', '.join(running)}: end each first "
            "(`entrypoint intervene PARTNERSHIP_ID end_early --reason ...`, or the person withdraws), "
            "then erase"
        )
    partnerships = sorted({wf.id for wf in executions} | set(await _recorded_partnerships(store, person_id)))
    subjects = [partnership_subject(pid) for pid in partnerships]
    destroyed = await store.data_keys.destroy([person_subject(person_id)])
    destroyed += await partnership_keys.destroy(subjects)
    if partnership_keys is not store.data_keys:
        await store.data_keys.destroy(subjects)  # the same database in production; tombstones otherwise
    await store.erase_person(person_id)
    await _revoke_calendar_feeds(store, partnerships)

    deleted = 0
    if delete_executions:
        for wf in executions:
            await client.workflow_service.delete_workflow_execution(
                DeleteWorkflowExecutionRequest(
                    namespace=client.namespace,
                    workflow_execution=WorkflowExecution(workflow_id=wf.id, run_id=wf.run_id),
                )
            )
            deleted += 1

    if previous is None:
        row = {
            "person_id": person_id,
            "type": "person_erased",
            "role": role.value,
            "reason": reason,
            "partnerships": partnerships,
            "executions_deleted": deleted,
            "erased_at": datetime.now(UTC),
        }

        async def record(connection: AsyncConnection) -> None:
            dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            statement = dialect_insert(s.erasures).values(**row)
            await connection.execute(statement.on_conflict_do_nothing(index_elements=["person_id"]))

        await store.database.write(record)
    await _compact(store)
    return Erasure(person_id, role.value, tuple(partnerships), destroyed, deleted, already=previous is not None)


async def _revoke_calendar_feeds(store: RecordStore, partnerships: list[str]) -> None:
    """The erased person's partnerships' calendar feed URLs stop working (404), whoever holds them."""
    from gateway.calendar_store import CalendarStore

    calendar = CalendarStore(store.database)
    for partnership_id in partnerships:
        await calendar.revoke_feeds(partnership_id)


async def _compact(store: RecordStore) -> None:
    """SQLite: fold the WAL into the file (secure_delete has zeroed the destroyed keys' bytes)."""
    if not store.database.is_sqlite:
        return  # PostgreSQL: VACUUM data_keys and people afterwards to drop the dead row versions (README)

    async def work(connection: AsyncConnection) -> None:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async with store.database.engine.connect() as connection:
        await work(connection)

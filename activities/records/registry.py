"""The people registry (the only home of names and e-mail addresses), institutions and cohorts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.datakeys import ERASED, DataKeys, person_subject
from activities.records.engine import Database
from activities.records.errors import PersonErased
from activities.records.models import PersonRole
from activities.records.sqltypes import db_now
from domain import Contact, Institution


async def _upsert(connection: AsyncConnection, table: Table, row: dict[str, Any], updates: dict[str, Any]) -> None:
    dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement: Any = dialect_insert(table).values(**row)
    keys = [column.name for column in table.primary_key.columns]
    await connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))


async def upsert_person(
    db: Database, person_id: str, role: PersonRole | str, contact: Contact | None, keys: DataKeys | None = None
) -> None:
    """Register a person, or update their role and contact. ``contact=None`` keeps what is stored.

    The name and e-mail address are stored encrypted under the person's data key (see datakeys.py).
    """
    role = PersonRole(role)
    sealed: dict[str, Any] = {}
    if contact is not None:
        erased = await db.read(
            lambda c: c.scalar(select(s.people.c.erased_at).where(s.people.c.person_id == person_id))
        )
        if erased is not None:
            raise PersonErased(person_id)
        keys = keys or DataKeys(db)
        subject = person_subject(person_id)
        sealed["name"] = await keys.seal_text(subject, "name", contact.name)
        sealed["email"] = await keys.seal_text(subject, "email", str(contact.email) if contact.email else None)

    async def work(connection: AsyncConnection) -> None:
        erased = await connection.scalar(select(s.people.c.erased_at).where(s.people.c.person_id == person_id))
        if erased is not None:
            raise PersonErased(person_id)
        row: dict[str, Any] = {"person_id": person_id, "role": role.value}
        row |= {"created_at": db_now(), "updated_at": db_now()}
        updates: dict[str, Any] = {"role": role.value, "updated_at": db_now()}
        if contact is not None:
            row |= sealed
            updates |= sealed
        await _upsert(connection, s.people, row, updates)

    await db.write(work)


async def get_contact(db: Database, person_id: str, keys: DataKeys | None = None) -> Contact | None:
    async def work(connection: AsyncConnection) -> Any:
        query = select(s.people.c.name, s.people.c.email, s.people.c.erased_at).where(s.people.c.person_id == person_id)
        return (await connection.execute(query)).one_or_none()

    row = await db.read(work)
    if row is None or row.erased_at is not None or not row.name:
        return None
    keys = keys or DataKeys(db)
    subject = person_subject(person_id)
    name = await keys.open_text(subject, "name", row.name)
    if name is None or name == ERASED:
        return None
    return Contact(name=name, email=await keys.open_text(subject, "email", row.email))


async def get_role(db: Database, person_id: str) -> PersonRole | None:
    async def work(connection: AsyncConnection) -> PersonRole | None:
        role = await connection.scalar(select(s.people.c.role).where(s.people.c.person_id == person_id))
        return None if role is None else PersonRole(role)

    return await db.read(work)


async def erase_person(db: Database, person_id: str) -> bool:
    """Forget a person's name and e-mail address. The event logs (ids only) are untouched.

    Returns False when there is no such person. Erasing twice keeps the first erasure time.
    """

    async def work(connection: AsyncConnection) -> bool:
        p = s.people.c
        result = await connection.execute(
            update(s.people)
            .where(p.person_id == person_id)
            .values(name=None, email=None, erased_at=func.coalesce(p.erased_at, db_now()), updated_at=db_now())
        )
        return bool(result.rowcount)

    return await db.write(work)


async def upsert_institution(db: Database, institution: Institution) -> None:
    row = {"institution_id": institution.institution_id, "name": institution.name, "partner": institution.partner}

    async def work(connection: AsyncConnection) -> None:
        await _upsert(connection, s.institutions, row, {"name": row["name"], "partner": row["partner"]})

    await db.write(work)


async def get_institution(db: Database, institution_id: str) -> Institution | None:
    async def work(connection: AsyncConnection) -> Institution | None:
        query = select(s.institutions).where(s.institutions.c.institution_id == institution_id)
        row = (await connection.execute(query)).one_or_none()
        if row is None:
            return None
        return Institution(institution_id=row.institution_id, name=row.name, partner=row.partner)

    return await db.read(work)


async def upsert_cohort(db: Database, cohort_id: str, coordinator_id: str | None) -> None:
    async def work(connection: AsyncConnection) -> None:
        row = {"cohort_id": cohort_id, "coordinator_id": coordinator_id}
        await _upsert(connection, s.cohorts, row, {"coordinator_id": coordinator_id})

    await db.write(work)


async def get_cohort_coordinator(db: Database, cohort_id: str) -> str | None:
    async def work(connection: AsyncConnection) -> str | None:
        query = select(s.cohorts.c.coordinator_id).where(s.cohorts.c.cohort_id == cohort_id)
        return await connection.scalar(query)

    return await db.read(work)

"""The people registry (the only home of names and e-mail addresses), institutions and cohorts."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.engine import Database
from activities.records.errors import PersonErased, UnknownPerson
from activities.records.models import PersonRole
from activities.records.sqltypes import db_now
from domain import Contact, Institution


async def _upsert(connection: AsyncConnection, table: Table, row: dict[str, Any], updates: dict[str, Any]) -> None:
    dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement: Any = dialect_insert(table).values(**row)
    keys = [column.name for column in table.primary_key.columns]
    await connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))


class ContactOutcome(StrEnum):
    """What registering a person did to their contact data."""

    REGISTERED = "registered"
    """A new person (in this role), stored with the contact given (if any)."""
    ADDED = "added"
    """Known in this role without contact data; the contact given was stored."""
    UNCHANGED = "unchanged"
    """Known in this role with the same contact, or none given: nothing was written."""
    KEPT = "kept"
    """Known in this role with another contact: the stored one was kept (only ``change_contact`` changes it)."""


def _contact_columns(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {"name": None, "email": None}
    return {"name": contact.name, "email": str(contact.email) if contact.email else None}


async def _audit(
    connection: AsyncConnection,
    person_id: str,
    role: PersonRole,
    action: str,
    fields: list[str],
    actor: str,
    reason: str | None = None,
) -> None:
    row = {"person_id": person_id, "role": role.value, "action": action, "fields": fields, "actor": actor}
    await connection.execute(insert(s.people_audit).values(**row, reason=reason, at=db_now()))


def _key(person_id: str, role: PersonRole) -> Any:
    return (s.people.c.person_id == person_id) & (s.people.c.role == role.value)


async def register_person(
    db: Database, person_id: str, role: PersonRole | str, contact: Contact | None, *, actor: str = "application"
) -> ContactOutcome:
    """Register a person in ``role`` (people are keyed by role and id: a mentee ``x`` and a mentor ``x`` are
    two people). A contact is stored for a new person, or one known without any; an existing contact is never
    changed here (see ``change_contact``). Raises PersonErased when the person was erased."""
    role = PersonRole(role)

    async def work(connection: AsyncConnection) -> ContactOutcome:
        query = select(s.people.c.name, s.people.c.email, s.people.c.erased_at).where(_key(person_id, role))
        found = (await connection.execute(query)).one_or_none()
        if found is not None and found.erased_at is not None:
            raise PersonErased(person_id)
        columns = _contact_columns(contact)
        given = [name for name, value in columns.items() if value is not None]
        if found is None:
            row = {
                "person_id": person_id,
                "role": role.value,
                **columns,
                "created_at": db_now(),
                "updated_at": db_now(),
            }
            dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            statement: Any = dialect_insert(s.people).values(**row).on_conflict_do_nothing()
            if (await connection.execute(statement)).rowcount:
                await _audit(connection, person_id, role, "registered", given, actor)
                return ContactOutcome.REGISTERED
            return await work(connection)  # registered meanwhile by a concurrent call: decide again
        if contact is None or {"name": found.name, "email": found.email} == columns:
            return ContactOutcome.UNCHANGED
        if found.name is None and found.email is None:
            await connection.execute(
                update(s.people).where(_key(person_id, role)).values(**columns, updated_at=db_now())
            )
            await _audit(connection, person_id, role, "contact_added", given, actor)
            return ContactOutcome.ADDED
        return ContactOutcome.KEPT

    return await db.write(work)


async def change_contact(
    db: Database, person_id: str, role: PersonRole | str, contact: Contact, *, actor: str, reason: str | None = None
) -> list[str]:
    """The people registry's own command: change a person's contact data, with an audit record (the fields
    changed, who and why; never the values). Returns the fields changed (empty: nothing to change).
    Raises UnknownPerson, or PersonErased when the person was erased."""
    role = PersonRole(role)

    async def work(connection: AsyncConnection) -> list[str]:
        query = select(s.people.c.name, s.people.c.email, s.people.c.erased_at).where(_key(person_id, role))
        found = (await connection.execute(query)).one_or_none()
        if found is None:
            raise UnknownPerson(person_id, role.value)
        if found.erased_at is not None:
            raise PersonErased(person_id)
        columns = _contact_columns(contact)
        changed = [name for name, value in columns.items() if getattr(found, name) != value]
        if changed:
            await connection.execute(
                update(s.people).where(_key(person_id, role)).values(**columns, updated_at=db_now())
            )
            await _audit(connection, person_id, role, "contact_changed", changed, actor, reason)
        return changed

    return await db.write(work)


async def upsert_person(db: Database, person_id: str, role: PersonRole | str, contact: Contact | None) -> None:
    """Deprecated name of ``register_person`` (which never changes an existing contact)."""
    await register_person(db, person_id, role, contact)


async def get_contact(db: Database, person_id: str, role: PersonRole | str | None = None) -> Contact | None:
    """The contact of ``person_id`` in ``role``; None when unknown, erased or never given. Without a role the
    id must be registered in one role only (else ValueError: name the role)."""

    async def work(connection: AsyncConnection) -> Contact | None:
        p = s.people.c
        query = select(p.role, p.name, p.email, p.erased_at).where(p.person_id == person_id)
        if role is not None:
            query = query.where(p.role == PersonRole(role).value)
        rows = (await connection.execute(query)).all()
        if len(rows) > 1:
            raise ValueError(f"person {person_id} is registered in several roles; name the role")
        row = rows[0] if rows else None
        if row is None or row.erased_at is not None or not row.name:
            return None
        try:
            return Contact(name=row.name, email=row.email)
        except ValidationError:  # stored before today's limits: handed back as it is (delivery checks it again)
            return Contact.model_construct(name=row.name, email=row.email)

    return await db.read(work)


async def get_roles(db: Database, person_id: str) -> tuple[PersonRole, ...]:
    """The roles ``person_id`` is registered in (erased or not), in order."""

    async def work(connection: AsyncConnection) -> tuple[PersonRole, ...]:
        query = select(s.people.c.role).where(s.people.c.person_id == person_id).order_by(s.people.c.role)
        return tuple(PersonRole(role) for role in (await connection.scalars(query)).all())

    return await db.read(work)


async def get_role(db: Database, person_id: str) -> PersonRole | None:
    """The one role ``person_id`` holds (the first, by name, should they hold several); None when unknown."""
    roles = await get_roles(db, person_id)
    return roles[0] if roles else None


async def audit_trail(db: Database, person_id: str, role: PersonRole | str | None = None) -> list[dict[str, Any]]:
    """The audit records of a person, oldest first: ``action``, ``role``, ``fields``, ``actor``, ``reason``, ``at``."""

    async def work(connection: AsyncConnection) -> list[dict[str, Any]]:
        a = s.people_audit.c
        query = select(s.people_audit).where(a.person_id == person_id).order_by(a.id)
        if role is not None:
            query = query.where(a.role == PersonRole(role).value)
        rows = (await connection.execute(query)).all()
        keys = ("action", "role", "fields", "actor", "reason", "at")
        return [{key: getattr(row, key) for key in keys} for row in rows]

    return await db.read(work)


async def erase_person(db: Database, person_id: str, role: PersonRole | str | None = None) -> bool:
    """Forget a person's name and e-mail address (in ``role``, or in every role they hold). The event logs
    (ids only) are untouched. Returns False when there is no such person. Erasing twice keeps the first time.
    """

    async def work(connection: AsyncConnection) -> bool:
        p = s.people.c
        where = p.person_id == person_id
        if role is not None:
            where = where & (p.role == PersonRole(role).value)
        roles = (await connection.scalars(select(p.role).where(where, p.erased_at.is_(None)))).all()
        result = await connection.execute(
            update(s.people)
            .where(where)
            .values(name=None, email=None, erased_at=func.coalesce(p.erased_at, db_now()), updated_at=db_now())
        )
        for erased in roles:
            await _audit(connection, person_id, PersonRole(erased), "erased", ["name", "email"], "erasure")
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

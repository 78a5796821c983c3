"""The people registry (the only home of names and e-mail addresses), institutions and cohorts.

People are keyed by role and id (a mentee ``x`` and a mentor ``x`` are two people), and an existing contact
changes only through ``change_contact``, with an audit record. Names and e-mail addresses are stored encrypted
under the person's data key (``datakeys.py``), so erasure (destroying the key) leaves nothing readable.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.datakeys import ERASED, DataKeys, person_subject
from activities.records.engine import Database
from activities.records.errors import PersonErased, UnknownPerson
from activities.records.models import PersonRole
from activities.records.sqltypes import db_now
from domain import Contact, Institution, Language


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


def _plain(contact: Contact | None) -> dict[str, str | None]:
    if contact is None:
        return {"name": None, "email": None}
    return {"name": contact.name, "email": str(contact.email) if contact.email else None}


def _language(contact: Contact | None) -> str | None:
    """The language the contact gives (None: not given, so whatever is stored stays)."""
    return contact.preferred_language.value if contact is not None and contact.preferred_language else None


def _stored_language(row: Any) -> Language | None:
    value = getattr(row, "preferred_language", None)
    try:
        return Language(value) if value else None
    except ValueError:  # pragma: no cover - the column's check constraint keeps other values out
        return None


async def _seal(keys: DataKeys, person_id: str, contact: Contact | None) -> dict[str, str | None]:
    subject = person_subject(person_id)
    plain = _plain(contact)
    return {field: await keys.seal_text(subject, field, value) for field, value in plain.items()}


async def _open(keys: DataKeys, person_id: str, row: Any) -> dict[str, str | None]:
    subject = person_subject(person_id)
    return {field: await keys.open_text(subject, field, getattr(row, field)) for field in ("name", "email")}


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


async def _find(db: Database, person_id: str, role: PersonRole) -> Any:
    """The person's row in ``role`` (None when unknown); PersonErased when the id was erased in any role."""

    async def work(connection: AsyncConnection) -> Any:
        p = s.people.c
        rows = (
            await connection.execute(
                select(p.role, p.name, p.email, p.preferred_language, p.erased_at).where(p.person_id == person_id)
            )
        ).all()
        if any(row.erased_at is not None for row in rows):
            raise PersonErased(person_id)
        return next((row for row in rows if row.role == role.value), None)

    return await db.read(work)


async def register_person(
    db: Database,
    person_id: str,
    role: PersonRole | str,
    contact: Contact | None,
    *,
    actor: str = "application",
    keys: DataKeys | None = None,
) -> ContactOutcome:
    """Register a person in ``role``. A contact is stored for a new person, or one known without any; an existing
    contact is never changed here (see ``change_contact``). Raises PersonErased when the person was erased."""
    role = PersonRole(role)
    keys = keys or DataKeys(db)
    found = await _find(db, person_id, role)
    given = [field for field, value in _plain(contact).items() if value is not None]
    if _language(contact) is not None:
        given.append("preferred_language")
    if found is None:
        sealed = await _seal(keys, person_id, contact)

        async def insert_new(connection: AsyncConnection) -> bool:
            row = {
                "person_id": person_id,
                "role": role.value,
                **sealed,
                "preferred_language": _language(contact),
                "created_at": db_now(),
                "updated_at": db_now(),
            }
            dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            statement: Any = dialect_insert(s.people).values(**row).on_conflict_do_nothing()
            if (await connection.execute(statement)).rowcount:
                await _audit(connection, person_id, role, "registered", given, actor)
                return True
            return False

        if await db.write(insert_new):
            return ContactOutcome.REGISTERED
        return await register_person(db, person_id, role, contact, actor=actor, keys=keys)  # registered meanwhile
    if contact is None:
        return ContactOutcome.UNCHANGED
    if found.name is None and found.email is None:
        sealed = await _seal(keys, person_id, contact)

        async def add(connection: AsyncConnection) -> bool:
            where = _key(person_id, role) & s.people.c.name.is_(None) & s.people.c.email.is_(None)
            language = {"preferred_language": _language(contact)} if _language(contact) else {}
            values = {**sealed, **language, "updated_at": db_now()}
            result = await connection.execute(update(s.people).where(where).values(**values))
            if result.rowcount:
                await _audit(connection, person_id, role, "contact_added", given, actor)
            return bool(result.rowcount)

        if await db.write(add):
            return ContactOutcome.ADDED
        return await register_person(db, person_id, role, contact, actor=actor, keys=keys)
    same_language = _language(contact) in (None, found.preferred_language)
    same = same_language and await _open(keys, person_id, found) == _plain(contact)
    return ContactOutcome.UNCHANGED if same else ContactOutcome.KEPT


async def change_contact(
    db: Database,
    person_id: str,
    role: PersonRole | str,
    contact: Contact,
    *,
    actor: str,
    reason: str | None = None,
    keys: DataKeys | None = None,
) -> list[str]:
    """The people registry's own command: change a person's contact data, with an audit record (the fields
    changed, who and why; never the values). Returns the fields changed (empty: nothing to change).
    Raises UnknownPerson, or PersonErased when the person was erased."""
    role = PersonRole(role)
    keys = keys or DataKeys(db)
    found = await _find(db, person_id, role)
    if found is None:
        raise UnknownPerson(person_id, role.value)
    current = await _open(keys, person_id, found)
    wanted = _plain(contact)
    changed = [field for field, value in wanted.items() if current[field] != value]
    language = _language(contact)  # None: not given, the stored one stays
    if language is not None and language != found.preferred_language:
        changed.append("preferred_language")
    if changed:
        sealed = await _seal(keys, person_id, contact)
        values = {**sealed, **({"preferred_language": language} if language else {}), "updated_at": db_now()}

        async def work(connection: AsyncConnection) -> None:
            await connection.execute(update(s.people).where(_key(person_id, role)).values(**values))
            await _audit(connection, person_id, role, "contact_changed", changed, actor, reason)

        await db.write(work)
    return changed


async def upsert_person(
    db: Database, person_id: str, role: PersonRole | str, contact: Contact | None, keys: DataKeys | None = None
) -> None:
    """Deprecated name of ``register_person`` (which never changes an existing contact)."""
    await register_person(db, person_id, role, contact, keys=keys)


async def get_contact(
    db: Database, person_id: str, role: PersonRole | str | None = None, keys: DataKeys | None = None
) -> Contact | None:
    """The contact of ``person_id`` in ``role``; None when unknown, erased or never given. Without a role the
    id must be registered in one role only (else ValueError: name the role)."""

    async def work(connection: AsyncConnection) -> Any:
        p = s.people.c
        query = select(p.role, p.name, p.email, p.preferred_language, p.erased_at).where(p.person_id == person_id)
        if role is not None:
            query = query.where(p.role == PersonRole(role).value)
        rows = (await connection.execute(query)).all()
        if len(rows) > 1:
            raise ValueError(f"person {person_id} is registered in several roles; name the role")
        return rows[0] if rows else None

    row = await db.read(work)
    if row is None or row.erased_at is not None or not row.name:
        return None
    opened = await _open(keys or DataKeys(db), person_id, row)
    if opened["name"] is None or opened["name"] == ERASED:
        return None
    language = _stored_language(row)
    try:
        return Contact(name=opened["name"], email=opened["email"], preferred_language=language)
    except ValidationError:  # stored before today's limits: handed back as it is (delivery checks it again)
        return Contact.model_construct(name=opened["name"], email=opened["email"], preferred_language=language)


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
            .values(
                name=None,
                email=None,
                preferred_language=None,
                erased_at=func.coalesce(p.erased_at, db_now()),
                updated_at=db_now(),
            )
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

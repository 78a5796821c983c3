"""The mentor pool (profiles and availability per cohort) and the queries a matching round needs.

Profiles hold ids and programme facts only; a mentor's name and e-mail address go to the people
registry (``people``), so they can be erased without touching the pool or any history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import registry
from activities.records import schema as s
from activities.records.datakeys import DataKeys, partnership_subject
from activities.records.engine import Database
from activities.records.errors import RecordsError
from activities.records.models import PersonRole
from activities.records.sealing import SEALED_CONTEXT, holds_sealed, sealer_for
from activities.records.sqltypes import db_now
from domain import Contact, MenteeProfile, MentorProfile
from domain.partnership.state import MATCHED_STAGES, Stage

IMPORT_ACTOR = "mentor-import"
"""Who the people registry's audit names for changes made by a mentor pool import."""


class UnknownMentor(RecordsError, LookupError):
    def __init__(self, mentor_id: str) -> None:
        super().__init__(f"no mentor {mentor_id} in the pool")
        self.mentor_id = mentor_id


class MentorRecord(BaseModel):
    """A mentor as the pool keeps them: the profile, the cohorts they are available for, and when they
    withdrew (None while in the pool)."""

    model_config = ConfigDict(frozen=True)
    profile: MentorProfile
    cohorts: tuple[str, ...]
    withdrawn_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _insert(connection: AsyncConnection) -> Any:
    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


def _profile_columns(profile: MentorProfile) -> dict[str, Any]:
    return {
        "organisation_id": profile.organisation_id,
        "sector": profile.sector.value,
        "expertise": list(profile.expertise),
        "interests": list(profile.interests),
        "languages": list(profile.languages),
        "capacity": profile.capacity,
        "conflicts": list(profile.conflicts),
    }


def _profile(row: Row[Any]) -> MentorProfile:
    return MentorProfile(
        mentor_id=row.mentor_id,
        organisation_id=row.organisation_id,
        sector=row.sector,
        expertise=tuple(row.expertise),
        interests=tuple(row.interests),
        languages=tuple(row.languages),
        capacity=row.capacity,
        conflicts=tuple(row.conflicts),
    )


async def _add_availability(connection: AsyncConnection, mentor_id: str, cohorts: Sequence[str]) -> None:
    rows = [{"mentor_id": mentor_id, "cohort_id": cohort} for cohort in dict.fromkeys(cohorts)]
    if rows:
        statement = _insert(connection)(s.mentor_availability).on_conflict_do_nothing()
        await connection.execute(statement, rows)


async def upsert_mentor(
    db: Database,
    profile: MentorProfile,
    contact: Contact | None = None,
    cohorts: Sequence[str] = (),
    *,
    reinstate: bool = False,
    keys: DataKeys | None = None,
) -> None:
    """Add a mentor to the pool or update their profile, and make them available for ``cohorts`` (added to
    the cohorts already recorded). The contact goes to the people registry (``None`` keeps what is there).

    A withdrawn mentor stays withdrawn (an old list imported again must not bring them back) unless
    ``reinstate``. Raises ``PersonErased`` when the person was erased from the registry.
    """
    outcome = await registry.register_person(
        db, profile.mentor_id, PersonRole.MENTOR, contact, actor=IMPORT_ACTOR, keys=keys
    )
    if outcome == registry.ContactOutcome.KEPT and contact is not None:
        # The pool's own list is the authority on its mentors' contacts: the change goes through the
        # registry's command, with an audit record. Only the mentor record (role mentor) is ever touched.
        await registry.change_contact(
            db,
            profile.mentor_id,
            PersonRole.MENTOR,
            contact,
            actor=IMPORT_ACTOR,
            reason="mentor pool import",
            keys=keys,
        )
    columns = _profile_columns(profile)

    async def work(connection: AsyncConnection) -> None:
        row = {"mentor_id": profile.mentor_id, **columns, "created_at": db_now(), "updated_at": db_now()}
        updates: dict[str, Any] = {**columns, "updated_at": db_now()}
        if reinstate:
            updates["withdrawn_at"] = None
        statement = _insert(connection)(s.mentors).values(**row)
        await connection.execute(statement.on_conflict_do_update(index_elements=["mentor_id"], set_=updates))
        await _add_availability(connection, profile.mentor_id, cohorts)

    await db.write(work)


async def get_mentor(db: Database, mentor_id: str) -> MentorProfile | None:
    record = await get_mentor_record(db, mentor_id)
    return None if record is None else record.profile


async def get_mentor_record(db: Database, mentor_id: str) -> MentorRecord | None:
    records = await list_mentor_records(db, None, include_withdrawn=True, mentor_id=mentor_id)
    return records[0] if records else None


async def list_mentor_records(
    db: Database, cohort_id: str | None = None, include_withdrawn: bool = False, *, mentor_id: str | None = None
) -> list[MentorRecord]:
    """Mentors by id; with ``cohort_id`` only those available for it; withdrawn ones only if asked for."""
    m, a = s.mentors.c, s.mentor_availability.c

    async def work(connection: AsyncConnection) -> list[MentorRecord]:
        query = select(s.mentors).order_by(m.mentor_id)
        if mentor_id is not None:
            query = query.where(m.mentor_id == mentor_id)
        if cohort_id is not None:
            available = select(a.mentor_id).where(a.cohort_id == cohort_id)
            query = query.where(m.mentor_id.in_(available))
        if not include_withdrawn:
            query = query.where(m.withdrawn_at.is_(None))
        rows = (await connection.execute(query)).all()
        if not rows:
            return []
        cohorts: dict[str, list[str]] = {}
        availability = select(a.mentor_id, a.cohort_id).order_by(a.mentor_id, a.cohort_id)
        if mentor_id is not None:
            availability = availability.where(a.mentor_id == mentor_id)
        elif cohort_id is not None:
            availability = availability.where(a.mentor_id.in_(select(a.mentor_id).where(a.cohort_id == cohort_id)))
        for found in (await connection.execute(availability)).all():
            cohorts.setdefault(found.mentor_id, []).append(found.cohort_id)
        return [
            MentorRecord(
                profile=_profile(row),
                cohorts=tuple(cohorts.get(row.mentor_id, ())),
                withdrawn_at=row.withdrawn_at,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    return await db.read(work)


async def list_mentors(
    db: Database, cohort_id: str | None = None, include_withdrawn: bool = False
) -> list[MentorProfile]:
    return [r.profile for r in await list_mentor_records(db, cohort_id, include_withdrawn)]


async def withdraw_mentor(db: Database, mentor_id: str) -> bool:
    """Take a mentor out of the pool (they are kept, marked withdrawn; a second call keeps the first time).
    False when there is no such mentor. Partnerships they are already in are not changed here."""

    async def work(connection: AsyncConnection) -> bool:
        m = s.mentors.c
        result = await connection.execute(
            update(s.mentors)
            .where(m.mentor_id == mentor_id)
            .values(withdrawn_at=func.coalesce(m.withdrawn_at, db_now()), updated_at=db_now())
        )
        return bool(result.rowcount)

    return await db.write(work)


async def set_availability(db: Database, mentor_id: str, cohort_id: str, available: bool) -> None:
    """Make a mentor available for a cohort, or not. Raises ``UnknownMentor``."""

    async def work(connection: AsyncConnection) -> None:
        exists = await connection.scalar(select(s.mentors.c.mentor_id).where(s.mentors.c.mentor_id == mentor_id))
        if exists is None:
            raise UnknownMentor(mentor_id)
        if available:
            await _add_availability(connection, mentor_id, [cohort_id])
        else:
            a = s.mentor_availability.c
            await connection.execute(
                delete(s.mentor_availability).where(a.mentor_id == mentor_id, a.cohort_id == cohort_id)
            )

    await db.write(work)


# ---------------------------------------------------------------------------------------------- for a matching round


async def list_awaiting_match(
    db: Database, cohort_id: str, limit: int | None = None, keys: DataKeys | None = None
) -> list[MenteeProfile]:
    """The mentees of the cohort's partnerships that wait for a match (read model stage AWAITING_MATCH),
    by partnership id, from the stored state. A profile's sealed text (its goals) is opened with the
    partnership's data key (``erased`` once it is destroyed); without ``keys`` it is left sealed."""
    p = s.partnerships.c

    async def work(connection: AsyncConnection) -> list[tuple[str, Any]]:
        query = (
            select(p.id, p.state)
            .where(p.cohort_id == cohort_id, p.stage == Stage.AWAITING_MATCH.value)
            .order_by(p.id)
            .limit(limit)
        )
        return [(row.id, row.state["mentee"]) for row in await connection.execute(query) if row.state.get("mentee")]

    found = await db.read(work)
    if keys is not None:
        await keys.preload(partnership_subject(pid) for pid, mentee in found if holds_sealed(mentee))
    profiles = []
    for partnership_id, mentee in found:
        if keys is not None and holds_sealed(mentee):
            mentee = (await sealer_for(keys, partnership_id)).open_json(mentee)
        profiles.append(MenteeProfile.model_validate(mentee, context=SEALED_CONTEXT))
    return profiles


async def mentor_load(db: Database, cohort_id: str) -> dict[str, int]:
    """Per mentor, the cohort's partnerships that take one of their slots (awaiting signatures, active,
    paused). Mentors with none are left out."""
    p = s.partnerships.c

    async def work(connection: AsyncConnection) -> dict[str, int]:
        query = (
            select(p.mentor_id, func.count())
            .where(
                p.cohort_id == cohort_id,
                p.stage.in_(sorted(stage.value for stage in MATCHED_STAGES)),
                p.mentor_id.is_not(None),
            )
            .group_by(p.mentor_id)
            .order_by(p.mentor_id)
        )
        return {mentor_id: int(count) for mentor_id, count in (await connection.execute(query)).all()}

    return await db.read(work)


async def previous_mentors(db: Database, cohort_id: str) -> dict[str, tuple[str, ...]]:
    """For the cohort's mentees awaiting a match after a rematch: the mentors they had before (by mentee id),
    to pass to a matching round as exclusions."""
    p = s.partnerships.c

    async def work(connection: AsyncConnection) -> dict[str, tuple[str, ...]]:
        query = (
            select(p.mentee_id, p.state)
            .where(p.cohort_id == cohort_id, p.stage == Stage.AWAITING_MATCH.value)
            .order_by(p.id)
        )
        found: dict[str, tuple[str, ...]] = {}
        for mentee_id, state in (await connection.execute(query)).all():
            if before := tuple(state.get("previous_mentor_ids") or ()):
                found[mentee_id] = before
        return found

    return await db.read(work)

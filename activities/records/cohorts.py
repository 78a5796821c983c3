"""A cohort's records: its partnerships' states, its matching rounds and its closing report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.datakeys import ERASED, DataKeys, Erased, UnknownDataKey, partnership_subject
from activities.records.engine import Database
from activities.records.log import stored_state
from activities.records.sealing import KeyringSealer, Sealer, holds_keyring_sealed, holds_sealed, sealer_for
from activities.records.sqltypes import db_now
from domain.cohort import CohortReport
from domain.matching import MatchingResult
from domain.partnership import PartnershipState


def _insert(connection: AsyncConnection, table: Any) -> Any:
    return (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(table)


async def list_states(db: Database, cohort_id: str) -> list[PartnershipState]:
    """Every partnership of the cohort, as its read model holds it (ordered by id)."""

    async def work(connection: AsyncConnection) -> list[PartnershipState]:
        query = (
            select(s.partnerships.c.id, s.partnerships.c.state)
            .where(s.partnerships.c.cohort_id == cohort_id)
            .order_by(s.partnerships.c.id)
        )
        rows = (await connection.execute(query)).all()
        return [await stored_state(connection, partnership_id, state) for partnership_id, state in rows]

    return await db.read(work)


def round_subject(round_id: str) -> str:
    """What a round's keyring-sealed reasons name in their associated data (``round:<id>/text``)."""
    return f"round:{round_id}"


async def _partnerships_of(connection: AsyncConnection, cohort_id: str, mentee_ids: set[str]) -> dict[str, str]:
    """The cohort's partnership of each of these mentees (mentee id → partnership id), those on file."""
    if not mentee_ids:
        return {}
    p = s.partnerships.c
    query = select(p.mentee_id, p.id).where(p.cohort_id == cohort_id, p.mentee_id.in_(sorted(mentee_ids)))
    return {mentee_id: partnership_id for mentee_id, partnership_id in await connection.execute(query)}


async def _sealers(
    db: Database, keys: DataKeys, round_id: str, cohort_id: str, result: MatchingResult, *, create: bool
) -> dict[str, Sealer | KeyringSealer]:
    """Per mentee of the round: what seals (opens) their reasons. A mentee's partnership's data key, so that
    erasing the person erases them too; the keyring's current key for a mentee with no partnership on file."""
    mentees = {p.mentee_id for p in result.proposals} | {u.mentee_id for u in result.unmatched}
    found = await db.read(lambda connection: _partnerships_of(connection, cohort_id, mentees))
    fallback = KeyringSealer(keys.keyring, round_subject(round_id))
    await keys.preload(partnership_subject(partnership_id) for partnership_id in found.values())
    sealers: dict[str, Sealer | KeyringSealer] = {}
    for mentee_id in sorted(mentees):
        partnership_id = found.get(mentee_id)
        if partnership_id is None:
            sealers[mentee_id] = fallback
            continue
        try:
            sealers[mentee_id] = await sealer_for(keys, partnership_id, create=create)
        except (Erased, UnknownDataKey):  # making: the partnership was erased, nothing of it is written
            sealers[mentee_id] = Sealer(partnership_id, None)
    return sealers


def _reasons(
    sealer: Sealer | KeyringSealer, fallback: KeyringSealer, reasons: tuple[str, ...], *, seal: bool
) -> tuple[str, ...]:
    if not seal:
        # A mentee with no partnership on file when the round was stored may have one now: what the keyring
        # sealed is opened by the keyring either way (a partnership's sealer leaves it as it is).
        return tuple(fallback.open(sealer.open(reason)) for reason in reasons)
    if isinstance(sealer, Sealer) and sealer.erased:
        return tuple(ERASED for _ in reasons)
    return sealer.seal_all(reasons)


def _with_reasons(
    result: MatchingResult, round_id: str, keys: DataKeys, sealers: dict[str, Sealer | KeyringSealer], *, seal: bool
) -> MatchingResult:
    """The round with each mentee's reasons sealed (``seal``) or opened."""
    fallback = KeyringSealer(keys.keyring, round_subject(round_id))

    def reasons(mentee_id: str, given: tuple[str, ...]) -> tuple[str, ...]:
        return _reasons(sealers[mentee_id], fallback, given, seal=seal)

    return result.replace(
        proposals=tuple(p.replace(reasons=reasons(p.mentee_id, p.reasons)) for p in result.proposals),
        unmatched=tuple(u.replace(reasons=reasons(u.mentee_id, u.reasons)) for u in result.unmatched),
    )


async def save_round(
    db: Database, round_id: str, cohort_id: str, number: int, result: MatchingResult, keys: DataKeys | None = None
) -> None:
    """Store a round's proposals; a recomputed round (pins, exclusions, a retried activity) replaces them.
    With ``keys``, every mentee's reasons (which may quote their goals and interests) are sealed first."""
    if keys is not None:
        sealers = await _sealers(db, keys, round_id, cohort_id, result, create=True)
        result = _with_reasons(result, round_id, keys, sealers, seal=True)
    data = result.model_dump(mode="json")

    async def work(connection: AsyncConnection) -> None:
        statement = _insert(connection, s.matching_rounds).values(
            round_id=round_id, cohort_id=cohort_id, number=number, result=data
        )
        await connection.execute(
            statement.on_conflict_do_update(index_elements=["round_id"], set_={"result": data, "updated_at": db_now()})
        )

    await db.write(work)


async def load_round(
    db: Database, round_id: str, keys: DataKeys | None = None, *, sealed: bool = False
) -> MatchingResult | None:
    """A stored round, its reasons opened with ``keys`` (``erased`` for a partnership erased since); as stored
    without ``keys`` or when ``sealed``."""

    async def work(connection: AsyncConnection) -> tuple[str, Any] | None:
        row = (
            await connection.execute(
                select(s.matching_rounds.c.cohort_id, s.matching_rounds.c.result).where(
                    s.matching_rounds.c.round_id == round_id
                )
            )
        ).one_or_none()
        return None if row is None else (row.cohort_id, row.result)

    found = await db.read(work)
    if found is None:
        return None
    cohort_id, data = found
    result = MatchingResult.model_validate(data)
    if keys is None or sealed or not (holds_sealed(data) or holds_keyring_sealed(data)):
        return result
    sealers = await _sealers(db, keys, round_id, cohort_id, result, create=False)
    return _with_reasons(result, round_id, keys, sealers, seal=False)


async def save_report(db: Database, cohort_id: str, report: CohortReport) -> None:
    data = report.model_dump(mode="json")

    async def work(connection: AsyncConnection) -> None:
        statement = _insert(connection, s.cohort_reports).values(cohort_id=cohort_id, report=data)
        await connection.execute(
            statement.on_conflict_do_update(index_elements=["cohort_id"], set_={"report": data, "created_at": db_now()})
        )

    await db.write(work)


async def load_report(db: Database, cohort_id: str) -> CohortReport | None:
    async def work(connection: AsyncConnection) -> CohortReport | None:
        data = await connection.scalar(
            select(s.cohort_reports.c.report).where(s.cohort_reports.c.cohort_id == cohort_id)
        )
        return None if data is None else CohortReport.model_validate(data)

    return await db.read(work)

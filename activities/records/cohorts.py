"""A cohort's records: its partnerships' states, its matching rounds and its closing report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import schema as s
from activities.records.engine import Database
from activities.records.log import stored_state
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


async def save_round(db: Database, round_id: str, cohort_id: str, number: int, result: MatchingResult) -> None:
    """Store a round's proposals; a recomputed round (pins, exclusions, a retried activity) replaces them."""
    data = result.model_dump(mode="json")

    async def work(connection: AsyncConnection) -> None:
        statement = _insert(connection, s.matching_rounds).values(
            round_id=round_id, cohort_id=cohort_id, number=number, result=data
        )
        await connection.execute(
            statement.on_conflict_do_update(index_elements=["round_id"], set_={"result": data, "updated_at": db_now()})
        )

    await db.write(work)


async def load_round(db: Database, round_id: str) -> MatchingResult | None:
    async def work(connection: AsyncConnection) -> MatchingResult | None:
        data = await connection.scalar(
            select(s.matching_rounds.c.result).where(s.matching_rounds.c.round_id == round_id)
        )
        return None if data is None else MatchingResult.model_validate(data)

    return await db.read(work)


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

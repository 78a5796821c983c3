"""Migrations: idempotent, reversible, and exactly the schema ``schema.py`` describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from activities.records import migrate
from activities.records.engine import create_engine, display_url, normalise_url
from activities.records.schema import metadata
from activities.records.scratch import postgres_unavailable, private_postgres
from tests.records.helpers import HEAD


async def _diffs(url: str, target: sa.MetaData = metadata) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        # Only our tables: other components may keep tables of their own in the same database.
        def include_name(name: str | None, kind: str, parents: Any) -> bool:
            return kind != "table" or name in target.tables

        opts = {"compare_type": True, "compare_server_default": True, "include_name": include_name}
        return list(compare_metadata(MigrationContext.configure(connection, opts=opts), target))

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def test_the_migrated_database_matches_schema_py(database_url: str) -> None:
    assert await _diffs(database_url) == []


async def test_the_comparison_would_notice_a_difference(database_url: str) -> None:
    changed = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["events"].c["type"].type = sa.String(100)
    changed.tables["outbox"].append_column(sa.Column("priority", sa.Integer))
    kinds = sorted(diff[0][0] if isinstance(diff, list) else diff[0] for diff in await _diffs(database_url, changed))
    assert kinds == ["add_column", "modify_type"]


async def test_upgrading_again_changes_nothing(database_url: str) -> None:
    result = await migrate.upgrade(database_url)
    assert not result.changed and result.after == migrate.head() == HEAD
    assert "nothing to do" in result.describe()
    assert await migrate.current(database_url) == migrate.head()


async def test_a_fresh_database_upgrades_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'dir' / 'records.db'}"  # the directory is created
    assert await migrate.current(url) is None
    first = await migrate.upgrade(url)
    assert (first.before, first.after, first.changed) == (None, HEAD, True)
    assert first.steps and first.steps[0].startswith("0001: Initial schema")
    assert (await migrate.upgrade(url)).changed is False
    down = await migrate.downgrade(url, "base")
    assert (down.before, down.after) == (HEAD, None)
    assert (await migrate.upgrade(url)).after == HEAD
    assert await _diffs(url) == []


def test_the_migration_scripts_ship_inside_the_package() -> None:
    assert migrate.MIGRATIONS.is_dir()
    assert (migrate.MIGRATIONS / "env.py").is_file() and (migrate.MIGRATIONS / "script.py.mako").is_file()
    revisions = [script.revision for script in migrate.scripts().walk_revisions()]
    assert revisions == sorted(revisions, reverse=True) and revisions[-1] == "0001"
    assert revisions[0] == migrate.head() == HEAD and len(revisions) == len(set(revisions))


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:", "mysql+aiomysql://u@h/db"])
def test_unsupported_urls_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(ValueError, match=r"in-memory|unsupported database URL"):
        create_engine(url)


def test_plain_driver_names_get_the_async_driver() -> None:
    assert normalise_url("postgresql://u:secret@h/db").drivername == "postgresql+asyncpg"
    assert normalise_url("sqlite:///var/x.db").drivername == "sqlite+aiosqlite"
    assert "secret" not in display_url("postgresql+asyncpg://u:secret@h/db")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_0007_keeps_every_person_and_keys_people_by_role(tmp_path: Path, backend: str) -> None:
    """People stored before 0007 keep their one role; after it, one id may hold several roles; going back
    keeps, per id, the record registered first (a mentor's over a mentee's on a tie)."""
    if backend == "sqlite":
        await _people_by_role(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
        return
    reason = await postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    async with private_postgres("entrypoint_mig0007") as url:
        await migrate.downgrade(url, "base")  # it comes migrated to the head
        await _people_by_role(url)


async def _people_by_role(url: str) -> None:
    await migrate.upgrade(url, "0004")
    engine = create_engine(url)
    people = sa.table("people", sa.column("person_id"), sa.column("role"), sa.column("name"))
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.insert(people).values(person_id="p-1", role="mentor", name="Aino"))
        await migrate.upgrade(url)
        async with engine.begin() as connection:
            await connection.execute(sa.insert(people).values(person_id="p-1", role="mentee", name="Eve"))
            rows = (await connection.execute(sa.select(people).order_by(people.c.role))).all()
        assert [(r.person_id, r.role, r.name) for r in rows] == [("p-1", "mentee", "Eve"), ("p-1", "mentor", "Aino")]
        await migrate.downgrade(url, "0004")
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.select(people))).all()
        assert [(r.person_id, r.role) for r in rows] == [("p-1", "mentor")]
    finally:
        await engine.dispose()

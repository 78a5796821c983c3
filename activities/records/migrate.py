"""Schema migrations (Alembic, scripts shipped in ``migrations/``), configured in code: no alembic.ini.

``await upgrade(url)`` brings a database to the newest revision; running it again does nothing.
Each run is one transaction, and concurrent runs queue (PostgreSQL: an advisory lock; SQLite:
``BEGIN IMMEDIATE``), so a worker and a CLI starting together cannot both create the tables.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records.engine import Database, create_engine, display_url

MIGRATIONS = Path(__file__).with_name("migrations")
_ADVISORY_LOCK = 0x656E747279  # "entry": one migration at a time per PostgreSQL database


class MigrationResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    url: str
    """The database, password hidden."""
    before: str | None
    after: str | None
    steps: tuple[str, ...] = ()
    """The revisions run, in order, each as ``"<revision>: <what it does>"``."""

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        where = f"revision {self.after}" if self.after else "an empty schema"
        if not self.changed:
            return f"{self.url}: already at {where}; nothing to do"
        lines = [f"{self.url}: migrated from {self.before or 'an empty database'} to {where}"]
        lines.extend(f"  {step}" for step in self.steps)
        return "\n".join(lines)


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration, without a file. ``url`` is only needed to run ``alembic`` itself."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str | None:
    return scripts().get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _steps(before: str | None, after: str | None) -> tuple[str, ...]:
    if before == after:
        return ()
    try:
        if after is None:
            raise RevisionError("down to base")
        found = list(scripts().iterate_revisions(after, before))
        found.reverse()  # upgrades run oldest first
    except RevisionError:  # a downgrade (to base, or to an older revision)
        found = list(scripts().iterate_revisions(before, after))
    return tuple(f"{script.revision}: {(script.doc or '').strip()}" for script in found)


async def _migrate(url: str, run: Callable[[Config], None]) -> MigrationResult:
    def work_sync(connection: Connection) -> tuple[str | None, str | None]:
        before = _current(connection)
        config = alembic_config()
        config.attributes["connection"] = connection
        run(config)
        return before, _current(connection)

    async def work(connection: AsyncConnection) -> tuple[str | None, str | None]:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        return await connection.run_sync(work_sync)

    database = Database(create_engine(url))
    try:
        before, after = await database.write(work)
    finally:
        await database.close()
    return MigrationResult(url=display_url(url), before=before, after=after, steps=_steps(before, after))


async def upgrade(url: str, revision: str = "head") -> MigrationResult:
    """Migrate the database at ``url`` up to ``revision`` (default: the newest), in one transaction."""
    return await _migrate(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> MigrationResult:
    """Migrate down to ``revision`` (``"base"``: drop everything). For development; data is lost."""
    return await _migrate(url, lambda config: command.downgrade(config, revision))


async def current(url: str) -> str | None:
    """The database's revision (None when it has never been migrated)."""
    database = Database(create_engine(url))

    async def work(connection: AsyncConnection) -> str | None:
        return await connection.run_sync(_current)

    try:
        return await database.read(work)
    finally:
        await database.close()

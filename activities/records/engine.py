"""Engines and transactions for both supported databases.

SQLite (``sqlite+aiosqlite:///path``): the file's directory is created, WAL journal, busy timeout and
foreign keys are switched on for every connection, and SQLAlchemy (not the sqlite3 module) emits
``BEGIN``, so that writes start with ``BEGIN IMMEDIATE`` and take the write lock up front: two writers
queue on the lock instead of failing halfway. PostgreSQL (``postgresql+asyncpg://``): a pre-pinged pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")

BUSY_TIMEOUT_MS = 15_000
SQLITE_BEGIN = "entrypoint_sqlite_begin"
RETRY_ATTEMPTS = 6
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def normalise_url(url: str | URL) -> URL:
    """The URL with the async driver this store uses; rejects anything but SQLite and PostgreSQL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
            "use sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user@host/db"
        )
    return parsed.set(drivername=_ASYNC_DRIVERS[backend])


def display_url(url: str | URL) -> str:
    """The URL with its password hidden: safe to print and log."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str | URL) -> AsyncEngine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise ValueError(
                "an in-memory SQLite database cannot be shared by the store's connections: "
                "use a file, e.g. sqlite+aiosqlite:///var/records.db"
            )
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            parsed, pool_size=5, max_overflow=5, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(parsed, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "foreign_keys=ON",
            "synchronous=NORMAL",
            "secure_delete=ON",  # erased data and destroyed keys are overwritten, not left in free pages
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def is_retryable(error: DBAPIError) -> bool:
    """A transient lock error: SQLite busy past its timeout, a PostgreSQL deadlock or serialization failure."""
    if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return sqlstate in _RETRYABLE_SQLSTATES


class Database:
    """An engine plus the three kinds of transaction the store runs: write, read and snapshot."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) if self.is_sqlite else engine
        self._snapshot = engine if self.is_sqlite else engine.execution_options(isolation_level="REPEATABLE READ")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    async def write(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction, retried (from the start) on transient lock errors."""
        return await self._run(self._writer, work)

    async def read(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        return await self._run(self.engine, work)

    async def snapshot(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in one read transaction that sees a single consistent snapshot."""
        return await self._run(self._snapshot, work)

    async def _run(self, engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        for attempt in range(RETRY_ATTEMPTS):
            try:
                async with engine.begin() as connection:
                    return await work(connection)
            except DBAPIError as error:
                if attempt == RETRY_ATTEMPTS - 1 or not is_retryable(error):
                    raise
            await asyncio.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        await self.engine.dispose()

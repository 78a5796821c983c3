"""Shared database fixtures.

``database_url`` is parametrized over SQLite (a temp file) and PostgreSQL (a database of its own,
created on the server at 127.0.0.1:5432 for this session and dropped at the end). Each backend is
migrated once per session; tests keep out of each other's way by using unique ids, not fresh databases.

PostgreSQL unreachable: its tests are skipped with the reason, unless ENTRYPOINT_REQUIRE_POSTGRES=1
(CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from activities.records import RecordStore
from activities.records.migrate import upgrade

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USERS = ("postgres", "root")
POSTGRES_ADMIN_DATABASE = "test"


def _postgres_required() -> bool:
    return os.environ.get("ENTRYPOINT_REQUIRE_POSTGRES") == "1"


async def _admin_connection() -> tuple[str, asyncpg.Connection]:
    problems = []
    for user in POSTGRES_USERS:
        try:
            connection = await asyncpg.connect(
                host=POSTGRES_HOST, port=POSTGRES_PORT, user=user, database=POSTGRES_ADMIN_DATABASE, timeout=5
            )
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            problems.append(f"as {user}: {type(error).__name__}: {error}")
        else:
            return user, connection
    raise ConnectionError("; ".join(problems))


@pytest.fixture(scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('records') / 'records.db'}"
    await upgrade(url)
    return url


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    try:
        user, admin = await _admin_connection()
    except ConnectionError as error:
        reason = f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT} is unreachable ({error})"
        if _postgres_required():
            pytest.fail(f"{reason}, and ENTRYPOINT_REQUIRE_POSTGRES=1 requires it")
        pytest.skip(reason)
    name = f"entrypoint_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://{user}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    try:
        await upgrade(url)
        yield url
    finally:
        _, admin = await _admin_connection()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated records database: once SQLite, once PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[RecordStore]:
    records = RecordStore.from_url(database_url)
    try:
        yield records
    finally:
        await records.close()

"""A throwaway records database of its own on the local PostgreSQL server, for tests and benchmarks.

Never assumes a clean server: each database gets a unique name, is migrated, and is dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from activities.records.migrate import upgrade

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USERS = ("postgres", "root")
POSTGRES_ADMIN_DATABASE = "test"


async def admin_connection() -> tuple[str, asyncpg.Connection]:
    """A connection to the admin database, as the first user that is let in; ConnectionError saying why not."""
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


async def postgres_unavailable() -> str | None:
    """Why the local PostgreSQL server cannot be used, or None when it can."""
    try:
        _, admin = await admin_connection()
    except ConnectionError as error:
        return f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT} is unreachable ({error})"
    await admin.close()
    return None


@asynccontextmanager
async def private_postgres(prefix: str) -> AsyncIterator[str]:
    """A migrated, empty records database named ``{prefix}_{pid}_{random}``; dropped on the way out."""
    user, admin = await admin_connection()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://{user}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    try:
        await upgrade(url)
        yield url
    finally:
        _, admin = await admin_connection()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

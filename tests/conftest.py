"""Shared database fixtures.

``database_url`` is parametrized over SQLite (a temp file) and PostgreSQL (a database of its own,
created on the server at 127.0.0.1:5432 for this session and dropped at the end). Each backend is
migrated once per session; tests keep out of each other's way by using unique ids, not fresh databases.

PostgreSQL unreachable: its tests are skipped with the reason, unless ENTRYPOINT_REQUIRE_POSTGRES=1
(CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator

import pytest

from activities.keys import KEYRING_ENV, Keyring
from activities.records import RecordStore
from activities.records.migrate import upgrade
from activities.records.scratch import postgres_unavailable, private_postgres

# One throwaway keyring for the whole session (and the worker processes tests start, which inherit it):
# every client, worker and replayer the tests make encrypts through workers.temporal.data_converter().
os.environ[KEYRING_ENV] = Keyring.generate(source=KEYRING_ENV).to_json()
# ... and one data-key database (the process default of workers.temporal.data_converter), migrated below.
_DATA_KEYS_DIR = tempfile.mkdtemp(prefix="entrypoint-data-keys-")
os.environ["ENTRYPOINT_DATA_KEYS_URL"] = f"sqlite+aiosqlite:///{_DATA_KEYS_DIR}/data-keys.db"


@pytest.fixture(scope="session", autouse=True)
async def data_keys_database() -> AsyncIterator[str]:
    url = os.environ["ENTRYPOINT_DATA_KEYS_URL"]
    await upgrade(url)
    yield url
    shutil.rmtree(_DATA_KEYS_DIR, ignore_errors=True)


def _postgres_required() -> bool:
    return os.environ.get("ENTRYPOINT_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('records') / 'records.db'}"
    await upgrade(url)
    return url


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    reason = await postgres_unavailable()
    if reason is not None:
        if _postgres_required():
            pytest.fail(f"{reason}, and ENTRYPOINT_REQUIRE_POSTGRES=1 requires it")
        pytest.skip(reason)
    async with private_postgres("entrypoint_test") as url:
        yield url


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

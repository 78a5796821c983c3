"""Fixtures for the operations tests: the workflow tests' seeded records store and cohort id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activities.records.store import RecordStore
from tests.workflows.conftest import seeded_store


@pytest.fixture
def cohort_id() -> str:
    return f"c{uuid.uuid4().hex[:6]}"


@pytest.fixture
async def records(tmp_path: Path, cohort_id: str) -> AsyncIterator[RecordStore]:
    store = await seeded_store(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}", cohort_id)
    try:
        yield store
    finally:
        await store.close()

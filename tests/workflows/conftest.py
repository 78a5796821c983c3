"""Fixtures for workflow tests: the real time-skipping test server, a records store, a worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.migrate import upgrade
from activities.records.store import RecordStore
from domain.people import Contact, MentorProfile, Sector
from tests.servers import time_skipping_server
from tests.workflows.harness import COORDINATOR_ID, INSTITUTION, POOL
from workers.worker import build_worker


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test: skipped time is global to a server, so tests must not share one."""
    async with time_skipping_server() as env:
        yield env


async def seeded_store(url: str, cohort_id: str) -> RecordStore:
    await upgrade(url)
    store = RecordStore.from_url(url)
    await store.upsert_institution(INSTITUTION)
    await store.upsert_person(COORDINATOR_ID, "coordinator", Contact(name="Coordinator", email="coord@example.org"))
    await store.upsert_cohort(cohort_id, COORDINATOR_ID)
    for mentor_id in POOL:
        unproposed = MentorProfile(
            mentor_id=mentor_id,
            organisation_id="org-test",
            sector=Sector.PRIVATE,
            conflicts=(INSTITUTION.institution_id,),
        )
        await store.upsert_mentor(unproposed, None, cohorts=[cohort_id])
    return store


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


@pytest.fixture
async def worker(ts_env: WorkflowEnvironment, records: RecordStore) -> AsyncIterator[Worker]:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    w = build_worker(ts_env.client, task_queue, records, mailer=None)
    async with w:
        yield w

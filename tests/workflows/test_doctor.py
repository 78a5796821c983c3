"""``entrypoint doctor`` against the real Temporal dev server: a workflow stuck on a failing workflow task,
and a partnership whose records lost their last events, are both reported; a healthy cohort is not."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.records import schema
from tests import servers
from tests.workflows.conftest import seeded_store
from tests.workflows.harness import application, wait_stage
from workers.cli import main
from workers.doctor import Diagnosis, diagnose
from workers.partnerships import Partnerships
from workers.settings import settings
from workers.worker import build_worker

pytestmark = pytest.mark.temporal


@workflow.defn(name="DoctorTestBroken", sandboxed=False)
class Broken:
    """Every workflow task fails (an exception that is not a Temporal failure): the workflow stays Running."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a bug in the workflow code")


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with servers.dev_server() as env:
        yield env


async def _until(check: object, what: str, timeout: float = 60.0) -> Diagnosis:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()  # type: ignore[operator]
        if result is not None:
            return result  # type: ignore[no-any-return]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not seen within {timeout:g} s: {what}")
        await asyncio.sleep(0.3)


async def test_doctor_reports_a_stuck_workflow_and_records_that_lag(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cohort = f"doc{uuid.uuid4().hex[:5]}"
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    store = await seeded_store(url, cohort)
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", url)
    settings.cache_clear()
    broken = Worker(
        dev_env.client,
        task_queue=f"{task_queue}-broken",
        workflows=[Broken],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    try:
        async with build_worker(dev_env.client, task_queue, store, mailer=None), broken:
            facade = Partnerships(dev_env.client, task_queue)
            healthy = await facade.start(application(cohort, "fine"))
            lagging = await facade.start(application(cohort, "lost"))
            await wait_stage(healthy, "AWAITING_MATCH")
            await wait_stage(lagging, "AWAITING_MATCH")
            only_ours = f"EpCohort='{cohort}'"
            clean = await diagnose(dev_env.client, store, query=only_ours, settle=0)
            assert clean.healthy and clean.partnerships == 2, clean

            assert await asyncio.to_thread(main, ["doctor", "--cohort", cohort, "--settle", "0"]) == 0
            assert "healthy" in capsys.readouterr().out

            stuck_id = f"doctor-broken-{uuid.uuid4().hex[:6]}"
            await dev_env.client.start_workflow("DoctorTestBroken", id=stuck_id, task_queue=f"{task_queue}-broken")

            async def stuck_seen() -> Diagnosis | None:
                found = await diagnose(dev_env.client, None, query=f"WorkflowId='{stuck_id}'", settle=0)
                return found if found.stuck else None

            found = await _until(stuck_seen, "the broken workflow's task failing again")
            [stuck] = found.stuck
            assert stuck.workflow_id == stuck_id and stuck.attempt >= 2
            assert "a bug in the workflow code" in stuck.failure

            # The records lose the last event of one partnership (a restored backup, say).
            last = (await store.read_log(lagging.id))[-1].version

            async def lose(connection: object) -> None:
                outbox, events = schema.outbox.c, schema.events.c
                await connection.execute(  # type: ignore[attr-defined]
                    delete(schema.outbox).where(outbox.partnership_id == lagging.id, outbox.event_version == last)
                )
                await connection.execute(  # type: ignore[attr-defined]
                    delete(schema.events).where(events.partnership_id == lagging.id, events.version == last)
                )

            await store.database.write(lose)
            code = await asyncio.to_thread(main, ["doctor", "--settle", "0"])
            out = capsys.readouterr().out
            assert code == 1
            assert f"STUCK  {stuck_id} (DoctorTestBroken): workflow task failing" in out
            assert "a bug in the workflow code" in out
            assert f"LAG    {lagging.id}: records lag: 1 event(s) behind Temporal" in out
            assert healthy.id not in out
            assert "Test Mentee" not in out and "@" not in out
            await dev_env.client.get_workflow_handle(stuck_id).terminate("test over")
    finally:
        settings.cache_clear()
        await store.close()

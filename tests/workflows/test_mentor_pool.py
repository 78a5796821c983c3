"""A match must name a mentor of the pool (issue 11): one who is unknown, withdrawn or not available for the
partnership's cohort is refused with the reason, recorded, and shown by ``partnerships show``. Against the real
Temporal dev server, a worker and the records database, with the CLI run as a coordinator runs it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.people import MentorProfile, Sector
from tests import servers
from tests.workflows.conftest import seeded_store
from tests.workflows.harness import application, start, status, update, wait_for, wait_stage
from workers.cli import main
from workers.settings import settings
from workers.worker import build_worker
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.temporal


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with servers.dev_server() as env:
        yield env


async def test_a_match_for_a_mentor_not_in_the_pool_is_refused_with_the_reason(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    cohort = f"pool{uuid.uuid4().hex[:5]}"
    store = await seeded_store(url, cohort)
    other = MentorProfile(mentor_id="mr-elsewhere", organisation_id="org", sector=Sector.PUBLIC, languages=("fi",))
    await store.upsert_mentor(other, None, cohorts=["another-cohort"])
    gone = MentorProfile(mentor_id="mr-gone", organisation_id="org", sector=Sector.PUBLIC, languages=("fi",))
    await store.upsert_mentor(gone, None, cohorts=[cohort])
    assert await store.withdraw_mentor("mr-gone")
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", url)
    monkeypatch.setenv("ENTRYPOINT_TASK_QUEUE", task_queue)
    settings.cache_clear()
    try:
        async with build_worker(dev_env.client, task_queue, store, mailer=None):
            handle = await start(dev_env.client, task_queue, application(cohort))
            await wait_stage(handle, "AWAITING_MATCH")

            # An update is answered with the reason, in a coordinator's words.
            with pytest.raises(WorkflowUpdateFailedError) as unknown:
                await update(handle, PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-nobody"})
            assert "mentor mr-nobody is not in the mentor pool" in str(unknown.value.cause)
            assert "entrypoint mentors import" in str(unknown.value.cause)
            with pytest.raises(WorkflowUpdateFailedError) as withdrawn:
                await update(handle, PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-gone"})
            assert "mentor mr-gone has withdrawn from the mentor pool" in str(withdrawn.value.cause)

            # A signal is refused the same way, and the refusal is recorded.
            await handle.signal(PartnershipWorkflow.match_proposed, {"mentor_id": "mr-elsewhere"})
            refused = await wait_for(
                handle,
                lambda s: s.last_rejection is not None and "mr-elsewhere" in s.last_rejection.reason,
                "the refusal",
            )
            assert refused.stage == "AWAITING_MATCH" and refused.mentor_id is None
            assert refused.last_rejection is not None and refused.last_rejection.command == "match_proposed"
            assert f"mentor mr-elsewhere is not available for cohort {cohort}" in refused.last_rejection.reason
            log = await store.read_log(handle.id)
            reasons = [s.event.model_dump().get("reason", "") for s in log if s.type == "command_rejected"]
            assert len(reasons) == 3 and "mr-nobody" in reasons[0] and "mr-gone" in reasons[1]

            assert await asyncio.to_thread(main, ["partnerships", "show", handle.id]) == 0
            shown = capsys.readouterr().out
            assert "last refused match_proposed" in shown
            assert f"mentor mr-elsewhere is not available for cohort {cohort}" in shown

            # A mentor of the pool is matched as before.
            matched = await update(handle, PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-1"})
            assert matched.stage == "AWAITING_SIGNATURES" and matched.mentor_id == "mr-1"
            assert (await status(handle)).mentor_id == "mr-1"
    finally:
        settings.cache_clear()
        await store.close()

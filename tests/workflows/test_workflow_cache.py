"""A worker whose workflow cache (``ENTRYPOINT_WORKFLOW_CACHE``) is smaller than the partnerships it runs: each one
is evicted when another wakes and replayed from its history on its next message, and still decides as before."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.records.store import RecordStore
from tests.workflows.harness import DAY, application, matched_and_signed, start, update
from workers.settings import Settings
from workers.worker import DEFAULT_WORKFLOW_CACHE, build_worker
from workflows.partnership import PartnershipWorkflow


def test_the_setting_defaults_to_the_sdks_cache_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().workflow_cache == DEFAULT_WORKFLOW_CACHE == 1000
    monkeypatch.setenv("ENTRYPOINT_WORKFLOW_CACHE", "2500")
    assert Settings().workflow_cache == 2500


async def test_partnerships_taking_turns_in_a_cache_of_one_are_replayed_and_decide_the_same(
    ts_env: WorkflowEnvironment, records: RecordStore, cohort_id: str
) -> None:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker = build_worker(ts_env.client, task_queue, records, mailer=None, workflow_cache=1)
    assert worker.config()["max_cached_workflows"] == 1
    async with worker:
        handles = [await start(ts_env.client, task_queue, application(cohort_id)) for _ in range(3)]
        for handle in handles:
            await matched_and_signed(handle)
        for month in range(2):  # each message wakes one partnership and evicts the one before
            await ts_env.sleep(27 * DAY)
            for handle in handles:
                meeting = {"kind": "pair", "minutes": 60, "topics": [f"month {month}"]}
                done = await update(handle, PartnershipWorkflow.log_meeting_update, meeting)
                assert done.meetings_held == month + 1 and done.last_rejection is None
        for handle in handles:
            events = await records.read_log(handle.id)
            assert [e.type for e in events].count("meeting_logged") == 2  # recorded once each: no replay re-recorded
            status = await handle.query(PartnershipWorkflow.status)
            assert status.stage == "ACTIVE" and status.meetings_held == 2 and status.version == len(events)

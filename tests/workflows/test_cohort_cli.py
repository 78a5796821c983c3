"""The coordinator's cohort commands against a real (time-skipping) server: start, status, approve, run-matching."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from domain.people import MentorProfile, Sector
from tests.workflows.harness import application, start, status, wait_stage
from workers.cli import main
from workers.settings import settings

pytestmark = pytest.mark.temporal


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_a_coordinator_runs_a_round_from_the_command_line(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    records: RecordStore,
    cohort_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", ts_env.client.service_client.config.target_host)
    monkeypatch.setenv("ENTRYPOINT_TASK_QUEUE", worker.task_queue)
    settings.cache_clear()
    for n in (1, 2):
        mentor = MentorProfile(
            mentor_id=f"mr-{n}", organisation_id="org", sector=Sector.PRIVATE, languages=("en",), capacity=1
        )
        await records.upsert_mentor(mentor, cohorts=[cohort_id])
    handles = [await start(ts_env.client, worker.task_queue, application(cohort_id, f"m{n}")) for n in (1, 2)]
    for handle in handles:
        await wait_stage(handle, "AWAITING_MATCH")
    now = await ts_env.get_current_time()
    plan = {
        "cohort_id": cohort_id,
        "coordinator_id": "coord-1",
        "applications_close": now.isoformat(),
        "matching_at": (now + timedelta(days=1)).isoformat(),
        "kickoff_at": (now + timedelta(days=5)).isoformat(),
        "programme_end": (now + timedelta(days=100)).isoformat(),
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "bad.json").write_text(json.dumps({**plan, "kickoff_at": now.isoformat()}))
    pins = [{"mentee_id": "m1", "mentor_id": "mr-2"}]
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    try:
        assert await cli("cohort", "start", str(tmp_path / "bad.json")) == 2
        assert "not a valid cohort plan" in capsys.readouterr().err
        assert await cli("cohort", "start", str(tmp_path / "plan.json")) == 0
        assert f"started cohort-{cohort_id}" in capsys.readouterr().out
        assert await cli("cohort", "approve", cohort_id) == 1  # nothing to approve yet
        assert "refused: no matching round awaits approval" in capsys.readouterr().err

        await ts_env.sleep(timedelta(days=2))
        for _ in range(100):
            assert await cli("cohort", "status", cohort_id) == 0
            shown = capsys.readouterr().out
            if "awaiting approval" in shown:
                break
            await asyncio.sleep(0.1)
        assert "round 1" in shown and "2 matched, 0 unmatched" in shown and "signals rejected" not in shown
        # A malformed signal changes nothing, and the status says so (the field and the problem, not the value).
        await ts_env.client.get_workflow_handle(f"cohort-{cohort_id}").signal("run_matching", {"reason": ["x-42"]})
        for _ in range(100):
            assert await cli("cohort", "status", cohort_id) == 0
            shown = capsys.readouterr().out
            if "signals rejected: 1;" in shown:
                break
            await asyncio.sleep(0.1)
        assert (
            "the last, run_matching at " in shown
            and "invalid run_matching: reason: Input should be a valid string" in shown
        )
        assert "x-42" not in shown and "awaiting approval" in shown

        assert await cli("cohort", "approve", cohort_id, "--pins", str(tmp_path / "pins.json")) == 0
        assert "approved round 1: 2 matches" in capsys.readouterr().out
        for _ in range(100):
            if (await status(handles[0])).mentor_id:
                break
            await asyncio.sleep(0.1)
        assert (await status(handles[0])).mentor_id == "mr-2"
        assert (await status(handles[1])).mentor_id == "mr-1"
        assert await cli("cohort", "run-matching", cohort_id, "--reason", "late applicants") == 0
        assert "a new matching round was requested" in capsys.readouterr().out
    finally:
        settings.cache_clear()

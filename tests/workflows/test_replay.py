"""Recorded histories of finished partnerships, replayed against the current workflow code.

A workflow runs for six months and outlives many deployments: if a change to workflows/ makes any of
these histories non-deterministic, this test fails (guard the change with ``workflow.patched``). To add
histories: ``ENTRYPOINT_RECORD_HISTORIES=1 pytest tests/workflows/test_partnership.py``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflows.harness import HISTORIES
from workers.temporal import data_converter
from workers.worker import WORKER_INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_recorded() -> None:
    assert len(RECORDED) >= 4, f"expected recorded histories in {HISTORIES}"


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=data_converter(),
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=list(WORKER_INTERCEPTORS),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_the_worker_kill_history_is_the_one_that_failed() -> None:
    """Issue 8: this partnership's workflow task failed for good after a worker kill ("UpsertWorkflowSearchAttributes
    does not handle ActivityTaskScheduled" at event 64). Its first Tick after the restart was decided with the clock of
    an earlier workflow task than the one that scheduled it (the reminder's ``at`` is event 50's time, the record is
    scheduled at event 57), so a replay, resuming at event 55's clock, fired the reminder and the overdue deadline at
    once and upserted EpAttention where the first execution had not. Ticks are now decided as of each timer's due time
    (workflows/partnership.py ``_tick``), which the history fixes; ``test_recorded_history_replays`` replays it."""
    path = HISTORIES / "nondeterminism_after_worker_kill.json"
    events = json.loads(path.read_text())["events"]
    failed = [e for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_FAILED"]
    assert "Nondeterminism" in failed[-1]["workflowTaskFailedEventAttributes"]["failure"]["message"]
    scheduled = {e["eventId"]: e for e in events if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"}
    payload = scheduled["57"]["activityTaskScheduledEventAttributes"]["input"]["payloads"][0]["data"]
    reminder = json.loads(base64.b64decode(payload))
    started = {e["eventId"]: e["eventTime"] for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_STARTED"}
    assert [ev["type"] for ev in reminder["events"]] == ["signing_reminder_due"]
    assert reminder["events"][0]["at"][:23] == started["50"][:23]
    assert started["50"] < started["55"]

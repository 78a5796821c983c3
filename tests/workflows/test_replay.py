"""Recorded histories of finished partnerships, replayed against the current workflow code.

A workflow runs for six months and outlives many deployments: if a change to workflows/ makes any of
these histories non-deterministic, this test fails (guard the change with ``workflow.patched``). To add
histories: ``ENTRYPOINT_RECORD_HISTORIES=1 pytest tests/workflows/test_partnership.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflows.harness import HISTORIES
from workers.temporal import data_converter
from workers.worker import WORKFLOW_RUNNER, WORKFLOWS

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_recorded() -> None:
    assert len(RECORDED) >= 4, f"expected recorded histories in {HISTORIES}"


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=data_converter(), workflow_runner=WORKFLOW_RUNNER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None

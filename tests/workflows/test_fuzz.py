"""A small seeded fuzz run (``python -m bench.fuzz`` in small) against live workflows on the dev server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fuzz import run

pytestmark = pytest.mark.temporal


async def test_hostile_signals_and_updates_fail_no_workflow_task_and_hang_no_workflow(tmp_path: Path) -> None:
    outcome = await run(count=400, seed=1, bursts=1, directory=tmp_path)
    assert outcome.sent == 400 and outcome.workflows == 14
    assert outcome.by_kind["burst"] == 100 and outcome.by_kind["signal"] and outcome.by_kind["update"]
    assert outcome.rejected_updates > 0  # the hostile updates were seen, and refused
    # The Cohort's malformed and unknown signals were taken, each a rejection in its status (none dropped).
    assert sum(outcome.cohort_rejections_expected.values()) > 0 and not outcome.cohort_rejection_problems
    assert outcome.ok, outcome.summary()

"""The short fault drill (``make drill`` in small): three pairs, one worker SIGKILL, everything real."""

from __future__ import annotations

import pytest

from bench.drill import parser, run_drills

pytestmark = pytest.mark.temporal


async def test_a_worker_killed_once_loses_doubles_and_escalates_nothing() -> None:
    args = parser().parse_args(["worker", "--pairs", "3", "--kills", "1", "--short", "--sweep", "5", "--seed", "3"])
    [result] = await run_drills(["worker"], args)
    assert result.faults == 1
    assert result.ok, result.table()
    assert result.finished == 3 and result.emails_expected > 0
    assert result.recover_seconds < float("inf")

"""The demo driver's gathering steps reach a real Gathering workflow (time-skipping server), and a driver that
fails says so on the console instead of leaving pairs that look as if they stopped meeting.

(A regression: the driver read the update's name from an SDK-private attribute that temporalio 1.35 no longer
sets; every pair's driver died with an AttributeError before its first meeting, silently, so every demo pair
lapsed.)"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.gathering.commands import RecordAttendance, Register
from tests.workflows.harness import DAY
from tests.workflows.test_gathering import gathering_plan, gstatus, pid, start_gathering
from workers.demo import _gathering_update
from workers.dev import demo_ended
from workflows.gathering import GatheringWorkflow

pytestmark = pytest.mark.temporal


async def test_the_demo_registers_once_the_cohort_has_started_the_gathering(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 10 * DAY)
    client = ts_env.client
    handle = client.get_workflow_handle(f"gathering-{plan.cohort_id}-{plan.gathering_id}")
    registering = asyncio.create_task(
        _gathering_update(handle, GatheringWorkflow.register, Register(registrant_id=pid(cohort_id, 1)), True)
    )
    await asyncio.sleep(1.5)  # the driver retries while the gathering does not exist yet
    assert not registering.done()
    await start_gathering(client, worker.task_queue, plan)
    await asyncio.wait_for(registering, 30)
    assert (await gstatus(handle)).registered == [pid(cohort_id, 1)]

    # refused (already registered): logged by the step's name, the driver carries on
    await _gathering_update(handle, GatheringWorkflow.register, Register(registrant_id=pid(cohort_id, 1)))
    assert (await gstatus(handle)).registered == [pid(cohort_id, 1)]


async def test_the_demo_records_attendance_after_the_gathering(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + timedelta(hours=1))
    handle = await start_gathering(ts_env.client, worker.task_queue, plan)
    await _gathering_update(handle, GatheringWorkflow.register, Register(registrant_id=pid(cohort_id, 2)))
    await ts_env.sleep(timedelta(hours=5).total_seconds())  # past the gathering's end
    await _gathering_update(handle, GatheringWorkflow.record_attendance, RecordAttendance(present=(pid(cohort_id, 2),)))
    assert pid(cohort_id, 2) in (await gstatus(handle)).attendance


async def test_a_failed_demo_driver_says_so_on_the_console(capsys: pytest.CaptureFixture[str]) -> None:
    async def broken() -> None:
        raise AttributeError("no such attribute")

    task = asyncio.create_task(broken())
    with pytest.raises(AttributeError):
        await task
    demo_ended(task)
    assert "The demo driver stopped: AttributeError: no such attribute" in capsys.readouterr().out


async def test_a_demo_driver_that_ends_or_is_cancelled_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    demo_ended(done)
    hanging = asyncio.create_task(asyncio.sleep(60))
    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging
    demo_ended(hanging)
    assert capsys.readouterr().out == ""

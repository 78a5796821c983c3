"""The history budget of the Gathering and the Cohort (issue 15): each continues as new before its history grows
large, with its state carried over; updates in flight at the boundary are answered, and the timers go on from the
carried state. On the real time-skipping server; the budget is made small through the run's second argument."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from contract.cohort import CohortStatus, MatchingApproval, RunMatching, cohort_workflow_id
from contract.gathering import GatheringStatus, gathering_workflow_id
from domain.cohort import CohortPlan, CohortState
from domain.people import Contact
from tests.workflows.harness import DAY, application, start, wait_stage
from tests.workflows.test_cohort import mentor, wait_cohort
from tests.workflows.test_gathering import gathering_plan, gwait, pid
from workflows.budget import HistoryBudget
from workflows.cohort import CohortContinued, CohortWorkflow
from workflows.gathering import GatheringContinued, GatheringWorkflow

pytestmark = pytest.mark.temporal

SMALL = HistoryBudget(events=40)


async def runs(client: Client, workflow_id: str, first_run: str | None) -> int:
    """How many runs the workflow has had (following the continue-as-new chain from the first)."""
    count, run_id = 0, first_run
    while run_id is not None:
        count += 1
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return count
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return count


async def test_a_gathering_continues_as_new_with_its_registrations_waitlist_updates_and_timers(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 5 * DAY, reminder_before="P2D", attendance_grace="P3D")
    handle: WorkflowHandle[Any, GatheringStatus] = await ts_env.client.start_workflow(
        GatheringWorkflow.run,
        args=[plan, GatheringContinued(budget=SMALL)],
        id=gathering_workflow_id(plan.cohort_id, plan.gathering_id),
        task_queue=worker.task_queue,
    )
    first_run = handle.first_execution_run_id

    # 23 registrations at once, across the boundary: every update is answered; 20 places, 3 on the waitlist.
    answers = await asyncio.gather(
        *(handle.execute_update(GatheringWorkflow.register, {"registrant_id": pid(cohort_id, n)}) for n in range(23))
    )
    assert len(answers) == 23
    promoted = await handle.execute_update(GatheringWorkflow.cancel_registration, {"registrant_id": pid(cohort_id, 0)})
    assert len(promoted.registered) == 20 and len(promoted.waitlist) == 2
    assert pid(cohort_id, 0) not in promoted.registered
    assert await runs(ts_env.client, handle.id, first_run) > 1, "the gathering continued as new"
    assert (await handle.describe()).run_id != first_run

    # The timers go on from the carried state: the reminder, the start, then attendance.
    await ts_env.sleep(3 * DAY + timedelta(hours=1))
    reminded = await gwait(handle, lambda s: s.stage == "REMINDED", "the reminder")
    assert reminded.reminded == 20 and reminded.waitlist == promoted.waitlist
    await ts_env.sleep(2 * DAY + timedelta(hours=3))
    held = await gwait(handle, lambda s: s.stage == "HELD", "the start")
    present = held.registered[:5]
    recorded = await handle.execute_update(GatheringWorkflow.record_attendance, {"present": present, "hours": 2})
    assert sorted(recorded.attendance) == sorted(present)
    told = await gwait(handle, lambda s: not s.delivery.pending, "the delivery")
    assert sorted(told.delivery.skipped) == sorted(present), "no such partnerships: skipped with the reason"

    result = await handle.result()  # time skips to the end of the attendance window
    assert result.stage == "CLOSED" and sorted(result.attendance) == sorted(present)
    assert result.version > promoted.version
    assert await runs(ts_env.client, handle.id, first_run) > 1


async def test_a_gathering_takes_a_carried_state_only_from_its_own_continue_as_new(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 5 * DAY)
    forged = GatheringContinued(state={"gathering_key": "x", "registered": ["p-1"]})  # type: ignore[arg-type]
    handle = await ts_env.client.start_workflow(
        GatheringWorkflow.run,
        args=[plan, forged],
        id=gathering_workflow_id(plan.cohort_id, plan.gathering_id),
        task_queue=worker.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert "carried over only by its own continue-as-new" in str(failure.value.cause)


async def small_cohort(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str, budget: HistoryBudget
) -> tuple[WorkflowHandle[Any, Any], WorkflowHandle[Any, Any]]:
    """Three mentors, one applicant awaiting a match (``m000``), and the cohort started on ``budget``: its first
    round a day from now, kickoff in 10 days, the programme over in 30. Returns the cohort and the pair."""
    client = ts_env.client
    for n in range(3):
        await records.upsert_mentor(mentor(n), Contact(name=f"Mentor {n}", email=None), cohorts=[cohort_id])
    pair = await start(client, worker.task_queue, application(cohort_id, "m000", languages=["en", "fi"]))
    await wait_stage(pair, "AWAITING_MATCH")
    now = await ts_env.get_current_time()
    plan = CohortPlan(
        cohort_id=cohort_id,
        coordinator_id="coord-1",
        applications_close=now,
        matching_at=now + timedelta(days=1),
        kickoff_at=now + timedelta(days=10),
        programme_end=now + timedelta(days=30),
        review_window=timedelta(days=5),
    )
    cohort: WorkflowHandle[Any, Any] = await client.start_workflow(
        CohortWorkflow.run,
        args=[plan, CohortContinued(budget=budget)],
        id=cohort_workflow_id(cohort_id),
        task_queue=worker.task_queue,
    )
    return cohort, pair


async def test_a_cohort_continues_as_new_with_its_rounds_and_waits_for_its_kickoff_and_report(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    client = ts_env.client
    cohort, _ = await small_cohort(ts_env, worker, records, cohort_id, SMALL)
    first_run = cohort.first_execution_run_id
    await cohort.signal("run_matching", {"reason": 7})  # malformed: a rejection the next runs still count
    await wait_cohort(cohort, lambda s: s.rejections == 1, "the rejection")
    await ts_env.sleep(timedelta(days=1, hours=1))
    round1 = await wait_cohort(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "round 1 proposals")
    approved = await cohort.execute_update(
        CohortWorkflow.approve_matching, MatchingApproval(), result_type=CohortStatus
    )
    assert approved.rounds[0].approved
    running = await wait_cohort(cohort, lambda s: s.stage == "RUNNING", "round 1 delivered")
    assert running.rounds[0].delivered == round1.rounds[0].matched == 1

    # A late applicant: a second round, in whichever run; two signals at once make one round (coalesced).
    late = await start(client, worker.task_queue, application(cohort_id, "m001", languages=["en", "fi"]))
    await wait_stage(late, "AWAITING_MATCH")
    await cohort.signal(CohortWorkflow.run_matching, RunMatching(reason="a late applicant"))
    await cohort.signal(CohortWorkflow.run_matching, RunMatching(reason="the same late applicant"))
    second = await wait_cohort(cohort, lambda s: len(s.rounds) == 2 and s.stage == "AWAITING_APPROVAL", "round 2")
    assert second.rounds[1].matched == 1
    await cohort.execute_update(CohortWorkflow.approve_matching, MatchingApproval(), result_type=CohortStatus)
    after = await wait_cohort(cohort, lambda s: s.stage == "RUNNING" and s.rounds[1].delivered == 1, "round 2")
    assert [r.number for r in after.rounds] == [1, 2], "the rounds carried over, none run twice"
    assert after.matching_note is not None and "joined round 2" in after.matching_note
    assert await runs(client, cohort.id, first_run) > 1, "the cohort continued as new"
    assert after.rejections == 1 and after.last_rejection is not None, "the rejection carried over"
    assert after.last_rejection.reason == "invalid run_matching: reason: Input should be a valid string"

    # The timers go on from the carried state: the kickoff, then the closing report.
    await ts_env.sleep(timedelta(days=9))
    kicked = await wait_cohort(cohort, lambda s: s.kicked_off, "kickoff")
    assert len(kicked.rounds) == 2
    report = await cohort.result()
    assert report.partnerships == 2
    final = await cohort.query(CohortWorkflow.status)
    assert final.stage == "CLOSED" and [r.delivered for r in final.rounds] == [1, 1]


async def test_a_cohort_takes_a_carried_state_only_from_its_own_continue_as_new(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = CohortPlan(
        cohort_id=cohort_id,
        applications_close=now,
        matching_at=now + DAY,
        kickoff_at=now + 2 * DAY,
        programme_end=now + 3 * DAY,
    )
    forged = CohortContinued(state=CohortState(cohort_id=cohort_id, kicked_off=True))
    handle = await ts_env.client.start_workflow(
        CohortWorkflow.run, args=[plan, forged], id=cohort_workflow_id(cohort_id), task_queue=worker.task_queue
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert "carried over only by its own continue-as-new" in str(failure.value.cause)

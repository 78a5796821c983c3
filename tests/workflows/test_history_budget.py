"""The history budget (issue 15): a partnership continues as new before its history grows large, with its
state carried over; updates in flight at the boundary are answered, timers go on from the carried state.
On the real time-skipping server; the budget is made small through the run's second argument."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from contract.partnership import WORKFLOW_TYPE, PartnershipStatus
from tests.workflows.harness import application, matched_and_signed, status, update, wait_for
from workflows.partnership import Continued, HistoryBudget, PartnershipWorkflow

pytestmark = pytest.mark.temporal


async def test_a_partnership_continues_as_new_with_its_state_updates_and_timers(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    app = application(cohort_id)
    small = Continued(budget=HistoryBudget(events=60))  # a fresh start may ask for a smaller budget, never a state
    handle = await ts_env.client.start_workflow(
        WORKFLOW_TYPE,
        {"application": app.model_dump(mode="json"), "continued": small.model_dump(mode="json")},
        id=app.workflow_id,
        task_queue=worker.task_queue,
        result_type=PartnershipStatus,
    )
    first_run = handle.first_execution_run_id
    await matched_and_signed(handle)

    # Updates and signals sent together, across the boundary: every update is answered, every signal counted.
    answers = await asyncio.gather(
        *(update(handle, PartnershipWorkflow.add_diary_entry_update, {"reflection": f"entry {n}"}) for n in range(6)),
        *(handle.signal("log_meeting", {"minutes": 30, "topics": [f"topic {n}"]}) for n in range(4)),
    )
    assert sorted(a.diary_entries for a in answers if a is not None)[-1] >= 6
    for n in range(6):
        await update(handle, PartnershipWorkflow.log_meeting_update, {"minutes": 45, "topics": [f"later {n}"]})
    now = await wait_for(handle, lambda s: s.meetings_held == 10 and s.diary_entries == 6, "everything counted")

    description = await handle.describe()
    assert description.run_id != first_run, "the partnership continued as new"
    first = await ts_env.client.get_workflow_handle(app.workflow_id, run_id=first_run).fetch_history()
    assert first.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    log = await records.read_log(app.workflow_id)
    assert [s.version for s in log] == list(range(1, now.version + 1)), "one log, no gap, nothing twice"
    assert now.stage == "ACTIVE" and now.mentor_id == "mr-1" and now.agreement is not None

    # The timers go on from the carried state: no meeting for cadence + grace: the pair is nudged.
    await ts_env.sleep(timedelta(days=40))
    nudged = await wait_for(handle, lambda s: s.version > now.version, "the nudge")
    assert "meeting_nudge_due" in [s.type for s in await records.read_log(app.workflow_id)]
    assert nudged.meetings_held == 10
    assert (await status(handle)).stage == "ACTIVE"


async def test_a_flood_of_one_bad_signal_is_recorded_once_and_costs_no_activity(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    app = application(cohort_id)
    handle = await ts_env.client.start_workflow(
        WORKFLOW_TYPE, app, id=app.workflow_id, task_queue=worker.task_queue, result_type=PartnershipStatus
    )
    await matched_and_signed(handle)
    before = len((await handle.fetch_history()).events)
    for _ in range(50):
        await handle.signal("submit_closing_review", {"party": "mentee", "rating": 5})  # not yet: ACTIVE
    after_flood = await update(handle, PartnershipWorkflow.add_diary_entry_update, {"reflection": "still answering"})
    history = (await handle.fetch_history()).events
    activities = [e for e in history[before:] if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert len(activities) == 2, "one record of the rejection, one of the diary entry: no activity per signal"
    rejected = [s for s in await records.read_log(app.workflow_id) if s.type == "command_rejected"]
    assert len(rejected) == 1 and after_flood.last_rejection is not None
    assert after_flood.last_rejection.command == "submit_closing_review"

    await handle.signal("withdraw", {"party": "mentor"})  # another rejection (no reason): recorded
    await wait_for(handle, lambda s: s.last_rejection is not None and s.last_rejection.command == "withdraw", "it")
    assert len([s for s in await records.read_log(app.workflow_id) if s.type == "command_rejected"]) == 2

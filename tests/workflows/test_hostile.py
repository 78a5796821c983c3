"""Hostile and unlucky input on the real time-skipping server, with the records on SQLite and PostgreSQL
(issue 15): nothing wedges a run, and every refusal says why without quoting the input.

- finding 3: NUL in a diary entry is rejected and recorded; later updates still answer;
- finding 4: 10,000 pins are refused by the validator; unknown pins refuse the approval, the round waits;
- finding 5: 30 ``run_matching`` signals while a round is pending give one round, the reason in the status;
- finding 7: re-using a REJECTED partnership's id, or an erased person applying again, ends the run at once
  with the reason (the facade refuses a closed id at start).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from contract.partnership import WORKFLOW_TYPE
from domain.cohort import CohortPlan, CohortReport
from domain.people import Contact, MentorProfile, Sector
from tests.workflows.conftest import seeded_store
from tests.workflows.harness import (
    application,
    matched_and_signed,
    record_gathering,
    start,
    status,
    update,
    wait_stage,
)
from workers.partnerships import AlreadyExists, Partnerships
from workflows.cohort import CohortStatus, cohort_workflow_id

pytestmark = pytest.mark.temporal


@pytest.fixture
async def records(database_url: str, cohort_id: str) -> AsyncIterator[RecordStore]:
    """The records on SQLite and on PostgreSQL (the session's migrated databases)."""
    store = await seeded_store(database_url, cohort_id)
    try:
        yield store
    finally:
        await store.close()


async def failure_of(handle: WorkflowHandle[Any, Any]) -> str:
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    return cause.message


async def test_nul_in_a_diary_entry_is_rejected_and_the_partnership_goes_on(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await matched_and_signed(handle)
    canary = "canary-7f3a"
    await handle.signal("add_diary_entry", {"reflection": f"before\u0000{canary}"})
    await handle.signal("log_meeting", {"minutes": 60, "notes": f"x\u0000{canary}"})
    after = await update(handle, "add_diary_entry", {"reflection": "a clean entry"})  # not wedged
    assert after.diary_entries == 1
    last = (await status(handle)).last_rejection
    assert last is not None and last.command == "log_meeting"
    assert "must not contain control characters such as U+0000" in last.reason
    log = await records.read_log(handle.id)
    rejected = [s for s in log if s.type == "command_rejected"]
    assert len(rejected) == 2 and canary not in repr([s.data for s in log])
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await update(handle, "add_diary_entry", {"reflection": f"{canary}\u0000"})
    assert canary not in str(caught.value.cause)


async def test_a_reused_id_of_a_rejected_partnership_is_refused_not_wedged(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    app = application(cohort_id, institution_id="uni-unknown")
    first = await start(ts_env.client, worker.task_queue, app)
    assert (await first.result()).stage == "REJECTED"

    # A raw start that bypasses the facade (Temporal allows the id again once the run has closed).
    again = await ts_env.client.start_workflow(
        WORKFLOW_TYPE,
        app,
        id=app.workflow_id,
        task_queue=worker.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    message = await failure_of(again)
    assert message == (
        f"application refused: partnership {app.workflow_id} already has a record (stage REJECTED, version 2); "
        "a partnership id is used once: apply again under another cohort or mentee id"
    )
    assert len(await records.read_log(app.workflow_id)) == 2  # the old log untouched

    # The facade (CLI, demo, gateway) refuses it at start.
    facade = Partnerships(ts_env.client, worker.task_queue)
    with pytest.raises(AlreadyExists):
        await facade.start(app)


async def test_an_erased_person_applying_again_is_refused_not_wedged(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    mentee_id = f"m-{uuid.uuid4().hex[:8]}"
    await records.register_person(mentee_id, "mentee", Contact(name="Erased Person", email="gone@example.org"))
    assert await records.erase_person(mentee_id)
    app = application(cohort_id, mentee_id, contact=Contact(name="Erased Person", email="gone@example.org"))
    handle = await start(ts_env.client, worker.task_queue, app)
    message = await failure_of(handle)
    assert message == f"application refused: person {mentee_id} was erased; register them under a new id"
    assert await records.read_log(app.workflow_id) == []
    assert "gone@example.org" not in message


async def _cohort_awaiting_approval(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> WorkflowHandle[Any, Any]:
    for n in range(2):
        profile = MentorProfile(
            mentor_id=f"mr-{cohort_id}-{n}", organisation_id="org-1", sector=Sector.PRIVATE, languages=("en",)
        )
        await records.upsert_mentor(profile, cohorts=[cohort_id])
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await wait_stage(handle, "AWAITING_MATCH")
    now = await ts_env.get_current_time()
    plan = CohortPlan(
        cohort_id=cohort_id,
        applications_close=now,
        matching_at=now + timedelta(days=1),
        kickoff_at=now + timedelta(days=10),
        programme_end=now + timedelta(days=200),
    )
    cohort = await ts_env.client.start_workflow(
        "Cohort", plan, id=cohort_workflow_id(cohort_id), task_queue=worker.task_queue, result_type=CohortReport
    )
    return cohort


async def wait_cohort(handle: WorkflowHandle[Any, Any], predicate: Any, what: str) -> CohortStatus:
    last = None
    for _ in range(300):
        last = await handle.query("status", result_type=CohortStatus)
        if predicate(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last}")


async def test_pins_are_bounded_and_unknown_pins_refuse_the_approval_not_the_round(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    cohort = await _cohort_awaiting_approval(ts_env, worker, records, cohort_id)
    await ts_env.sleep(timedelta(days=2))
    proposed = await wait_cohort(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "round 1")
    round_id = proposed.rounds[0].round_id

    many = [{"mentee_id": f"nobody-{n}", "mentor_id": "mr-x"} for n in range(10_000)]
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await cohort.execute_update("approve_matching", {"round_id": round_id, "pins": many})
    assert "(limit PAYLOAD_BYTES)" in str(caught.value.cause)
    more = [{"mentee_id": f"n{n}", "mentor_id": "x"} for n in range(1001)]
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await cohort.execute_update("approve_matching", {"round_id": round_id, "exclusions": more})
    assert "exclusions: at most 1000 items (limit PINS), not 1001" in str(caught.value.cause)

    unknown = [{"mentee_id": f"nobody-{n}", "mentor_id": "mr-x"} for n in range(300)]
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await cohort.execute_update("approve_matching", {"round_id": round_id, "pins": unknown})
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    reason = cause.message
    assert reason.startswith("the pins and exclusions were refused: pins for mentees not in this round: nobody-0")
    assert reason.endswith("and 290 more")
    waiting = await cohort.query("status", result_type=CohortStatus)
    assert waiting.stage == "AWAITING_APPROVAL" and waiting.matching_note == reason

    approved = await cohort.execute_update("approve_matching", {"round_id": round_id}, result_type=CohortStatus)
    assert approved.rounds[0].approved


async def test_run_matching_while_a_round_is_pending_is_coalesced(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    cohort = await _cohort_awaiting_approval(ts_env, worker, records, cohort_id)
    for _ in range(30):
        await cohort.signal("run_matching", {"reason": "late applicants"})
    proposed = await wait_cohort(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "round 1")
    assert [r.number for r in proposed.rounds] == [1]
    assert proposed.matching_note is not None and "joined round 1" in proposed.matching_note
    await cohort.execute_update("approve_matching", {"round_id": proposed.rounds[0].round_id})
    running = await wait_cohort(cohort, lambda s: s.stage == "RUNNING", "delivery")
    await ts_env.sleep(timedelta(days=3))
    again = await cohort.query("status", result_type=CohortStatus)
    assert len(again.rounds) == 1 and running.stage == again.stage == "RUNNING"  # 30 signals: one round

    await cohort.signal("run_matching", {"reason": "now a second round"})  # nothing under way: a round
    second = await wait_cohort(cohort, lambda s: len(s.rounds) == 2, "round 2")
    assert second.stage == "AWAITING_APPROVAL"


async def test_gathering_attended_counts_only_what_the_gatherings_record_says(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await matched_and_signed(handle)
    other_cohort = f"{cohort_id}-other"
    await record_gathering(records, cohort_id, "kickoff", "collective", [handle.id, "partnership-x-y"], 2)
    await record_gathering(records, cohort_id, "workshop", "group", ["partnership-x-y"], 3)
    await record_gathering(records, other_cohort, "elsewhere", "collective", [handle.id], 4)

    for gathering_id, reason in [
        ("made-up", f"no gathering made-up of cohort {cohort_id}"),
        ("elsewhere", f"no gathering elsewhere of cohort {cohort_id}"),  # another cohort's gathering
        ("workshop", "gathering workshop has no attendance recorded for this partnership"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await update(handle, "gathering_attended", {"gathering_id": gathering_id, "kind": "group", "hours": 12})
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError) and cause.message == reason
    await handle.signal("gathering_attended", {"gathering_id": "made-up", "kind": "collective", "hours": 12})

    counted = await update(handle, "gathering_attended", {"gathering_id": "kickoff", "kind": "group", "hours": 12})
    assert counted.gatherings_attended == 1 and counted.hours.gatherings == pytest.approx(2)  # the record's
    logged = [s.data for s in await records.read_log(handle.id) if s.type == "gathering_attended"]
    assert [(d["kind"], d["hours"]) for d in logged] == [("collective", 2.0)]
    rejected = [s.data for s in await records.read_log(handle.id) if s.type == "command_rejected"]
    assert [d["reason"] for d in rejected][-1] == f"no gathering made-up of cohort {cohort_id}"  # the signal's
    assert len(rejected) == 4  # the three updates passed the validator, so their rejections are recorded too


async def test_a_signal_with_no_payload_or_several_is_a_recorded_rejection_not_a_failed_task(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    """``temporal workflow signal`` without ``--input``, or with it twice: the Partnership records a rejection
    (the SDK hands such a signal to the handler with no argument, or with several) and goes on."""
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await matched_and_signed(handle)
    await handle.signal("log_meeting")
    await handle.signal("add_diary_entry", args=[{"reflection": "one"}, {"reflection": "two"}])
    after = await update(handle, "log_meeting", {"minutes": 60})  # not wedged
    assert after.meetings_held == 1 and after.diary_entries == 0
    rejected = [s.data for s in await records.read_log(handle.id) if s.type == "command_rejected"]
    assert [(d["command"], d["reason"]) for d in rejected] == [
        ("log_meeting", "log_meeting takes one JSON object"),
        ("add_diary_entry", "add_diary_entry takes one JSON object"),
    ]

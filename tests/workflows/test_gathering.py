"""The Gathering workflow on the real time-skipping test server, with real Partnership workflows as attendees."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.workflow import UpdateMethodMultiParam

from activities.gathering import GatheringActivities
from activities.models import AttendeeHours, DeliverAttendance
from activities.records.store import RecordStore
from contract import SearchAttributes
from contract.gathering import GatheringSearchAttributes, GatheringStatus, gathering_workflow_id
from domain.gathering import NEVER_RECORDED, GatheringPlan
from domain.partnership.commands import GatheringKind
from tests.workflows.harness import (
    DAY,
    application,
    keep_history,
    matched_and_signed,
    record_gathering,
    start,
    status,
    wait_for,
    wait_stage,
)
from workflows.gathering import GatheringWorkflow

pytestmark = pytest.mark.temporal

HOUR = timedelta(hours=1)


def gathering_plan(cohort_id: str, starts_at: datetime, **overrides: Any) -> GatheringPlan:
    fields: dict[str, Any] = {
        "cohort_id": cohort_id,
        "gathering_id": f"visit-{uuid.uuid4().hex[:6]}",
        "kind": "group",
        "subject": "Company visit",
        "starts_at": starts_at,
        "duration_hours": 2.5,
        "place": "Ruoholahti",
    }
    fields.update(overrides)
    return GatheringPlan.model_validate(fields)


async def start_gathering(
    client: Client, task_queue: str, plan: GatheringPlan, workflow_id: str | None = None
) -> WorkflowHandle[Any, GatheringStatus]:
    return await client.start_workflow(
        GatheringWorkflow.run,
        plan,
        id=workflow_id or gathering_workflow_id(plan.cohort_id, plan.gathering_id),
        task_queue=task_queue,
        static_summary=f"Gathering {plan.cohort_id}/{plan.gathering_id}",
    )


async def gstatus(handle: WorkflowHandle[Any, Any], rpc_timeout: timedelta | None = None) -> GatheringStatus:
    return await handle.query(GatheringWorkflow.status, rpc_timeout=rpc_timeout)


QUERY_PATIENCE = timedelta(seconds=5)
"""How long one status query of a poll may take before it is asked again."""


async def gupdate(
    handle: WorkflowHandle[Any, Any],
    message: UpdateMethodMultiParam[[Any, dict[str, Any]], GatheringStatus],
    payload: dict[str, Any],
) -> GatheringStatus:
    return await handle.execute_update(message, payload)


async def gwait(handle: WorkflowHandle[Any, Any], predicate: Any, what: str, timeout: float = 30.0) -> GatheringStatus:
    """Poll the gathering's status (in real time) until ``predicate(status)`` holds.

    A query that lands on a run just as it continues as new can go unanswered ("query deadline exceeded": the
    worker's answer is refused because that run has closed); the poll asks the latest run again, as a UI would."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: GatheringStatus | None = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            last = await gstatus(handle, QUERY_PATIENCE)
        except RPCError as error:
            # The server's query deadline (DEADLINE_EXCEEDED) or this poll's patience ("Timeout expired": CANCELLED).
            if error.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                raise
            continue
        if predicate(last):
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last status: {last}")


async def details(handle: WorkflowHandle[Any, Any]) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def _completed(handle: WorkflowHandle[Any, Any], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        events = (await handle.fetch_history()).events
        if events and events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} did not complete")


def pid(cohort_id: str, n: int) -> str:
    return f"partnership-{cohort_id}-m{n:02d}"


async def test_a_full_group_of_20_waitlists_the_21st_and_promotes_on_cancellation(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 10 * DAY)
    handle = await start_gathering(ts_env.client, worker.task_queue, plan)
    for n in range(1, 21):
        last = await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, n)})
    assert last.capacity == 20 and len(last.registered) == 20 and last.waitlist == []
    full = await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 21)})
    assert full.waitlist == [pid(cohort_id, 21)] and len(full.registered) == 20
    starts = f"{plan.starts_at:%Y-%m-%d %H:%M} UTC"
    assert await details(handle) == f"20/20 registered, 1 waitlisted; starts {starts}"

    with pytest.raises(WorkflowUpdateFailedError) as duplicate:
        await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 7)})
    assert f"{pid(cohort_id, 7)} is already registered" in str(duplicate.value.cause)

    promoted = await gupdate(handle, GatheringWorkflow.cancel_registration, {"registrant_id": pid(cohort_id, 3)})
    assert promoted.waitlist == [] and len(promoted.registered) == 20
    assert pid(cohort_id, 3) not in promoted.registered and promoted.registered[-1] == pid(cohort_id, 21)
    assert await details(handle) == f"20/20 registered, 0 waitlisted; starts {starts}"

    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SearchAttributes.STAGE) == "SCHEDULED"
    assert attributes.get(SearchAttributes.COHORT) == cohort_id
    assert attributes.get(GatheringSearchAttributes.KIND) == "group"
    assert attributes.get(SearchAttributes.ATTENTION) is None


async def test_the_reminder_fires_before_the_date(ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 5 * DAY, reminder_before="P2D")
    handle = await start_gathering(ts_env.client, worker.task_queue, plan)
    await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 1)})
    await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 2)})
    scheduled = await gstatus(handle)
    assert scheduled.next_deadline is not None and scheduled.next_deadline.at == plan.starts_at - 2 * DAY

    await ts_env.sleep(2 * DAY)
    assert (await gstatus(handle)).stage == "SCHEDULED"
    await ts_env.sleep(DAY + HOUR)
    reminded = await gwait(handle, lambda s: s.stage == "REMINDED", "the reminder")
    assert reminded.reminded == 2
    assert reminded.reminded_at is not None
    assert plan.starts_at - 2 * DAY <= reminded.reminded_at < plan.starts_at - 2 * DAY + HOUR
    assert reminded.next_deadline is not None and reminded.next_deadline.at == plan.starts_at
    assert "(reminded 2)" in await details(handle)

    await ts_env.sleep(2 * DAY)
    held = await gwait(handle, lambda s: s.stage == "HELD", "the start")
    assert held.reminded == 2
    assert (await handle.describe()).typed_search_attributes.get(SearchAttributes.STAGE) == "HELD"


async def test_attendance_reaches_each_attendees_partnership_once(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    apps = [application(cohort_id) for _ in range(3)]
    pairs = [await start(ts_env.client, worker.task_queue, app) for app in apps]
    for n, pair in enumerate(pairs):
        await matched_and_signed(pair, mentor_id=f"mr-{n}")
    ids = [app.workflow_id for app in apps]
    ghost = f"partnership-{cohort_id}-ghost"

    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 3 * DAY, duration_hours=2.5)
    handle = await start_gathering(ts_env.client, worker.task_queue, plan)
    for registrant in [*ids, ghost]:
        await gupdate(handle, GatheringWorkflow.register, {"registrant_id": registrant})
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await gupdate(handle, GatheringWorkflow.record_attendance, {"present": ids})
    assert "once gathering" in str(early.value.cause) and "has started" in str(early.value.cause)

    await ts_env.sleep(3 * DAY + HOUR)
    await gwait(handle, lambda s: s.stage == "HELD", "the start")
    recorded = await gupdate(handle, GatheringWorkflow.record_attendance, {"present": [ids[0], ids[1], ghost]})
    assert recorded.stage == "ATTENDANCE_RECORDED"
    assert recorded.attendance == {ids[0]: 2.5, ids[1]: 2.5, ghost: 2.5}
    delivered = await gwait(handle, lambda s: not s.delivery.pending, "delivery")
    assert sorted(delivered.delivery.signalled) == sorted(ids[:2])
    assert delivered.delivery.skipped == {ghost: "unknown partnership"}

    for pair in pairs[:2]:
        told = await wait_for(pair, lambda s: s.gatherings_attended == 1, "gathering hours")
        assert told.hours.gatherings == pytest.approx(2.5)
    assert (await status(pairs[2])).hours.gatherings == 0

    # Adding someone forgotten tells only their partnership.
    amended = await gupdate(handle, GatheringWorkflow.record_attendance, {"present": [ids[0], ids[2]], "hours": 1.5})
    assert amended.attendance[ids[2]] == 1.5 and amended.attendance[ids[0]] == 2.5
    await gwait(handle, lambda s: not s.delivery.pending, "the second delivery")
    third = await wait_for(pairs[2], lambda s: s.gatherings_attended == 1, "the forgotten attendee's hours")
    assert third.hours.gatherings == pytest.approx(1.5)

    # A retried delivery (the activity run again for everyone) counts nothing twice.
    again = DeliverAttendance(
        gathering_key=handle.id,
        gathering_id=plan.gathering_id,
        kind=GatheringKind.GROUP,
        attendees=[AttendeeHours(registrant_id=who, hours=2.5) for who in ids],
    )
    report = await ActivityEnvironment().run(GatheringActivities(records, ts_env.client).deliver_attendance, again)
    assert report.signalled == ids and report.skipped == {}
    for pair in pairs:
        await wait_for(
            pair,
            lambda s: s.last_rejection is not None and "already recorded" in s.last_rejection.reason,
            "the repeated attendance rejected",
        )
    hours = [(await status(pair)).hours.gatherings for pair in pairs]
    assert hours == pytest.approx([2.5, 2.5, 1.5])
    assert [(await status(pair)).gatherings_attended for pair in pairs] == [1, 1, 1]
    for pair in pairs:
        logged = [ev for ev in await records.read_log(pair.id) if ev.type == "gathering_attended"]
        assert len(logged) == 1

    await ts_env.sleep(8 * DAY)  # past the end and the 7-day attendance window
    result = await handle.result()
    assert result.stage == "CLOSED" and result.attention is None
    assert result.note == "attendance recorded: 4 of 4 registered attended"
    kept = await records.read_gathering_log(handle.id)  # the permanent record outlives Temporal's retention
    assert [ev.type for ev in kept].count("registered") == 4
    assert "attendance_recorded" in [ev.type for ev in kept]
    await keep_history(handle, "gathering_attendance_delivered")


async def test_attendance_never_recorded_closes_the_gathering_after_the_grace(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 2 * DAY, kind="collective", attendance_grace="P3D")
    handle = await start_gathering(ts_env.client, worker.task_queue, plan)
    await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 1)})
    await ts_env.sleep(2 * DAY + 3 * HOUR)  # the gathering has ended
    due = await gwait(handle, lambda s: s.attention == "ATTENDANCE_DUE", "attendance due")
    assert due.stage == "HELD" and due.capacity == 100
    assert "ATTENTION ATTENDANCE_DUE" in await details(handle)
    result = await handle.result()  # time skips to the end of the grace
    assert result.stage == "CLOSED"
    assert result.note == NEVER_RECORDED
    assert result.attention == "ATTENDANCE_NEVER_RECORDED"
    assert "attendance never recorded" in result.waiting_for
    description = await handle.describe()
    attributes = description.typed_search_attributes
    assert attributes.get(SearchAttributes.STAGE) == "CLOSED"
    assert attributes.get(SearchAttributes.ATTENTION) == "ATTENDANCE_NEVER_RECORDED"
    assert attributes.get(GatheringSearchAttributes.KIND) == "collective"
    assert description.close_time is not None
    assert timedelta(0) <= description.close_time - plan.closes_at < HOUR, "closed at the end of the grace"
    await keep_history(handle, "gathering_attendance_never_recorded")


async def test_update_validators_reject_without_a_trace_in_the_history(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 10 * DAY)
    handle = await start_gathering(ts_env.client, worker.task_queue, plan)
    await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 1)})
    history_before = len((await handle.fetch_history()).events)
    for name, payload, words in [
        (GatheringWorkflow.register, {"registrant_id": "Anna Virtanen"}, "registrant_id"),
        (GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 1)}, "already registered"),
        (GatheringWorkflow.register, {"who": "x"}, "who"),
        (GatheringWorkflow.cancel_registration, {"registrant_id": pid(cohort_id, 2)}, "is not registered"),
        (GatheringWorkflow.record_attendance, {"present": [pid(cohort_id, 1)]}, "has started"),
        (GatheringWorkflow.record_attendance, {"present": []}, "present"),
        (GatheringWorkflow.cancel_gathering, {"reason": " "}, "reason"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await gupdate(handle, name, payload)
        assert words in str(failure.value.cause), (name, failure.value.cause)
        assert "Anna" not in str(failure.value.cause), "the message never echoes what was sent"
    history = await handle.fetch_history()
    since = {event.WhichOneof("attributes") for event in history.events[history_before:]}
    assert all(kind and kind.startswith("workflow_task_") for kind in since), since  # the test server's tasks
    accepted = [
        e for e in history.events if e.WhichOneof("attributes") == "workflow_execution_update_accepted_event_attributes"
    ]
    assert len(accepted) == 1  # the one registration
    assert (await gstatus(handle)).registered == [pid(cohort_id, 1)]


async def test_cancelling_the_gathering_notifies_registrants_and_the_waitlist(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    plan = gathering_plan(cohort_id, now + 10 * DAY, capacity=1)
    handle = await start_gathering(ts_env.client, worker.task_queue, plan)
    await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 1)})
    await gupdate(handle, GatheringWorkflow.register, {"registrant_id": pid(cohort_id, 2)})
    cancelled = await gupdate(handle, GatheringWorkflow.cancel_gathering, {"reason": "the host company postponed"})
    assert cancelled.stage == "CANCELLED" and cancelled.cancelled_reason == "the host company postponed"
    result = await handle.result()
    assert result.stage == "CANCELLED"
    assert result.waiting_for == "CANCELLED: 2 registrants notified"
    assert (await handle.describe()).typed_search_attributes.get(SearchAttributes.STAGE) == "CANCELLED"


async def test_a_gathering_whose_attendance_window_has_closed_is_refused(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    now = await ts_env.get_current_time()
    past = gathering_plan(cohort_id, now - 30 * DAY)
    late = await start_gathering(ts_env.client, worker.task_queue, past)
    with pytest.raises(WorkflowFailureError) as failure:
        await late.result()
    assert "attendance window closed" in str(failure.value.cause)


async def test_delivery_signals_a_partnership_once_skips_with_reasons_and_resumes_after_its_last_heartbeat(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    running = [await start(ts_env.client, worker.task_queue, application(cohort_id)) for _ in range(2)]
    for pair in running:
        await wait_stage(pair, "AWAITING_MATCH")
    closed = await start(ts_env.client, worker.task_queue, application(cohort_id, institution_id="unknown-uni"))
    await wait_stage(closed, "REJECTED")
    await _completed(closed)  # not closed.result(): on this server, that lets time skip (years, to timeouts)
    first, second = (pair.id for pair in running)
    # The Gathering's record, which a partnership checks the signal against (issue 15, finding 6).
    await record_gathering(records, cohort_id, "orientation", "collective", [first, f"{first}:mentor", second], 3)
    request = DeliverAttendance(
        gathering_key=gathering_workflow_id(cohort_id, "orientation"),
        gathering_id="orientation",
        kind=GatheringKind.COLLECTIVE,
        attendees=[
            AttendeeHours(registrant_id=who, hours=3)
            for who in (first, f"{first}:mentor", "visitor-1", closed.id, f"partnership-{cohort_id}-nobody", second)
        ],
    )
    env = ActivityEnvironment()
    beats: list[Any] = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    activities = GatheringActivities(records, ts_env.client, batch_size=2)
    report = await env.run(activities.deliver_attendance, request)
    assert report.signalled == [first, f"{first}:mentor", second]
    assert report.skipped == {
        "visitor-1": "not a partnership id",
        closed.id: "partnership closed (completed)",
        f"partnership-{cohort_id}-nobody": "unknown partnership",
    }
    assert report.reasons() == {
        "not a partnership id": 1,
        "partnership closed (completed)": 1,
        "unknown partnership": 1,
    }
    assert [beat["next"] for beat in beats] == [2, 4, 5], (
        "five partnerships (the mentor's is the mentee's) in batches of 2"
    )
    told = await wait_for(running[0], lambda s: s.gatherings_attended == 1, "the first partnership told")
    assert told.hours.gatherings == 3 and told.last_rejection is None, "mentee and mentor: one signal"

    # A retry after a crash resumes after the last heartbeat: only the rest is signalled again.
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_details=[beats[1]])
    resumed = await env.run(activities.deliver_attendance, request)
    assert resumed == report
    second_told = await wait_for(running[1], lambda s: s.last_rejection is not None, "the resumed signal")
    assert second_told.gatherings_attended == 1 and "already recorded" in second_told.last_rejection.reason
    assert (await status(running[0])).last_rejection is None, "the batches before the heartbeat are not sent again"

"""Arrival time (issue 8): a party's signal counts as of when the workflow received it, however long
record-keeping holds the loop up. Real time-skipping server, real records; record-keeping fails for a while."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.gathering import GatheringActivities
from activities.models import GatheringRecorded, Recorded, RecordEvents, RecordGatheringEvents
from activities.partnership import PartnershipActivities
from activities.records.store import RecordStore
from contract.gathering import gathering_workflow_id
from domain.gathering import GatheringPlan
from domain.partnership.commands import GatheringKind
from tests.workflows.harness import application, start, status, wait_for, wait_stage
from tests.workflows.test_gathering import gwait
from workers.worker import WORKER_INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS, activities_for
from workflows.gathering import GatheringWorkflow
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.temporal

FAST_SIGNING = {"signing_reminder": "PT90S", "signing_deadline": "PT2M"}


class Outage:
    """record_and_deliver refuses the signatures' batches until (server) time ``until``; counts the refusals."""

    def __init__(self, store: RecordStore) -> None:
        self._real = PartnershipActivities(store)
        self.until: datetime | None = None
        self.refused = 0

    @activity.defn(name="record_and_deliver")
    async def record_and_deliver(self, request: RecordEvents) -> Recorded:
        signing = any(event.type == "agreement_signed" for event in request.events)
        if signing and self.until is not None and activity.info().current_attempt_scheduled_time < self.until:
            self.refused += 1
            raise ApplicationError("the records database is down")
        return await self._real.record_and_deliver(request)


@pytest.fixture
async def outage(records: RecordStore) -> Outage:
    return Outage(records)


@pytest.fixture
async def flaky_worker(ts_env: WorkflowEnvironment, records: RecordStore, outage: Outage) -> AsyncIterator[Worker]:
    activities = [a for a in activities_for(records, None, ts_env.client) if a.__name__ != "record_and_deliver"]
    worker = Worker(
        ts_env.client,
        task_queue=f"tq-{uuid.uuid4().hex[:8]}",
        workflows=list(WORKFLOWS),
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=list(WORKER_INTERCEPTORS),
        activities=[*activities, outage.record_and_deliver],
    )
    async with worker:
        yield worker


async def test_signatures_sent_before_the_deadline_count_although_recording_them_failed_past_it(
    ts_env: WorkflowEnvironment, flaky_worker: Worker, outage: Outage, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, flaky_worker.task_queue, application(cohort_id, policy=FAST_SIGNING))
    await wait_stage(handle, "AWAITING_MATCH")
    matched = await handle.execute_update(PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-1"})
    assert matched.agreement is not None
    signing_due = matched.agreement.signing_due
    outage.until = signing_due + timedelta(seconds=30)  # the database is back only after the deadline

    await handle.signal(PartnershipWorkflow.sign_agreement, {"party": "mentee"})
    await handle.signal(PartnershipWorkflow.sign_agreement, {"party": "mentor"})  # both well before the deadline
    await ts_env.sleep(timedelta(minutes=3))  # the reminder, the deadline and the outage all pass

    started = await wait_for(handle, lambda s: s.stage == "ACTIVE", "both signatures counted", timeout=60)
    assert outage.refused > 0, "record-keeping really was down past the deadline"
    assert started.attention is None, "no SIGNATURE_OVERDUE for a pair that signed in time"
    assert started.agreement is not None and started.agreement.starts_on is not None
    assert started.agreement.starts_on < signing_due, "the agreement starts when it was signed, not when recorded"
    log = [entry.type for entry in await records.read_log(handle.id)]
    assert "signature_overdue" not in log and "signing_reminder_due" not in log, log
    assert (await status(handle)).attention is None


class GatheringOutage:
    """record_gathering_events refuses registrations until (server) time ``until``."""

    def __init__(self, store: RecordStore) -> None:
        self._real = GatheringActivities(store, None)
        self.until: datetime | None = None
        self.refused = 0

    @activity.defn(name="record_gathering_events")
    async def record_gathering_events(self, request: RecordGatheringEvents) -> GatheringRecorded:
        registering = any(event.type == "registered" for event in request.events)
        if registering and self.until is not None and activity.info().current_attempt_scheduled_time < self.until:
            self.refused += 1
            raise ApplicationError("the records database is down")
        return await self._real.record_gathering_events(request)


async def test_a_registration_sent_before_the_start_counts_although_recording_held_the_gathering_up_past_it(
    ts_env: WorkflowEnvironment, records: RecordStore, cohort_id: str
) -> None:
    outage = GatheringOutage(records)
    activities = [a for a in activities_for(records, None, ts_env.client) if a.__name__ != "record_gathering_events"]
    async with Worker(
        ts_env.client,
        task_queue=f"tq-{uuid.uuid4().hex[:8]}",
        workflows=list(WORKFLOWS),
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=list(WORKER_INTERCEPTORS),
        activities=[*activities, outage.record_gathering_events],
    ) as worker:
        now = await ts_env.get_current_time()
        plan = GatheringPlan(
            cohort_id=cohort_id,
            gathering_id="visit",
            kind=GatheringKind.GROUP,
            subject="Company visit",
            starts_at=now + timedelta(minutes=10),
            duration_hours=2,
            place="Ruoholahti",
        )
        handle = await ts_env.client.start_workflow(
            GatheringWorkflow.run, plan, id=gathering_workflow_id(cohort_id, "visit"), task_queue=worker.task_queue
        )
        await gwait(handle, lambda s: s.stage == "SCHEDULED", "scheduled")
        outage.until = plan.starts_at + timedelta(minutes=1)
        first = await handle.start_update(
            GatheringWorkflow.register, {"registrant_id": "p-1"}, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        second = await handle.start_update(
            GatheringWorkflow.register, {"registrant_id": "p-2"}, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        await ts_env.sleep(timedelta(minutes=15))  # the start and the outage pass
        assert (await first.result()).registered == ["p-1"]
        registered = await second.result()
        assert registered.registered == ["p-1", "p-2"], "registered before the start: counts"
        assert outage.refused > 0

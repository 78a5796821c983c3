"""Registration and delivery run as local activities in a new partnership (patch ``local-registration-and-delivery``),
record-keeping as activities; the notices still reach the outbox and everything is recorded once. Real
time-skipping server, real records."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from tests.workflows.harness import application, matched_and_signed, start
from workflows.partnership import LOCAL_ACTIVITIES

pytestmark = pytest.mark.temporal


async def test_a_new_partnership_registers_and_delivers_locally_and_records_by_activity(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    signed = await matched_and_signed(handle)
    history = (await handle.fetch_history()).events

    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    # submitted, screened, matched, signed, signed and started: five commands, each recorded by an activity
    assert scheduled == ["record_events"] * 5, scheduled

    markers = [e.marker_recorded_event_attributes for e in history if e.HasField("marker_recorded_event_attributes")]
    names = [m.marker_name for m in markers]
    assert "core_patch" in names and names.count("core_local_activity") >= 2, names
    patch_ids = [
        ts_env.client.data_converter.payload_converter.from_payload(m.details["patch-data"].payloads[0])["id"]
        for m in markers
        if m.marker_name == "core_patch"
    ]
    assert LOCAL_ACTIVITIES in patch_ids

    log = await records.read_log(handle.id)
    assert [s.version for s in log] == list(range(1, signed.version + 1)), "every event recorded, once"
    assert await records.pending_outbox(handle.id, limit=20), "the notices wait in the outbox (no mailer here)"

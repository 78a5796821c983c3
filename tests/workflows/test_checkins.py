"""The check-in pulse survey through the Partnership workflow, on the real time-skipping test server with records
in a real SQLite file: asked of both 30 days after the start, a low answer raises CHECKIN_LOW for the coordinator,
no answer within the window is a nudge only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from tests.workflows.harness import application, matched_and_signed, start, status, update, wait_for
from workers.cohorts import report_from_records
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.temporal

NOTE = "canary-checkin-note: my mentor keeps cancelling"


async def test_a_low_answer_raises_checkin_low_and_a_coordinator_clears_it(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    started = await matched_and_signed(handle)
    assert started.agreement is not None and started.agreement.starts_on is not None
    assert started.next_checkin_due == started.agreement.starts_on + timedelta(days=30)
    assert started.checkins == []

    with pytest.raises(WorkflowUpdateFailedError) as early:
        await update(
            handle,
            PartnershipWorkflow.answer_checkin_update,
            {"party": "mentee", "score": 4, "meeting_as_planned": True},
        )
    assert "first is due" in str(early.value.cause)

    await ts_env.sleep(timedelta(days=29))
    await update(handle, PartnershipWorkflow.log_meeting_update, {"kind": "pair", "minutes": 60})
    await ts_env.sleep(timedelta(days=2))
    asked = await wait_for(handle, lambda s: len(s.checkins) == 1, "check-in 1 asked")
    assert asked.checkins[0].round == 1 and asked.checkins[0].waiting_for == ["mentee", "mentor"]
    outbox = await records.list_outbox(partnership_id=handle.id)
    assert sorted(m.recipient_role for m in outbox if m.template == "checkin_request") == ["mentee", "mentor"]

    low = await update(
        handle,
        PartnershipWorkflow.answer_checkin_update,
        {"party": "mentee", "score": 2, "meeting_as_planned": False, "note": NOTE},
    )
    assert low.attention == "CHECKIN_LOW"
    assert low.attention_reason is not None and "low check-in answer from the mentee" in low.attention_reason
    assert low.checkins[0].low and low.checkins[0].answers["mentee"].score == 2
    outbox = await records.list_outbox(partnership_id=handle.id)
    assert [m.recipient_role for m in outbox if m.template == "checkin_low"] == ["coordinator"]

    # the signal works as well as the update, and a second answer of the same party is refused and recorded
    await handle.signal("answer_checkin", {"party": "mentee", "score": 5, "meeting_as_planned": True})
    refused = await wait_for(handle, lambda s: s.last_rejection is not None, "the repeated answer rejected")
    assert refused.last_rejection is not None and "already answered" in refused.last_rejection.reason

    cleared = await update(
        handle, PartnershipWorkflow.coordinator_action_update, {"action": "acknowledge", "reason": "called them"}
    )
    assert cleared.attention is None
    assert cleared.attention_history[-1].attention == "CHECKIN_LOW"
    assert cleared.attention_history[-1].cleared_by == "attention_acknowledged"

    # the note is in the records (the partnership's own log) and nowhere in what the workflow publishes
    log = await records.read_log(handle.id)
    answered = [ev for ev in log if ev.type == "checkin_answered"]
    assert len(answered) == 1 and answered[0].event.note == NOTE  # type: ignore[union-attr]
    described = await handle.describe()
    assert NOTE not in str(described.raw_description)
    assert NOTE not in (await status(handle)).model_dump_json()


async def test_no_answer_within_the_window_is_a_nudge_and_never_an_escalation(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await matched_and_signed(handle)
    await ts_env.sleep(timedelta(days=25))
    await update(handle, PartnershipWorkflow.log_meeting_update, {"kind": "pair", "minutes": 60})
    await ts_env.sleep(timedelta(days=6))
    await wait_for(handle, lambda s: len(s.checkins) == 1, "check-in 1 asked")
    answered = await update(
        handle, PartnershipWorkflow.answer_checkin_update, {"party": "mentor", "score": 4, "meeting_as_planned": True}
    )
    assert answered.attention is None and answered.checkins[0].waiting_for == ["mentee"]

    await ts_env.sleep(timedelta(days=15))  # past the 14-day window
    nudged = await wait_for(handle, lambda s: s.checkins and s.checkins[0].nudged, "the nudge")
    assert nudged.attention is None and nudged.attention_history == []
    outbox = await records.list_outbox(partnership_id=handle.id)
    assert [m.recipient_role for m in outbox if m.template == "checkin_nudge_due"] == ["mentee"]
    assert not [m for m in outbox if m.recipient_role == "coordinator"], "a nudge, not an escalation"

    late = await update(
        handle,
        PartnershipWorkflow.answer_checkin_update,
        {"party": "mentee", "score": 3, "meeting_as_planned": True, "round": 1},
    )
    assert late.checkins[0].waiting_for == [] and late.attention is None
    assert late.next_checkin_due is not None

    report = await report_from_records(records, cohort_id)  # the cohort report, from the records
    assert report is not None
    k = report.checkins
    assert (k.rounds, k.asked, k.answered, k.low, k.nudged) == (1, 2, 2, 0, 1)
    assert k.scores == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 0}

"""The Partnership workflow on the real time-skipping test server, with records in a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from tests.workflows.harness import (
    DAY,
    application,
    keep_history,
    matched_and_signed,
    record_gathering,
    start,
    status,
    update,
    wait_for,
    wait_stage,
)
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.temporal


async def test_six_month_partnership_from_application_to_completed_summary(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    app = application(cohort_id)
    handle = await start(ts_env.client, worker.task_queue, app)
    started = await matched_and_signed(handle)
    assert started.stage == "ACTIVE"
    assert started.agreement is not None and started.agreement.ends_on is not None

    for month in range(6):
        await ts_env.sleep(timedelta(days=27))
        await update(
            handle,
            PartnershipWorkflow.log_meeting_update,
            {"kind": "pair", "minutes": 120, "topics": [f"month {month + 1}"]},
        )
        await update(
            handle, PartnershipWorkflow.add_diary_entry_update, {"reflection": f"What I learned in month {month + 1}"}
        )
    await record_gathering(records, cohort_id, "kickoff", "collective", [handle.id], 3)
    await record_gathering(records, cohort_id, "workshop-1", "group", [f"{handle.id}:mentor"], 2.5)
    await update(
        handle,
        PartnershipWorkflow.gathering_attended_update,
        {"gathering_id": "kickoff", "kind": "collective", "hours": 3},
    )
    await update(
        handle,
        PartnershipWorkflow.gathering_attended_update,
        {"gathering_id": "workshop-1", "kind": "group", "hours": 12},
    )
    now = await status(handle)
    assert now.meetings_held == 6 and now.attention is None
    assert now.hours.total == pytest.approx(17.5)

    await ts_env.sleep(timedelta(days=30))  # past the 182-day end
    review = await wait_stage(handle, "CLOSING_REVIEW")
    assert review.next_deadline is not None and "closing reviews" in review.next_deadline.waiting_for
    await update(
        handle,
        PartnershipWorkflow.submit_closing_review_update,
        {"party": "mentee", "rating": 5, "outcome": "employed_in_field"},
    )
    await update(
        handle,
        PartnershipWorkflow.submit_closing_review_update,
        {"party": "mentor", "rating": 4, "comments": "A good year"},
    )
    result = await handle.result()

    assert result.stage == "COMPLETED"
    assert result.summary is not None
    assert result.summary.meetings_held == 6
    assert result.summary.diary_entries == 6
    assert result.summary.gatherings_attended == 2
    assert result.summary.total_hours == pytest.approx(17.5)
    assert result.summary.mentee_outcome == "employed_in_field"
    log = await records.read_log(app.workflow_id)
    assert [e.version for e in log] == list(range(1, len(log) + 1))
    assert log[-1].type == "partnership_completed"
    assert (await records.verify()).ok
    await keep_history(handle, "completed_six_months")


async def test_signatures_overdue_are_reminded_then_escalated(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await wait_stage(handle, "AWAITING_MATCH")
    await update(handle, PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-2"})
    await update(handle, PartnershipWorkflow.sign_agreement_update, {"party": "mentee"})
    await ts_env.sleep(timedelta(days=8))
    await wait_for(handle, lambda s: s.next_deadline and s.next_deadline.waiting_for == "signatures", "reminder")
    await ts_env.sleep(timedelta(days=7))
    overdue = await wait_for(handle, lambda s: s.attention == "SIGNATURE_OVERDUE", "escalation")
    assert overdue.stage == "AWAITING_SIGNATURES"
    assert overdue.next_deadline is None  # now it waits on a coordinator
    outbox = await records.list_outbox(partnership_id=handle.id)
    reminders = [m for m in outbox if m.template == "signing_reminder_due"]
    assert [m.recipient_role for m in reminders] == ["mentor"]  # the mentee had signed
    escalations = [m for m in outbox if m.template == "signature_overdue"]
    assert [(m.recipient_role, m.recipient_id) for m in escalations] == [("coordinator", "coord-1")]
    # The coordinator's way out: acknowledge re-arms the deadline, the mentor signs, the pair starts.
    await update(
        handle, PartnershipWorkflow.coordinator_action_update, {"action": "acknowledge", "reason": "mentor on holiday"}
    )
    started = await update(handle, PartnershipWorkflow.sign_agreement_update, {"party": "mentor"})
    assert started.stage == "ACTIVE" and started.attention is None


async def test_lapse_is_nudged_then_escalated_then_cleared_by_reschedule_and_a_meeting(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    # the first check-in after the lapse, so that the next deadline shown is the meeting clock's
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id, policy={"checkin_first": "P90D"}))
    await matched_and_signed(handle)
    await ts_env.sleep(timedelta(days=38))  # cadence 30 + grace 7
    await wait_for(handle, lambda s: "nudged" in (s.next_deadline.waiting_for if s.next_deadline else ""), "nudge")
    await ts_env.sleep(timedelta(days=14))  # cadence 30 + escalation 21
    lapsed = await wait_for(handle, lambda s: s.attention == "MEETING_LAPSED", "escalation")
    assert lapsed.meetings_held == 0
    outbox = await records.list_outbox(partnership_id=handle.id)
    assert sorted(m.recipient_role for m in outbox if m.template == "meeting_nudge_due") == ["mentee", "mentor"]
    assert [m.recipient_role for m in outbox if m.template == "meeting_lapsed"] == ["coordinator"]

    now = await ts_env.get_current_time()
    rescheduled = await update(
        handle,
        PartnershipWorkflow.coordinator_action_update,
        {"action": "reschedule", "reason": "agreed a date with both", "until": (now + 10 * DAY).isoformat()},
    )
    assert rescheduled.attention is None
    met = await update(
        handle, PartnershipWorkflow.log_meeting_update, {"kind": "pair", "minutes": 60, "topics": ["restart"]}
    )
    assert met.meetings_held == 1 and met.attention is None
    assert met.next_meeting_due is not None


async def test_pause_and_resume_move_the_end_date(ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    started = await matched_and_signed(handle)
    assert started.agreement is not None
    original_end = started.agreement.ends_on
    await update(
        handle, PartnershipWorkflow.coordinator_action_update, {"action": "pause", "reason": "mentee's parental leave"}
    )
    paused = await status(handle)
    assert paused.stage == "PAUSED" and paused.next_deadline is None  # no lapse clock while paused
    await ts_env.sleep(timedelta(days=60))
    assert (await status(handle)).attention is None
    resumed = await update(
        handle, PartnershipWorkflow.coordinator_action_update, {"action": "resume", "reason": "back"}
    )
    assert resumed.stage == "ACTIVE"
    assert resumed.agreement is not None and resumed.agreement.ends_on is not None and original_end is not None
    moved = resumed.agreement.ends_on - original_end
    assert timedelta(days=59) < moved < timedelta(days=61)


async def test_rematch_goes_back_to_awaiting_match_and_keeps_the_reason(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await matched_and_signed(handle, mentor_id="mr-old")
    await update(handle, PartnershipWorkflow.withdraw_update, {"party": "mentor", "reason": "moved abroad"})
    flagged = await status(handle)
    assert flagged.attention == "MENTOR_WITHDREW"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await update(handle, PartnershipWorkflow.coordinator_action_update, {"action": "acknowledge", "reason": "seen"})
    assert "rematch or end_early" in str(refused.value.cause)
    rematched = await update(
        handle, PartnershipWorkflow.coordinator_action_update, {"action": "rematch", "reason": "mentor moved abroad"}
    )
    assert rematched.stage == "AWAITING_MATCH" and rematched.mentor_id is None and rematched.attention is None
    with pytest.raises(WorkflowUpdateFailedError):
        await update(handle, PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-old"})
    again = await update(handle, PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-new"})
    assert again.stage == "AWAITING_SIGNATURES" and again.mentor_id == "mr-new"
    state = await records.load_state(handle.id)
    assert state is not None and state.rematch_reasons == ("mentor moved abroad",)


async def test_mentee_withdrawal_ends_the_workflow(ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await matched_and_signed(handle)
    await handle.signal(PartnershipWorkflow.withdraw, {"party": "mentee", "reason": "moved to another city"})
    result = await handle.result()
    assert result.stage == "WITHDRAWN"
    assert result.summary is not None and result.summary.stage == "WITHDRAWN"
    await keep_history(handle, "mentee_withdrew")


async def test_closing_review_never_submitted_is_escalated_and_closed_by_a_coordinator(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    app = application(cohort_id, policy={"programme_length": "P60D", "meeting_cadence": "P30D"})
    handle = await start(ts_env.client, worker.task_queue, app)
    await matched_and_signed(handle)
    await ts_env.sleep(timedelta(days=25))
    await update(handle, PartnershipWorkflow.log_meeting_update, {"kind": "pair", "minutes": 90})
    await ts_env.sleep(timedelta(days=25))
    await update(handle, PartnershipWorkflow.log_meeting_update, {"kind": "pair", "minutes": 90})
    await ts_env.sleep(timedelta(days=11 + 15))  # end at day 60, review window 14 days
    overdue = await wait_for(handle, lambda s: s.attention == "REVIEW_OVERDUE", "review overdue")
    assert overdue.stage == "CLOSING_REVIEW"
    await handle.signal(
        PartnershipWorkflow.coordinator_action, {"action": "close_review", "reason": "no answer after two reminders"}
    )
    result = await handle.result()
    assert result.stage == "COMPLETED"
    assert result.summary is not None and result.summary.meetings_held == 2
    await keep_history(handle, "review_closed_by_coordinator")


async def test_bad_and_out_of_stage_signals_are_rejected_recorded_and_kept_in_the_status(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await wait_stage(handle, "AWAITING_MATCH")
    await handle.signal(PartnershipWorkflow.log_meeting, {"kind": "pair", "minutes": 60})  # out of stage
    rejected = await wait_for(handle, lambda s: s.last_rejection is not None, "rejection")
    assert rejected.last_rejection is not None
    assert rejected.last_rejection.command == "log_meeting"
    assert "AWAITING_MATCH" in rejected.last_rejection.reason
    await handle.signal(PartnershipWorkflow.sign_agreement, {"party": "cat"})  # malformed
    await handle.signal(PartnershipWorkflow.match_proposed, "not an object")  # not even an object
    await wait_for(
        handle,
        lambda s: s.last_rejection is not None and "takes one JSON object" in s.last_rejection.reason,
        "malformed rejection",
    )
    assert (await status(handle)).stage == "AWAITING_MATCH"  # nothing else changed, the workflow goes on
    log = await records.read_log(handle.id)
    reasons = [e.event.reason for e in log if e.type == "command_rejected"]  # type: ignore[union-attr]
    assert len(reasons) == 3
    assert "party" in reasons[1]
    matched = await update(handle, PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-9"})
    assert matched.stage == "AWAITING_SIGNATURES"


async def test_update_validators_reject_without_a_trace_in_the_history(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await wait_stage(handle, "AWAITING_MATCH")
    for name, payload, words in [
        (PartnershipWorkflow.sign_agreement_update, {"party": "mentee"}, "AWAITING_MATCH"),
        (PartnershipWorkflow.log_meeting_update, {"kind": "pair", "minutes": 1}, "minutes"),
        (PartnershipWorkflow.coordinator_action_update, {"action": "teleport", "reason": "x"}, "action"),
        (PartnershipWorkflow.submit_closing_review_update, {"party": "mentee", "rating": 9}, "rating"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await update(handle, name, payload)
        assert words in str(failure.value.cause), (name, failure.value.cause)
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError) and cause.non_retryable, "a refusal is final: not retryable"
    history = await handle.fetch_history()
    kinds = {event.WhichOneof("attributes") for event in history.events}
    assert not any(kind and "update" in kind for kind in kinds)
    assert not any(e.type == "command_rejected" for e in await records.read_log(handle.id))


async def test_application_from_a_non_partner_institution_is_rejected(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id, institution_id="unknown-uni"))
    result = await handle.result()
    assert result.stage == "REJECTED"
    await keep_history(handle, "application_rejected")

"""Hostile input never hangs or fails a partnership (issue 8): a malformed start input ends it as REJECTED with the
reason; an unknown signal name is recorded as rejected; refusals reach a real client as non-retryable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from contract import gathering
from contract.partnership import WORKFLOW_TYPE, PartnershipStatus, partnership_id
from tests.workflows.harness import application, start, status, wait_for, wait_stage
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.temporal


async def _start_raw(ts_env: WorkflowEnvironment, worker: Worker, workflow_id: str, payload: Any) -> PartnershipStatus:
    """Start by type name with any JSON, as ``temporal workflow start --type Partnership --input ...`` does."""
    handle = await ts_env.client.start_workflow(
        WORKFLOW_TYPE, payload, id=workflow_id, task_queue=worker.task_queue, result_type=PartnershipStatus
    )
    return await handle.result()


async def test_a_malformed_application_ends_rejected_with_the_reason_recorded_and_shown(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    fields = application(cohort_id).model_dump(mode="json")
    fields["goals"] = "Find a job at Nokia, said Anna Virtanen"  # a string, not a list
    workflow_id = partnership_id(cohort_id, fields["mentee_id"])
    result = await _start_raw(ts_env, worker, workflow_id, fields)
    assert result.stage == "REJECTED"
    assert "invalid application" in result.waiting_for and "goals" in result.waiting_for
    assert "Anna" not in result.waiting_for and "Nokia" not in result.waiting_for, "never the values sent"
    log = await records.read_log(workflow_id)
    assert [entry.type for entry in log] == ["application_rejected"]
    reasons = log[0].event.reasons  # type: ignore[union-attr]
    assert "goals" in reasons[0] and "Anna" not in reasons[0]
    assert not await records.pending_outbox(workflow_id), "nobody to tell"


async def test_a_start_input_that_is_not_an_object_ends_rejected(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    result = await _start_raw(ts_env, worker, f"partnership-{cohort_id}-x", ["not", "an", "application"])
    assert result.stage == "REJECTED" and "not one JSON object" in result.waiting_for


async def test_an_unknown_signal_is_recorded_as_rejected_and_shown(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await wait_stage(handle, "AWAITING_MATCH")
    await handle.signal("high_five", {"from": "mentor"})
    rejected = await wait_for(handle, lambda s: s.last_rejection is not None, "the unknown signal's rejection")
    assert rejected.last_rejection is not None
    assert rejected.last_rejection.command == "high_five"
    assert "unknown signal high_five" in rejected.last_rejection.reason
    assert "sign_agreement" in rejected.last_rejection.reason, "says what the signals are"
    assert rejected.stage == "AWAITING_MATCH"
    log = await records.read_log(handle.id)
    assert [e.event.command for e in log if e.type == "command_rejected"] == ["high_five"]  # type: ignore[union-attr]
    matched = await handle.execute_update(PartnershipWorkflow.match_proposed_update, {"mentor_id": "mr-2"})
    assert matched.stage == "AWAITING_SIGNATURES", "the workflow goes on"


async def test_update_refusals_reach_the_client_as_non_retryable(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))
    await wait_stage(handle, "AWAITING_MATCH")
    for update, payload in [
        (PartnershipWorkflow.sign_agreement_update, {"party": "mentee"}),  # refused by the domain (out of stage)
        (PartnershipWorkflow.log_meeting_update, {"kind": "pair", "minutes": "long"}),  # malformed
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await handle.execute_update(update, payload)
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError), cause
        assert cause.non_retryable, f"{cause.type}: {cause.message}"
    assert (await status(handle)).stage == "AWAITING_MATCH"


async def test_an_application_for_a_cohort_without_a_cohort_workflow_raises_no_cohort(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    handle = await start(ts_env.client, worker.task_queue, application(cohort_id))  # no Cohort workflow runs
    waiting = await wait_stage(handle, "AWAITING_MATCH")
    assert waiting.next_deadline is not None and "cohort" in waiting.next_deadline.waiting_for
    await ts_env.sleep(timedelta(days=15))  # the default cohort wait is 14 days
    raised = await wait_for(handle, lambda s: s.attention == "NO_COHORT", "NO_COHORT")
    assert raised.stage == "AWAITING_MATCH" and raised.next_deadline is None
    log = await records.read_log(handle.id)
    assert [(entry.type, entry.event.running) for entry in log if entry.type == "cohort_checked"] == [  # type: ignore[union-attr]
        ("cohort_checked", False)
    ]


async def test_a_malformed_gathering_plan_fails_the_gathering_at_once_with_the_reason(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    plan = {"cohort_id": cohort_id, "gathering_id": "visit", "kind": "group", "subject": "Visit at Anna's"}
    handle = await ts_env.client.start_workflow(
        gathering.WORKFLOW_TYPE,
        plan,
        id=gathering.gathering_workflow_id(cohort_id, "visit"),
        task_queue=worker.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert "invalid plan" in cause.message and "starts_at" in cause.message and "Anna" not in cause.message

"""The Cohort's history budget while a round awaits approval (issue 15, patch
``cohort-continue-as-new-awaiting-approval``): a cohort whose budget is spent while it waits for a coordinator
continues as new still awaiting the same round (no new matching), approvable as before, and then goes on as a cohort
does. On the real time-skipping server; the budget is made small through the run's second argument."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.records.store import RecordStore
from contract.cohort import CohortStatus, MatchingApproval, RunMatching
from tests.workflows.harness import wait_stage
from tests.workflows.test_cohort import wait_cohort
from tests.workflows.test_continue_as_new import runs, small_cohort
from workers.temporal import data_converter
from workers.worker import WORKER_INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS
from workflows.budget import HistoryBudget
from workflows.cohort import CohortWorkflow

pytestmark = pytest.mark.temporal

BUDGET = HistoryBudget(events=60)
"""Above what a cohort's first run takes to propose its first round (about 30 events), well below what the waits
below add."""


async def _cohort_awaiting_approval(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> tuple[WorkflowHandle[Any, Any], WorkflowHandle[Any, Any], CohortStatus]:
    """One applicant, three mentors; the cohort's first round proposed and awaiting approval, in its first run."""
    cohort, pair = await small_cohort(ts_env, worker, records, cohort_id, BUDGET)
    await ts_env.sleep(timedelta(days=1, hours=1))
    proposed = await wait_cohort(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "round 1 proposals")
    assert (await cohort.describe()).run_id == cohort.first_execution_run_id, "the budget was not spent yet"
    return cohort, pair, proposed


async def _next_run_started(cohort: WorkflowHandle[Any, Any]) -> None:
    """The next run has completed its first workflow task (a query during the hand-over may time out)."""
    for _ in range(100):
        history = await cohort.fetch_history()
        if any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the next run never took its first workflow task")


def _but_the_note(status: CohortStatus) -> CohortStatus:
    return status.model_copy(update={"matching_note": None})


async def test_a_cohort_awaiting_approval_continues_as_new_with_the_same_round_and_then_goes_on(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    client = ts_env.client
    cohort, pair, proposed = await _cohort_awaiting_approval(ts_env, worker, records, cohort_id)
    first_run = cohort.first_execution_run_id
    round1 = proposed.rounds[0]

    # The coordinator is away; the history grows with every (coalesced) run_matching until the budget is spent.
    for _ in range(40):
        if (await cohort.describe()).run_id != first_run:
            break
        await cohort.signal(CohortWorkflow.run_matching, RunMatching(reason="is anyone there"))
        await asyncio.sleep(0.2)
    assert (await cohort.describe()).run_id != first_run, "the cohort continued as new while awaiting approval"
    assert await runs(client, cohort.id, first_run) == 2
    await _next_run_started(cohort)

    # The next run awaits the same round: a caller sees the status the first run showed (the note apart).
    waiting = await wait_cohort(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "the next run")
    assert _but_the_note(waiting) == _but_the_note(proposed)
    assert [r.round_id for r in waiting.rounds] == [round1.round_id], "no new matching round"
    assert waiting.rounds[0] == round1 and not waiting.rounds[0].approved
    assert waiting.waiting_for == f"round 1: {round1.matched} proposed; waiting for a coordinator's approval"
    assert waiting.matching_note is not None and "joined round 1, already under way" in waiting.matching_note

    # Approvable exactly as before: another round id is refused, this one approved, its matches delivered.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await cohort.execute_update(CohortWorkflow.approve_matching, MatchingApproval(round_id="no-such-round"))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.message == f"round no-such-round is not the one awaiting approval ({round1.round_id})"
    approved = await cohort.execute_update(
        CohortWorkflow.approve_matching, MatchingApproval(round_id=round1.round_id), result_type=CohortStatus
    )
    assert approved.rounds[0].approved and approved.rounds[0].round_id == round1.round_id
    running = await wait_cohort(cohort, lambda s: s.stage == "RUNNING", "round 1 delivered")
    assert running.rounds[0].delivered == round1.matched == 1
    assert (await wait_stage(pair, "AWAITING_SIGNATURES")).mentor_id is not None, "the match reached the pair"

    # The rest of the cohort's life: the kickoff, then the closing report.
    await ts_env.sleep(timedelta(days=9))
    kicked = await wait_cohort(cohort, lambda s: s.kicked_off, "kickoff")
    assert [r.number for r in kicked.rounds] == [1]
    report = await cohort.result()
    assert report.partnerships == 1
    final = await cohort.query(CohortWorkflow.status)
    assert final.stage == "CLOSED" and [r.delivered for r in final.rounds] == [1]

    # Both runs replay against the code (the patch's marker where the wait began; the continue-as-new).
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=data_converter(),
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=list(WORKER_INTERCEPTORS),
    )
    for run_id in (first_run, (await cohort.describe()).run_id):
        history = await client.get_workflow_handle(cohort.id, run_id=run_id).fetch_history()
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert replayed.replay_failure is None
    first_history = await client.get_workflow_handle(cohort.id, run_id=first_run).fetch_history()
    kinds = [e.event_type for e in first_history.events]
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds


async def test_a_refused_approval_is_answered_before_the_cohort_continues_as_new_awaiting_the_round(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    """A refused approval re-runs the round's matching (its history grows); its update is answered with the reason
    in the run that refused it, never lost at the boundary, and the next run still awaits the round."""
    client = ts_env.client
    cohort, _, proposed = await _cohort_awaiting_approval(ts_env, worker, records, cohort_id)
    first_run = cohort.first_execution_run_id
    round_id = proposed.rounds[0].round_id
    unknown = {"round_id": round_id, "pins": [{"mentee_id": "nobody", "mentor_id": "mr-000"}]}

    refusals = 0
    for _ in range(15):
        if (await cohort.describe()).run_id != first_run:
            break
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await cohort.execute_update(CohortWorkflow.approve_matching, unknown)
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "ApprovalRefused", cause
        assert cause.message == "the pins and exclusions were refused: pins for mentees not in this round: nobody"
        refusals += 1
    assert refusals >= 1 and (await cohort.describe()).run_id != first_run, "continued as new after a refusal"
    assert await runs(client, cohort.id, first_run) == 2
    await _next_run_started(cohort)

    waiting = await wait_cohort(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "the next run")
    assert _but_the_note(waiting) == _but_the_note(proposed)
    assert [r.round_id for r in waiting.rounds] == [round_id]
    assert waiting.matching_note == "the pins and exclusions were refused: pins for mentees not in this round: nobody"

    approved = await cohort.execute_update(CohortWorkflow.approve_matching, {}, result_type=CohortStatus)
    assert approved.rounds[0].approved and approved.rounds[0].round_id == round_id
    running = await wait_cohort(cohort, lambda s: s.stage == "RUNNING", "round 1 delivered")
    assert running.rounds[0].delivered == 1

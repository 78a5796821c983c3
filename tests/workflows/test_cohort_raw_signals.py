"""The Cohort's malformed and unknown signals are recorded as rejections, never dropped (issues 8 and 15).

On the real time-skipping server with the real worker: each hostile ``run_matching`` (wrong type, not an
object, not JSON at all, a control character, too large) and each unknown signal name is a rejection in the
Cohort's status with a reason that names the field and the problem, never the value; the workflow still answers
``status``, fails no workflow task, and still runs its matching rounds afterwards. ``approve_matching`` with a
payload that is not JSON is refused by its validator, non-retryable.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from contract.cohort import CohortStatus, RunMatching
from tests.workflows.harness import HISTORIES
from tests.workflows.test_hostile import _cohort_awaiting_approval, wait_cohort
from workflows.cohort import RAW_SIGNALS, CohortWorkflow

pytestmark = pytest.mark.temporal

CANARY = "canary-c0h0rt"
"""A value that must never reach a rejection's reason (it could be personal data)."""

HOSTILE: list[tuple[str, Any, str]] = [
    # (signal name, payload, what the recorded reason must say)
    ("run_matching", {"reason": 5}, "invalid run_matching: reason: Input should be a valid string"),
    ("run_matching", {"reason": None}, "invalid run_matching: reason: Input should be a valid string"),
    ("run_matching", {"reason": [CANARY]}, "invalid run_matching: reason: Input should be a valid string"),
    ("run_matching", {"reason": f"{CANARY}\u0000"}, "invalid run_matching: reason: must not contain control"),
    ("run_matching", {"reason": CANARY * 1000}, "invalid run_matching: reason: "),
    ("run_matching", CANARY, "run_matching takes one JSON object"),
    ("run_matching", [CANARY], "run_matching takes one JSON object"),
    ("run_matching", None, "run_matching takes one JSON object"),
    (
        "run_matching",
        RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"{" + CANARY.encode())),
        "run_matching takes one JSON object",
    ),
    (
        "run_matching",
        RawValue(Payload(metadata={"encoding": b"no/such"}, data=b"\xff")),
        "run_matching takes one JSON object",
    ),
    ("approve_matching", {"round_id": CANARY}, "unknown signal approve_matching; the signals are: run_matching"),
    ("add_mentor", {"mentor_id": CANARY}, "unknown signal add_mentor; the signals are: run_matching"),
    ("nope 1\u0000👀", {"x": CANARY}, "unknown signal nope?1??; the signals are: run_matching"),
]


async def _cohort(ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str) -> Any:
    """A cohort with one applicant waiting, its first matching round a day away."""
    return await _cohort_awaiting_approval(ts_env, worker, records, cohort_id)


async def _status(handle: WorkflowHandle[Any, Any]) -> CohortStatus:
    return await handle.query("status", result_type=CohortStatus)


async def _wait(handle: WorkflowHandle[Any, Any], predicate: Any, what: str) -> CohortStatus:
    return await wait_cohort(handle, predicate, what)


async def _failed_tasks_and_patches(handle: WorkflowHandle[Any, Any]) -> tuple[int, str]:
    """How many workflow tasks failed, and the patch markers recorded (their data, as text)."""
    failed, markers = 0, []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failed += 1
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            markers.append(str(event.marker_recorded_event_attributes.details))
    return failed, " ".join(markers)


async def test_each_malformed_or_unknown_signal_is_a_recorded_rejection_and_matching_still_runs(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    cohort = await _cohort(ts_env, worker, records, cohort_id)
    before = await _status(cohort)
    assert before.rejections == 0 and before.last_rejection is None

    for count, (name, payload, reason) in enumerate(HOSTILE, start=1):
        await cohort.signal(name, payload)
        seen = await _wait(cohort, lambda s, n=count: s.rejections == n, f"rejection {count} ({name})")
        last = seen.last_rejection
        assert last is not None, name
        assert last.reason.startswith(reason), (name, last.reason)
        assert CANARY not in last.reason
        assert last.command == (name if name.isidentifier() else "nope?1??")
        assert seen.stage == "COLLECTING_APPLICATIONS" and seen.rounds == []  # nothing else changed: no round asked for

    # Still alive: the first round runs at its time; a well-formed run_matching still counts (coalesced here).
    await ts_env.sleep(timedelta(days=2))
    proposed = await _wait(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "round 1")
    await cohort.signal(CohortWorkflow.run_matching, RunMatching(reason="a late applicant"))
    await cohort.signal("run_matching", {})  # the reason is optional: a missing field is not a fault here
    joined = await _wait(cohort, lambda s: s.matching_note is not None and "joined round" in s.matching_note, "note")
    assert joined.rejections == len(HOSTILE) and [r.number for r in proposed.rounds] == [1]
    approved = await cohort.execute_update(
        CohortWorkflow.approve_matching, {"round_id": proposed.rounds[0].round_id}, result_type=CohortStatus
    )
    assert approved.rounds[0].approved
    await _wait(cohort, lambda s: s.stage == "RUNNING", "delivery")
    await cohort.signal(CohortWorkflow.run_matching, RunMatching(reason="a second round"))
    second = await _wait(cohort, lambda s: len(s.rounds) == 2, "round 2")
    assert second.stage == "AWAITING_APPROVAL" and second.rejections == len(HOSTILE)

    failed, patches = await _failed_tasks_and_patches(cohort)
    assert failed == 0 and RAW_SIGNALS in patches


async def test_approve_matching_that_is_not_json_is_refused_by_the_validator_not_retryable(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    cohort = await _cohort(ts_env, worker, records, cohort_id)
    await ts_env.sleep(timedelta(days=2))
    proposed = await _wait(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "round 1")
    not_json = RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"{" + CANARY.encode()))
    for payload, reason in (
        (not_json, "approve_matching takes one JSON object"),
        ([CANARY], "approve_matching takes one JSON object"),
        ({"round_id": 5}, "invalid approve_matching: round_id: Input should be a valid string"),
        ({"pins": [{"mentee_id": CANARY}]}, "invalid approve_matching: pins.0.mentor_id: Field required"),
        ({"round_id": "round-elsewhere"}, ""),  # a round this cohort has not: the domain's refusal
    ):
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await cohort.execute_update("approve_matching", payload)
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError) and cause.non_retryable, payload
        assert cause.message.startswith(reason) and CANARY not in cause.message, cause.message
    approved = await cohort.execute_update(
        "approve_matching", {"round_id": proposed.rounds[0].round_id}, result_type=CohortStatus
    )
    assert approved.rounds[0].approved and approved.rejections == 0  # updates are refused, not recorded
    assert (await _failed_tasks_and_patches(cohort))[0] == 0


def test_the_history_from_before_the_patch_drops_those_signals_and_is_replayed() -> None:
    """``tests/histories/cohort_signals_dropped_before_raw_signals.json`` was recorded with the Cohort of before
    ``cohort-raw-signals`` (the SDK dropped malformed ``run_matching`` signals, and ``nope`` and ``add_mentor`` had
    no handler); ``cohort_signals_rejected.json`` with the same signals and the current code (a rejection each).
    ``test_replay`` replays both against the current code."""
    events = json.loads((HISTORIES / "cohort_signals_dropped_before_raw_signals.json").read_text())["events"]
    signals = [
        e["workflowExecutionSignaledEventAttributes"]["signalName"]
        for e in events
        if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"
    ]
    assert signals.count("run_matching") == 5 and signals.count("nope") == 2 and "add_mentor" in signals
    patches = [
        json.loads(base64.b64decode(e["markerRecordedEventAttributes"]["details"]["patch-data"]["payloads"][0]["data"]))
        for e in events
        if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
    ]
    assert [p["id"] for p in patches] == ["coalesce-run-matching"]  # not cohort-raw-signals: recorded before it
    assert not [e for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_FAILED"]


async def test_run_matching_with_no_argument_is_a_rejection_too(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    cohort = await _cohort(ts_env, worker, records, cohort_id)
    await cohort.signal("run_matching")
    seen = await _wait(cohort, lambda s: s.rejections == 1, "the rejection")
    assert seen.last_rejection is not None and seen.last_rejection.reason == "run_matching takes one JSON object"
    await cohort.signal("nope", args=[{}, {}, {}])  # the catch-all takes any number of arguments
    seen = await _wait(cohort, lambda s: s.rejections == 2, "the second rejection")
    assert (await _failed_tasks_and_patches(cohort))[0] == 0, seen


async def test_run_matching_with_two_arguments_is_a_rejection_not_a_failed_task(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    """With two payloads the SDK drops the handler's type hints (their count differs) and calls it with both,
    decoded: the handler takes any number (``*extra``, hidden from the SDK) and rejects them; before, a one-argument
    handler raised TypeError, which failed every workflow task."""
    cohort = await _cohort(ts_env, worker, records, cohort_id)
    await cohort.signal("run_matching", args=[{"reason": "one"}, {"reason": "two"}])
    seen = None
    for _ in range(20):
        with contextlib.suppress(RPCError):
            seen = await cohort.query("status", result_type=CohortStatus, rpc_timeout=timedelta(seconds=2))
        if (seen is not None and seen.rejections == 1) or (await _failed_tasks_and_patches(cohort))[0]:
            break
        await asyncio.sleep(0.2)
    assert (await _failed_tasks_and_patches(cohort))[0] == 0  # not a TypeError failing every task
    assert seen is not None and seen.rejections == 1 and seen.last_rejection is not None
    assert seen.last_rejection.reason == "run_matching takes one JSON object"

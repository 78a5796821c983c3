"""``entrypoint doctor``: what ``records verify`` cannot see, because it is in Temporal.

Two kinds of trouble, both silent otherwise:

- **stuck workflows**: a running workflow whose workflow task keeps failing (a nondeterminism error, input
  that cannot be decoded, a bug) makes no progress and answers no query, yet Temporal shows it Running.
  Found by describing every running workflow: a pending workflow task on its second attempt or later is
  failing; the last ``WorkflowTaskFailed`` event of its history says why (its first line, cut short).
- **records that lag**: a partnership whose event log in the records database ends at another version
  than its workflow's ``status.version`` (the workflow folds an event only once it is recorded, so the
  two agree but for a moment): events were lost (a restored database, a bug), or the records were
  written by another deployment. A lag is checked
  twice, ``settle`` seconds apart, so a record being written right now is not reported.

Only ids, stages, versions and error classes are printed; never the workflows' inputs or personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client

from activities.records import schema
from activities.records.store import RecordStore
from contract import STATUS_QUERY
from contract.partnership import WORKFLOW_TYPE

BENIGN_TASK_FAILURES = frozenset(
    {
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_UPDATE,
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
    }
)
"""Workflow task "failures" that are the server's, not the code's: a signal or update arrived while the task
that would have closed the workflow was completing (the task is run again with it), or a worker restarted
and its sticky cache was dropped. Counted apart from real failures."""

CONCURRENCY = 16
MESSAGE_LENGTH = 160
DEFAULT_SETTLE = 5.0


@dataclass(frozen=True)
class Stuck:
    workflow_id: str
    workflow_type: str
    attempt: int
    failure: str


@dataclass(frozen=True)
class Lag:
    workflow_id: str
    temporal_version: int | None
    """None: the workflow did not answer ``status``."""
    records_version: int | None
    """None: the records database has no such partnership."""
    why: str


@dataclass
class Diagnosis:
    running: int = 0
    partnerships: int = 0
    stuck: list[Stuck] = field(default_factory=list)
    lagging: list[Lag] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.stuck and not self.lagging


def task_failures(event: Any) -> tuple[bool, str] | None:
    """For a history event: None if it is no ``WorkflowTaskFailed``; else whether it is a real failure (not
    one of ``BENIGN_TASK_FAILURES``) and one line saying why."""
    if event.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        return None
    attributes = event.workflow_task_failed_event_attributes
    cause = WorkflowTaskFailedCause.Name(attributes.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
    return attributes.cause not in BENIGN_TASK_FAILURES, f"{cause}: {_first_line(attributes.failure.message)}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no message"
    return line if len(line) <= MESSAGE_LENGTH else line[: MESSAGE_LENGTH - 1] + "…"


async def _last_task_failure(client: Client, workflow_id: str, run_id: str) -> str:
    """The last workflow task failure of the run, in one short line."""
    last = "no failure recorded yet (the task timed out)"
    async for event in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = event.workflow_task_failed_event_attributes.failure
            message = failure.message
            if failure.HasField("encoded_attributes"):  # the codec moved the message into the encoded attributes
                with contextlib.suppress(Exception):
                    message = str(await client.data_converter.decode_failure(failure))
            last = _first_line(message)
    return last


async def _describe(client: Client, workflow_id: str, run_id: str) -> Any:
    # Raw: no search attributes or memo to decode.
    return await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
        )
    )


async def find_stuck(client: Client, workflow_id: str, run_id: str, workflow_type: str) -> Stuck | None:
    described = await _describe(client, workflow_id, run_id)
    if not described.HasField("pending_workflow_task"):
        return None
    attempt = int(described.pending_workflow_task.attempt)
    if attempt <= 1:
        return None
    return Stuck(workflow_id, workflow_type, attempt, await _last_task_failure(client, workflow_id, run_id))


async def _versions(client: Client, store: RecordStore, workflow_id: str) -> tuple[int | None, int | None]:
    try:
        status = await client.get_workflow_handle(workflow_id).query(STATUS_QUERY)
        temporal: int | None = int(status["version"]) if isinstance(status, dict) else int(status.version)
    except Exception:  # RPCError, a failing workflow task, a query the worker cannot answer
        temporal = None
    return temporal, await records_version(store, workflow_id)


async def records_version(store: RecordStore, partnership_id: str) -> int | None:
    """The last version in the partnership's event log; None when it has none."""
    events = schema.events.c

    async def work(connection: AsyncConnection) -> int | None:
        found = await connection.scalar(select(func.max(events.version)).where(events.partnership_id == partnership_id))
        return None if found is None else int(found)

    return await store.database.read(work)


async def find_lag(client: Client, store: RecordStore, workflow_id: str, settle: float) -> Lag | None:
    temporal, records = await _versions(client, store, workflow_id)
    if temporal is not None and temporal == records:
        return None
    if settle > 0:
        await asyncio.sleep(settle)  # a record being written now: look again
        temporal, records = await _versions(client, store, workflow_id)
        if temporal is not None and temporal == records:
            return None
    if temporal is None:
        why = "does not answer the status query"
    elif records is None:
        why = f"has no records at all (Temporal is at version {temporal})"
    elif records < temporal:
        why = f"records lag: {temporal - records} event(s) behind Temporal"
    else:
        why = f"records are {records - temporal} event(s) ahead of Temporal"
    return Lag(workflow_id, temporal, records, why)


async def diagnose(
    client: Client,
    store: RecordStore | None,
    *,
    query: str | None = None,
    settle: float = DEFAULT_SETTLE,
) -> Diagnosis:
    """Look at every running workflow (or those ``query`` selects among them)."""
    visibility = "ExecutionStatus='Running'" + (f" AND ({query})" if query else "")
    running = [(wf.id, wf.run_id or "", wf.workflow_type) async for wf in client.list_workflows(visibility)]
    result = Diagnosis(running=len(running))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def look(workflow_id: str, run_id: str, workflow_type: str) -> None:
        async with gate:
            stuck = await find_stuck(client, workflow_id, run_id, workflow_type)
            if stuck is not None:
                result.stuck.append(stuck)
                return
            if store is not None and workflow_type == WORKFLOW_TYPE:
                result.partnerships += 1
                lag = await find_lag(client, store, workflow_id, settle)
                if lag is not None:
                    result.lagging.append(lag)

    await asyncio.gather(*(look(*wf) for wf in running))
    result.stuck.sort(key=lambda s: s.workflow_id)
    result.lagging.sort(key=lambda lag: lag.workflow_id)
    return result


def report(diagnosis: Diagnosis) -> str:
    lines = [
        f"{diagnosis.running} running workflow(s), {diagnosis.partnerships} partnership(s) checked against the records"
    ]
    for stuck in diagnosis.stuck:
        lines.append(
            f"STUCK  {stuck.workflow_id} ({stuck.workflow_type}): workflow task failing, attempt {stuck.attempt}: "
            f"{stuck.failure}"
        )
    for lag in diagnosis.lagging:
        lines.append(f"LAG    {lag.workflow_id}: {lag.why}")
    if diagnosis.healthy:
        lines.append("healthy: no workflow is stuck and every partnership's records match its workflow")
    else:
        lines.append(f"{len(diagnosis.stuck)} stuck, {len(diagnosis.lagging)} lagging")
    return "\n".join(lines)

"""Issue 15, finding 8: no input value in any log line or failure text. Bad inputs carrying a canary go to a
real worker on the time-skipping server; the worker's log (JSON lines, as in production) and every failure
text in the histories are searched for the canary."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from contract.partnership import WORKFLOW_TYPE, PartnershipStatus
from tests.workflows.harness import application, matched_and_signed, start, status, update, wait_for
from workers import logging as worker_logging

pytestmark = pytest.mark.temporal

CANARY = "canary-8b1d0c"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The worker's logging as in production (workers.logging.configure), into a file; restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    path = tmp_path / "worker.log"
    worker_logging.configure("DEBUG", file=path)
    try:
        yield path
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def failure_texts(history: Any) -> str:
    """Everything the history says about failures and rejections, as text."""
    found = []
    for event in history.events:
        as_dict = MessageToDict(event)
        for key, value in as_dict.items():
            if key.endswith("Attributes") and ("failure" in str(value).lower() or "rejected" in key.lower()):
                found.append(str(value))
    return "\n".join(found)


async def wait_failure(handle: WorkflowHandle[Any, Any]) -> str:
    """The failure texts once the bad start has failed: the run (refused) or, before that, a workflow task."""
    for _ in range(200):
        history = await handle.fetch_history()
        kinds = str([MessageToDict(e) for e in history.events])
        if "workflowTaskFailedEventAttributes" in kinds or "workflowExecutionFailedEventAttributes" in kinds:
            return failure_texts(history)
        await asyncio.sleep(0.05)
    raise AssertionError("the bad start never failed")


async def test_bad_inputs_leave_no_input_value_in_logs_or_failures(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str, log_file: Path
) -> None:
    client = ts_env.client
    # 1. A raw start whose contact does not validate (the SDK decodes it before any workflow code runs).
    raw = application(cohort_id).model_dump(mode="json") | {"contact": {"name": "A", "email": f"{CANARY}@@bad"}}
    bad_start = await client.start_workflow(
        WORKFLOW_TYPE,
        raw,
        id=f"partnership-{cohort_id}-raw-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
        result_type=PartnershipStatus,
    )
    ended = await bad_start.result()  # the raw input is read by the workflow: REJECTED with the problems
    assert ended.stage == "REJECTED"
    texts = [ended.waiting_for, ended.model_dump_json(), failure_texts(await bad_start.fetch_history())]
    assert "contact.email" in texts[0]  # the rejection says what is wrong...

    # 2. Signals and updates that do not validate, or that the limits refuse.
    handle = await start(client, worker.task_queue, application(cohort_id))
    await matched_and_signed(handle)
    bad: list[tuple[str, dict[str, Any]]] = [
        ("log_meeting", {"minutes": CANARY}),
        ("log_meeting", {"minutes": 60, "notes": f"{CANARY}\u0000"}),
        ("add_diary_entry", {"reflection": CANARY * 1000}),
        ("add_diary_entry", {"reflection": "ok", "goals": [CANARY] * 50}),
        ("match_proposed", {"mentor_id": f"{CANARY} not an id"}),
        ("coordinator_action", {"action": CANARY, "reason": CANARY}),
        ("sign_agreement", {"party": "mentee", "meeting_cadence_days": CANARY}),
        ("withdraw", {"party": CANARY, "reason": "x"}),
    ]
    for name, payload in bad:
        await handle.signal(name, payload)
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await update(handle, name, payload)
        texts.append(str(caught.value.cause))
    await wait_for(handle, lambda s: s.version >= 6 + len(bad), "the rejections recorded")
    texts.append(str((await status(handle)).last_rejection))
    texts.append(failure_texts(await handle.fetch_history()))
    texts.append(repr([stored.data for stored in await records.read_log(handle.id)]))

    log = log_file.read_text()
    assert "input_value" not in log or "input_value=<redacted>" in log
    assert CANARY not in log, [line for line in log.splitlines() if CANARY in line][:3]
    for text in texts:
        assert CANARY not in text, text[:500]


def test_the_log_processor_strips_pydantic_input_values(log_file: Path) -> None:
    from pydantic import BaseModel, ValidationError

    class Contact(BaseModel):
        email: int

    try:
        Contact.model_validate({"email": f"{CANARY}@example.org"})
    except ValidationError:
        logging.getLogger("temporalio.worker").warning("Failed activation", exc_info=True)
    logging.getLogger("x").error("bad %s", f"[type=int_parsing, input_value='{CANARY}', input_type=str]")
    log = log_file.read_text()
    assert "input_value=<redacted>" in log and "int_parsing" in log
    assert CANARY not in log

"""Shared helpers for workflow tests: start partnerships, wait on their status, drive them."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.workflow import UpdateMethodMultiParam

from contract.partnership import Application, PartnershipStatus
from domain.people import Contact, Institution
from workflows.partnership import PartnershipWorkflow

INSTITUTION = Institution(institution_id="uni-helsinki", name="University of Helsinki", partner=True)
COORDINATOR_ID = "coord-1"
POOL = (
    *(f"mr-{n}" for n in range(10)),
    *("mr-old", "mr-new", "mr-x", "mr-c", "mr-k", "mentor-4", "mentor-77", "mentor-fz", "canary-mentor"),
)
"""The mentors the tests' hand-made matches name: in every test cohort's pool (a match must name a mentor of the
pool), each declaring a conflict with the tests' institution so that no matching round proposes them; a test that
runs matching adds its own mentors (an upsert of one of these ids replaces its profile)."""


def application(cohort_id: str, mentee_id: str | None = None, **overrides: Any) -> Application:
    fields: dict[str, Any] = {
        "cohort_id": cohort_id,
        "mentee_id": mentee_id or f"m-{uuid.uuid4().hex[:8]}",
        "institution_id": INSTITUTION.institution_id,
        "degree_level": "master",
        "field": "data science",
        "interests": ["machine learning", "start-ups"],
        "languages": ["en", "fi"],
        "goals": ["a job in my field", "understand Finnish working life"],
        "contact": Contact(name="Test Mentee", email="mentee@example.org"),
    }
    fields.update(overrides)
    return Application.model_validate(fields)


async def start(
    client: Client, task_queue: str, app: Application
) -> WorkflowHandle[PartnershipWorkflow, PartnershipStatus]:
    return await client.start_workflow(
        PartnershipWorkflow.run,
        app,
        id=app.workflow_id,
        task_queue=task_queue,
        static_summary=f"Partnership {app.cohort_id}/{app.mentee_id}",
    )


async def status(handle: WorkflowHandle[Any, Any]) -> PartnershipStatus:
    return await handle.query(PartnershipWorkflow.status)


async def wait_for(
    handle: WorkflowHandle[Any, Any], predicate: Any, what: str, timeout: float = 30.0
) -> PartnershipStatus:
    """Poll the status query (in real time) until ``predicate(status)`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: PartnershipStatus | None = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            last = await status(handle)
            if predicate(last):
                return last
        except Exception:  # the first workflow task may not have run yet
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last status: {last}")


async def wait_stage(handle: WorkflowHandle[Any, Any], stage: str, timeout: float = 30.0) -> PartnershipStatus:
    return await wait_for(handle, lambda s: s.stage == stage, f"stage {stage}", timeout)


Update = UpdateMethodMultiParam[[Any, dict[str, Any]], PartnershipStatus]
"""A Partnership update, by typed reference: ``PartnershipWorkflow.log_meeting_update``."""


async def update(handle: WorkflowHandle[Any, Any], message: Update | str, payload: dict[str, Any]) -> PartnershipStatus:
    """Send an update by typed reference (``PartnershipWorkflow.log_meeting_update``) or, as a caller outside
    Python would, by its public name."""
    if isinstance(message, str):
        return await handle.execute_update(message, payload, result_type=PartnershipStatus)
    return await handle.execute_update(message, payload)


async def matched_and_signed(handle: WorkflowHandle[Any, Any], mentor_id: str = "mr-1") -> PartnershipStatus:
    await wait_stage(handle, "AWAITING_MATCH")
    await update(
        handle,
        PartnershipWorkflow.match_proposed_update,
        {"mentor_id": mentor_id, "score": 0.8, "reasons": ["shared field"]},
    )
    await update(handle, PartnershipWorkflow.sign_agreement_update, {"party": "mentee", "signature_ref": "esign-1"})
    return await update(
        handle, PartnershipWorkflow.sign_agreement_update, {"party": "mentor", "signature_ref": "esign-2"}
    )


DAY = timedelta(days=1)


HISTORIES = Path(__file__).resolve().parents[1] / "histories"


async def keep_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With ENTRYPOINT_RECORD_HISTORIES=1, save the finished workflow's history for the replay tests.

    Recorded histories are kept in tests/histories/ and replayed in CI against the current workflow code,
    so a change that would break running partnerships fails before it is deployed.
    """
    if os.environ.get("ENTRYPOINT_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())


async def record_gathering(
    records: Any, cohort_id: str, gathering_id: str, kind: str, present: list[str], hours: float
) -> None:
    """A gathering's record as the Gathering workflow leaves it (``bench.common.record_gathering``)."""
    from bench.common import record_gathering as recorded

    await recorded(records, cohort_id, gathering_id, kind, present, hours)

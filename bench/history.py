"""Benchmark 3: the size of Temporal histories against Temporal's limits.

``partnership_history``: one typical six-month partnership on the time-skipping server under the default
policy, every step a signal as integrations send them: matched, both sign, six monthly meetings each with
a diary entry, two gatherings, the programme ends (timer), both closing reviews. Events and bytes of the
history (``handle.fetch_history()``, bytes = the serialized protobuf ``History``), against Temporal's
limits: a warning at 10,240 events, a hard stop at 51,200 events or 50 MB.

``cohort_history``: the Cohort workflow (workflows/cohort.py) of the largest cohort, when it exists.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.records.store import RecordStore
from bench.common import (
    Result,
    emit,
    progress,
    record_gathering,
    records_database,
    seed,
    skip_time,
    time_skipping_server,
)
from bench.lifecycle import application, opening
from contract.partnership import PartnershipStatus
from workers.worker import build_worker
from workflows.partnership import PartnershipWorkflow

WARN_EVENTS = 10_240
MAX_EVENTS = 51_200
MAX_BYTES = 50 * 1024 * 1024
MONTH = timedelta(days=27)


async def _status_until(handle: WorkflowHandle[Any, Any], predicate: Any, what: str) -> PartnershipStatus:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while loop.time() < deadline:
        try:
            status = await handle.query(PartnershipWorkflow.status)
            if predicate(status):
                return status
        except Exception:
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def measure(name: str, params: dict[str, Any], events: list[Any], what: str) -> Result:
    size = History(events=events).ByteSize()
    return Result(
        name,
        params,
        {
            "events": len(events),
            "bytes": size,
            "of_warn": f"{len(events) / WARN_EVENTS:.1%}",
            "of_event_limit": f"{len(events) / MAX_EVENTS:.2%}",
            "of_size_limit": f"{size / MAX_BYTES:.3%}",
        },
        data={"events": len(events), "bytes": size, "what": what},
    )


async def partnership(env: WorkflowEnvironment, url: str) -> Result:
    cohort = f"h{uuid.uuid4().hex[:6]}"
    store = RecordStore.from_url(url)
    await seed(store, cohort)
    task_queue = f"hist-{uuid.uuid4().hex[:8]}"
    try:
        async with build_worker(env.client, task_queue, store, mailer=None):
            app = application(cohort, 1).model_copy(update={"policy": None})  # the default policy
            handle = await env.client.start_workflow(
                PartnershipWorkflow.run, app, id=app.workflow_id, task_queue=task_queue
            )
            for name, payload in opening(1):
                await handle.signal(name, payload)
            await _status_until(handle, lambda s: s.stage == "ACTIVE", "ACTIVE")
            # attendance counts only as the gatherings' records say (the Gathering workflows are not run here)
            await record_gathering(store, cohort, "kickoff", "collective", [handle.id], 3)
            await record_gathering(store, cohort, "workshop-1", "group", [handle.id], 2.5)
            await handle.signal(
                PartnershipWorkflow.gathering_attended, {"gathering_id": "kickoff", "kind": "collective", "hours": 3}
            )
            for month in range(1, 7):
                await skip_time(env, MONTH)
                await handle.signal(
                    PartnershipWorkflow.log_meeting, {"kind": "pair", "minutes": 120, "topics": [f"month {month}"]}
                )
                diary = {"reflection": f"What I learned in month {month}", "goals": ["network"], "actions": ["cv"]}
                await handle.signal(PartnershipWorkflow.add_diary_entry, diary)
                if month == 3:
                    gathering = {"gathering_id": "workshop-1", "kind": "group", "hours": 2.5}
                    await handle.signal(PartnershipWorkflow.gathering_attended, gathering)
                await _status_until(
                    handle, lambda s, m=month: s.meetings_held == m and s.diary_entries == m, f"month {month}"
                )
            await skip_time(env, timedelta(days=24))  # past the 182-day end, before the review reminder
            await _status_until(handle, lambda s: s.stage == "CLOSING_REVIEW", "CLOSING_REVIEW")
            review = {"party": "mentee", "rating": 5, "outcome": "employed_in_field"}
            await handle.signal(PartnershipWorkflow.submit_closing_review, review)
            await handle.signal(
                PartnershipWorkflow.submit_closing_review, {"party": "mentor", "rating": 4, "comments": "A good year"}
            )
            result = await handle.result()
            if result.stage != "COMPLETED" or result.meetings_held != 6 or result.gatherings_attended != 2:
                raise AssertionError(f"the partnership did not complete as planned: {result}")
            history = await handle.fetch_history()
    finally:
        await store.close()
    return measure(
        "partnership_history",
        {"policy": "default", "meetings": 6, "diary": 6, "gatherings": 2},
        list(history.events),
        "one six-month partnership",
    )


async def run(largest_cohort: int) -> list[Result]:
    results: list[Result] = []
    async with time_skipping_server() as env, records_database("sqlite") as url:
        progress("history: a six-month partnership on the time-skipping server")
        results.append(emit(await partnership(env, url)))
    from bench import cohort

    results.append(emit(await cohort.history(largest_cohort)))
    return results

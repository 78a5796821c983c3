"""One partnership's whole lifecycle, driven by signals, for the engine and for the bare floor alike.

The script: start; ``match_proposed``; ``sign_agreement`` by the mentee and by the mentor (the programme
starts and its end timer runs ``PROGRAMME_SECONDS``); ``MEETINGS`` times ``log_meeting`` and ``DIARY_ENTRIES``
times ``add_diary_entry``; the driver waits for the end of the programme (the first status query when its
timer is due, then backing off), then two ``submit_closing_review`` signals complete it. Meetings are
logged as held right after the signing, so they count whether they reach the workflow before or after
the programme's end.

The fast policy keeps every other clock (reminders, nudges, escalations) far beyond the run, so no extra
timers fire and every partnership has the same shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench.bare import BARE_WORKFLOW_TYPE, BareSpec
from bench.common import MENTOR_ID
from contract import STATUS_QUERY
from contract.partnership import Application, PartnershipStatus
from domain.people import Contact
from workflows.partnership import PartnershipWorkflow

PROGRAMME_SECONDS = 2.0
MEETINGS = 3
DIARY_ENTRIES = 3

BENCH_POLICY: dict[str, Any] = {
    "signing_reminder": "PT300S",
    "signing_deadline": "PT600S",
    "meeting_cadence": "PT300S",
    "lapse_grace": "PT120S",
    "escalation_after": "PT240S",
    "programme_length": PROGRAMME_SECONDS,
    "review_reminder": "PT600S",
    "review_window": "PT1200S",
}
"""Seconds instead of days (valid orderings as in workers/demo.py); only the programme's end fires."""

SIGNALS_PER_PARTNERSHIP = 3 + MEETINGS + DIARY_ENTRIES + 2


def application(cohort_id: str, index: int) -> Application:
    return Application.model_validate(
        {
            "cohort_id": cohort_id,
            "mentee_id": f"m{index:05d}",
            "institution_id": "uni-helsinki",
            "degree_level": "master",
            "field": "data science",
            "interests": ["machine learning", "start-ups"],
            "languages": ["en", "fi"],
            "goals": ["a job in my field", "understand Finnish working life"],
            "contact": Contact(name=f"Mentee {index}", email=f"mentee{index}@example.org"),
            "policy": BENCH_POLICY,
        }
    )


def opening(index: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("match_proposed", {"mentor_id": MENTOR_ID, "score": 0.8, "reasons": ["shared field"]}),
        ("sign_agreement", {"party": "mentee", "signature_ref": f"esign-{index}-1"}),
        ("sign_agreement", {"party": "mentor", "signature_ref": f"esign-{index}-2"}),
    ]


def middle(signed_at: datetime) -> list[tuple[str, dict[str, Any]]]:
    steps: list[tuple[str, dict[str, Any]]] = []
    for k in range(max(MEETINGS, DIARY_ENTRIES)):
        if k < MEETINGS:
            held_on = (signed_at + timedelta(milliseconds=k + 1)).isoformat()
            meeting = {"kind": "pair", "held_on": held_on, "minutes": 90, "topics": [f"plan step {k + 1}", "CV"]}
            steps.append(("log_meeting", meeting))
        if k < DIARY_ENTRIES:
            diary = {"reflection": f"What I learned in step {k + 1}", "goals": ["network"], "actions": ["update CV"]}
            steps.append(("add_diary_entry", diary))
    return steps


CLOSING: list[tuple[str, dict[str, Any]]] = [
    ("submit_closing_review", {"party": "mentee", "rating": 5, "outcome": "employed_in_field"}),
    ("submit_closing_review", {"party": "mentor", "rating": 4, "comments": "A good programme"}),
]


@dataclass
class Outcome:
    ok: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1

    def describe(self) -> str:
        return ", ".join(f"{n} x {what}" for what, n in sorted(self.failures.items()))


async def _signal_all(handle: WorkflowHandle[Any, Any], steps: list[tuple[str, dict[str, Any]]]) -> None:
    for name, payload in steps:
        await handle.signal(name, payload)


FIRST_POLL = 0.25
LAST_POLL = 2.0
"""Waits between status queries: doubling from FIRST_POLL up to LAST_POLL."""


async def backing_off(timeout: float, first: float = FIRST_POLL) -> AsyncIterator[None]:
    """Yield at 0, then after waits doubling from ``first`` up to ``LAST_POLL``, until ``timeout``.

    A long poll on the history (``fetch_history_events(wait_new_event=True)``) would need no queries at all,
    but on the dev server more than a few at once stall (12 concurrent lifecycles all timed out): see
    BENCHMARKS.md."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    wait = first
    while True:
        yield
        if loop.time() + wait > deadline:
            raise TimeoutError("not there in time")
        await asyncio.sleep(wait)
        wait = min(2 * wait, LAST_POLL)


async def _until(handle: WorkflowHandle[Any, Any], ended: Any, timeout: float) -> None:
    """Wait for the end of the programme: its timer is due ``PROGRAMME_SECONDS`` after the signing, so
    the first query comes then, and the next ones back off (not 4 a second)."""
    await asyncio.sleep(PROGRAMME_SECONDS)
    async for _ in backing_off(timeout):
        if await ended(handle):
            return


async def _engine_ended(handle: WorkflowHandle[Any, Any]) -> bool:
    status = await handle.query(PartnershipWorkflow.status)
    return status.stage == "CLOSING_REVIEW"


async def _bare_ended(handle: WorkflowHandle[Any, Any]) -> bool:
    return bool(await handle.query("stage", result_type=str) == "ENDED")


async def until_stage(
    handle: WorkflowHandle[Any, Any], stages: set[str], timeout: float = 120
) -> PartnershipStatus:
    """The partnership's status once its stage is one of ``stages`` (queries backing off from 0.1 s; a
    query that fails, e.g. times out on a busy server, is asked again until ``timeout``)."""
    failure: Exception | None = None
    try:
        async for _ in backing_off(timeout, first=0.1):
            try:
                status = await handle.query(STATUS_QUERY, result_type=PartnershipStatus)
            except Exception as error:
                failure = error
                continue
            if status.stage in stages:
                return status
    except TimeoutError:
        if failure is not None:
            raise failure from None
        raise TimeoutError(f"{handle.id} never reached {sorted(stages)}") from None
    raise AssertionError("unreachable")


async def drive_engine(client: Client, task_queue: str, cohort_id: str, index: int, timeout: float) -> None:
    app = application(cohort_id, index)
    handle = await client.start_workflow(PartnershipWorkflow.run, app, id=app.workflow_id, task_queue=task_queue)
    steps = opening(index)
    await _signal_all(handle, steps[:2])
    signed_at = datetime.now(UTC)
    await _signal_all(handle, steps[2:])
    await _signal_all(handle, middle(signed_at))
    await _until(handle, _engine_ended, timeout)
    await _signal_all(handle, CLOSING)
    result: PartnershipStatus = await handle.result()
    if result.stage != "COMPLETED" or result.meetings_held != MEETINGS or result.diary_entries != DIARY_ENTRIES:
        raise AssertionError(f"unexpected end: {result.stage}, rejection {result.last_rejection}")
    if result.last_rejection is not None:
        raise AssertionError(f"a step was rejected: {result.last_rejection}")


async def drive_bare(client: Client, task_queue: str, cohort_id: str, index: int, timeout: float) -> None:
    spec = BareSpec(signals=SIGNALS_PER_PARTNERSHIP, timer_after=3, timer_seconds=PROGRAMME_SECONDS)
    handle = await client.start_workflow(
        BARE_WORKFLOW_TYPE, spec, id=f"bare-{cohort_id}-{index:05d}", task_queue=task_queue, result_type=int
    )
    steps = opening(index)
    await _signal_all(handle, steps[:2])
    signed_at = datetime.now(UTC)
    await _signal_all(handle, steps[2:])
    await _signal_all(handle, middle(signed_at))
    await _until(handle, _bare_ended, timeout)
    await _signal_all(handle, CLOSING)
    processed = await handle.result()
    if processed != SIGNALS_PER_PARTNERSHIP:
        raise AssertionError(f"processed {processed} signals")


async def drive_many(
    driver: Any, client: Client, task_queue: str, cohort_id: str, n: int, concurrency: int, timeout: float
) -> tuple[float, Outcome]:
    """Drive ``n`` lifecycles, at most ``concurrency`` at once; (wall seconds, outcome)."""
    gate = asyncio.Semaphore(concurrency)
    outcome = Outcome()

    async def one(index: int) -> None:
        async with gate:
            try:
                await asyncio.wait_for(driver(client, task_queue, cohort_id, index, timeout), timeout)
            except Exception as error:
                outcome.fail(_what(error))
            else:
                outcome.ok += 1

    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.gather(*(one(i) for i in range(n)))
    return loop.time() - began, outcome


def _what(error: BaseException) -> str:
    text = str(error).splitlines()[0][:80] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

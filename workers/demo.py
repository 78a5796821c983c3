"""A small demo cohort on a fast policy (seconds instead of months), driven like integrations would.

Six applicants: one completes, two meet regularly, one lapses and is escalated to the coordinator,
one mentor never signs (signature overdue), one waits for a match. Names and e-mails are made up.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import structlog

from activities.records.store import RecordStore
from domain.people import Contact, DegreeLevel, Institution
from workers.partnerships import Partnerships, Rejected
from workflows.contract import Application

log = structlog.get_logger(__name__)

DEMO_POLICY: dict[str, Any] = {
    "signing_reminder": "PT20S",
    "signing_deadline": "PT40S",
    "meeting_cadence": "PT30S",
    "lapse_grace": "PT10S",
    "escalation_after": "PT25S",
    "programme_length": "PT150S",
    "review_reminder": "PT20S",
    "review_window": "PT40S",
}
"""One programme month is about thirty seconds."""

COORDINATOR = ("coord-demo", Contact(name="Demo Coordinator", email="coordinator@example.org"))
INSTITUTIONS = [
    Institution(institution_id="uni-helsinki", name="University of Helsinki"),
    Institution(institution_id="aalto", name="Aalto University"),
]
MENTEES = [
    # (mentee id, institution, degree, field, what happens)
    ("demo-01", "aalto", "master", "data science", "completes"),
    ("demo-02", "uni-helsinki", "phd", "molecular biology", "meets"),
    ("demo-03", "aalto", "bachelor", "industrial design", "meets"),
    ("demo-04", "uni-helsinki", "master", "economics", "lapses"),
    ("demo-05", "aalto", "master", "software engineering", "unsigned"),
    ("demo-06", "uni-helsinki", "bachelor", "social sciences", "unmatched"),
]


async def seed(store: RecordStore, cohort_id: str) -> None:
    for institution in INSTITUTIONS:
        await store.upsert_institution(institution)
    await store.upsert_person(COORDINATOR[0], "coordinator", COORDINATOR[1])
    await store.upsert_cohort(cohort_id, COORDINATOR[0])
    for index, (mentee_id, *_rest) in enumerate(MENTEES, start=1):
        await store.upsert_person(f"mentor-{index:02d}", "mentor", Contact(name=f"Mentor {index}", email=None))
        del mentee_id


async def run_demo(partnerships: Partnerships, cohort_id: str) -> list[str]:
    """Start the cohort and drive each pair in the background; returns the workflow ids."""
    ids = []
    for index, (mentee_id, institution, degree, field, _plot) in enumerate(MENTEES, start=1):
        app = Application(
            cohort_id=cohort_id,
            mentee_id=mentee_id,
            institution_id=institution,
            degree_level=DegreeLevel(degree),
            field=field,
            interests=(field, "Finnish working life"),
            languages=("en", "fi"),
            goals=(f"a first job in {field}",),
            contact=Contact(name=f"Mentee {index}", email=f"mentee{index}@example.org"),
            policy=DEMO_POLICY,
        )
        try:
            handle = await partnerships.start(app)
        except Exception as error:  # already started in an earlier run of the demo
            log.info("demo partnership not started", workflow_id=app.workflow_id, reason=type(error).__name__)
        else:
            ids.append(handle.id)
    await asyncio.gather(
        *(
            _drive(partnerships, f"partnership-{cohort_id}-{mentee_id}", f"mentor-{index:02d}", plot)
            for index, (mentee_id, *_x, plot) in enumerate(MENTEES, start=1)
        )
    )
    return ids


async def _drive(partnerships: Partnerships, pid: str, mentor_id: str, plot: str) -> None:
    async def send(name: str, payload: dict[str, Any]) -> None:
        try:
            await partnerships.update(pid, name, payload)
        except Rejected as rejection:
            log.info("demo step refused", workflow_id=pid, step=name, reason=rejection.message)

    await _until_stage(partnerships, pid, {"AWAITING_MATCH"})
    if plot == "unmatched":
        return
    await send("match_proposed", {"mentor_id": mentor_id, "score": 0.8, "reasons": ["shared field", "both speak en"]})
    await send("sign_agreement", {"party": "mentee", "signature_ref": f"esign-{pid}-mentee"})
    if plot == "unsigned":
        return
    await asyncio.sleep(3)
    await send("sign_agreement", {"party": "mentor", "signature_ref": f"esign-{pid}-mentor"})
    await send("gathering_attended", {"gathering_id": "orientation", "kind": "collective", "hours": 3})
    if plot == "lapses":
        return
    month = timedelta(seconds=25)
    for meeting in range(1, 6):
        await asyncio.sleep(month.total_seconds())
        await send("log_meeting", {"kind": "pair", "minutes": 90, "topics": [f"plan step {meeting}"]})
        await send("add_diary_entry", {"reflection": f"Demo reflection {meeting}", "goals": ["network"]})
    if plot != "completes":
        return
    await _until_stage(partnerships, pid, {"CLOSING_REVIEW"}, timeout=120)
    await send("submit_closing_review", {"party": "mentee", "rating": 5, "outcome": "employed_in_field"})
    await send("submit_closing_review", {"party": "mentor", "rating": 5, "comments": "Demo"})


async def _until_stage(partnerships: Partnerships, pid: str, stages: set[str], timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            if (await partnerships.status(pid)).stage in stages:
                return
        except Exception:
            pass
        await asyncio.sleep(0.5)

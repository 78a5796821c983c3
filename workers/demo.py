"""A small demo cohort on a fast policy (seconds instead of months), driven like integrations would.

The Cohort workflow matches six applicants against the mentor pool, kicks off with an orientation and
subject groups, and closes with its report. Then, per pair: one completes, two meet regularly, one lapses
and is escalated to the coordinator, one mentor never signs (signature overdue), and one applicant, who
speaks no language any mentor speaks, waits for a match. Names and e-mail addresses are made up.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.records.store import RecordStore
from contract.common import message_name
from contract.gathering import gathering_workflow_id
from contract.partnership import Application
from domain.cohort import CohortPlan, PlannedGathering
from domain.gathering.commands import RecordAttendance, Register
from domain.partnership.commands import GatheringKind
from domain.people import Contact, DegreeLevel, Institution, MentorProfile, Sector
from workers.cohorts import Cohorts
from workers.partnerships import Partnerships, Rejected
from workflows.gathering import GatheringWorkflow

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
    # (mentee id, institution, degree, field, languages, what happens)
    ("demo-01", "aalto", "master", "data science", ("en", "fi"), "completes"),
    ("demo-02", "uni-helsinki", "phd", "molecular biology", ("en",), "meets"),
    ("demo-03", "aalto", "bachelor", "industrial design", ("en",), "meets"),
    ("demo-04", "uni-helsinki", "master", "economics", ("en", "sv"), "lapses"),
    ("demo-05", "aalto", "master", "software engineering", ("en",), "unsigned"),
    ("demo-06", "uni-helsinki", "bachelor", "social sciences", ("ar",), "unmatched"),
]
MENTORS = [
    MentorProfile(
        mentor_id=f"mentor-{n:02d}",
        organisation_id=organisation,
        sector=sector,
        expertise=(expertise,),
        interests=("Finnish working life",),
        languages=("fi", "en"),
        capacity=1,
    )
    for n, (organisation, sector, expertise) in enumerate(
        [
            ("nokia", Sector.PRIVATE, "data science"),
            ("hus", Sector.PUBLIC, "molecular biology"),
            ("marimekko", Sector.PRIVATE, "industrial design"),
            ("bank-of-finland", Sector.PUBLIC, "economics"),
            ("reaktor", Sector.PRIVATE, "software engineering"),
            ("red-cross", Sector.THIRD, "social work"),
        ],
        start=1,
    )
]


async def seed(store: RecordStore, cohort_id: str) -> None:
    for institution in INSTITUTIONS:
        await store.upsert_institution(institution)
    await store.upsert_person(COORDINATOR[0], "coordinator", COORDINATOR[1])
    await store.upsert_cohort(cohort_id, COORDINATOR[0])
    for n, mentor in enumerate(MENTORS, start=1):
        contact = Contact(name=f"Mentor {n}", email=f"mentor{n}@example.org")
        await store.upsert_mentor(mentor, contact, cohorts=[cohort_id])


def plan(cohort_id: str, now: datetime) -> CohortPlan:
    return CohortPlan(
        cohort_id=cohort_id,
        coordinator_id=COORDINATOR[0],
        applications_close=now + timedelta(seconds=5),
        matching_at=now + timedelta(seconds=10),
        kickoff_at=now + timedelta(seconds=20),
        programme_end=now + timedelta(seconds=200),
        review_window=timedelta(seconds=60),
        auto_approve=True,
        group_subjects_at=now + timedelta(seconds=90),
        group_hours=2,
        attendance_grace=timedelta(seconds=40),  # a fast clock: gatherings close well before the cohort does
        gathering_length=timedelta(seconds=15),
        gatherings=(
            PlannedGathering(
                gathering_id="orientation",
                kind=GatheringKind.COLLECTIVE,
                subject="Orientation and kickoff",
                starts_at=now + timedelta(seconds=45),
                hours=3,
                place="Helsinki Region Chamber of Commerce",
            ),
        ),
    )


async def run_demo(client: Client, partnerships: Partnerships, cohort_id: str) -> None:
    """Start the applications and the cohort, then drive each pair in the background."""
    for index, (mentee_id, institution, degree, field, languages, _plot) in enumerate(MENTEES, start=1):
        app = Application(
            cohort_id=cohort_id,
            mentee_id=mentee_id,
            institution_id=institution,
            degree_level=DegreeLevel(degree),
            field=field,
            interests=(field, "Finnish working life"),
            languages=languages,
            goals=(f"a first job in {field}",),
            contact=Contact(name=f"Mentee {index}", email=f"mentee{index}@example.org"),
            policy=DEMO_POLICY,
        )
        await partnerships.start(app)
    cohort_plan = plan(cohort_id, datetime.now(UTC))
    await Cohorts(client, partnerships.task_queue).start(cohort_plan)
    await asyncio.gather(
        *(
            _drive(client, partnerships, cohort_plan, f"partnership-{cohort_id}-{mentee_id}", plot)
            for mentee_id, *_x, plot in MENTEES
        )
    )


async def _drive(client: Client, partnerships: Partnerships, plan: CohortPlan, pid: str, plot: str) -> None:
    async def send(name: str, payload: dict[str, Any]) -> None:
        try:
            await partnerships.update(pid, name, payload)
        except Rejected as rejection:
            log.info("demo step refused", workflow_id=pid, step=name, reason=rejection.message)

    if plot == "unmatched" or not await _until_stage(partnerships, pid, {"AWAITING_SIGNATURES"}):
        return  # the cohort's matching round found no mentor who shares a language
    await send("sign_agreement", {"party": "mentee", "signature_ref": f"esign-{pid}-mentee"})
    if plot == "unsigned":
        return
    await asyncio.sleep(3)
    await send("sign_agreement", {"party": "mentor", "signature_ref": f"esign-{pid}-mentor"})
    orientation = client.get_workflow_handle(gathering_workflow_id(plan.cohort_id, "orientation"))
    await _gathering_update(orientation, GatheringWorkflow.register, Register(registrant_id=pid), wait_for_start=True)
    if plot == "lapses":
        return
    month = 25.0
    for meeting in range(1, 6):
        await asyncio.sleep(month)
        await send("log_meeting", {"kind": "pair", "minutes": 90, "topics": [f"plan step {meeting}"]})
        await send("add_diary_entry", {"reflection": f"Demo reflection {meeting}", "goals": ["network"]})
        if meeting == 2:  # the orientation has been held: the coordinator records who came
            await _gathering_update(orientation, GatheringWorkflow.record_attendance, RecordAttendance(present=(pid,)))
    if plot != "completes":
        return
    await _until_stage(partnerships, pid, {"CLOSING_REVIEW"}, timeout=120)
    await send("submit_closing_review", {"party": "mentee", "rating": 5, "outcome": "employed_in_field"})
    await send("submit_closing_review", {"party": "mentor", "rating": 5, "comments": "Demo"})


async def _gathering_update(handle: Any, update: Any, command: BaseModel, wait_for_start: bool = False) -> None:
    """Send ``command`` by the gathering's ``update``, retried while the cohort has not started the gathering yet
    when ``wait_for_start``; a refusal is logged with the step's name (the command's ``type``)."""
    name = message_name(type(command))
    payload = command.model_dump(mode="json", exclude={"type"}, exclude_none=True)
    for _ in range(60):
        try:
            await handle.execute_update(update, payload)
            return
        except WorkflowUpdateFailedError as failure:
            log.info("demo gathering step refused", step=name, reason=str(failure.cause))
            return
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND or not wait_for_start:
                raise
            await asyncio.sleep(1)  # the cohort has not started the gathering yet


async def _until_stage(partnerships: Partnerships, pid: str, stages: set[str], timeout: float = 60) -> bool:
    """Whether the partnership reaches one of ``stages`` within ``timeout``: its status asked at waits
    doubling from half a second up to 4 s (a long poll on the history stalls on the dev server when many
    run at once)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    wait = 0.5
    while loop.time() < deadline:
        try:
            if (await partnerships.status(pid)).stage in stages:
                return True
        except Exception:
            pass  # not started yet
        await asyncio.sleep(wait)
        wait = min(2 * wait, 4.0)
    return False

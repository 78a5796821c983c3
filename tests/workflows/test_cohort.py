"""A whole cohort on the real time-skipping server: 100 applicants and 60 mentors from applications through
matching approval (with a pin and an exclusion), kickoff, subject groups and closing, to the report."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records.store import RecordStore
from contract.cohort import CohortStatus, MatchingApproval, RunMatching, cohort_workflow_id
from contract.gathering import gathering_workflow_id
from contract.partnership import PartnershipStatus
from domain.cohort import CohortPlan, PlannedGathering
from domain.partnership.commands import GatheringKind
from domain.people import Contact, MentorProfile, Sector
from tests.workflows.harness import application, keep_history, start, status, update
from workflows.cohort import CohortWorkflow
from workflows.gathering import GatheringWorkflow
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.temporal

FIELDS = ["data science", "software engineering", "economics", "industrial design", "biology"]
INTERESTS = [["AI", "start-ups"], ["sustainability"], ["finance", "AI"], ["design"], ["research"]]


def mentor(n: int) -> MentorProfile:
    return MentorProfile(
        mentor_id=f"mr-{n:03d}",
        organisation_id=f"org-{n % 12}",
        sector=[Sector.PRIVATE, Sector.PUBLIC, Sector.THIRD][n % 3],
        expertise=(FIELDS[n % 5],),
        interests=tuple(INTERESTS[n % 5]),
        languages=("fi", "en") if n % 4 else ("fi",),
        capacity=2 if n % 3 else 1,
    )


async def wait_cohort(handle: WorkflowHandle[Any, Any], predicate: Any, what: str) -> CohortStatus:
    last = None
    for _ in range(600):
        last = await handle.query(CohortWorkflow.status)
        if predicate(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last}")


async def test_a_cohort_of_100_runs_from_applications_to_its_report(
    ts_env: WorkflowEnvironment, worker: Worker, records: RecordStore, cohort_id: str
) -> None:
    client = ts_env.client
    for n in range(60):
        await records.upsert_mentor(mentor(n), Contact(name=f"Mentor {n}", email=None), cohorts=[cohort_id])
    handles = []
    for n in range(100):
        languages = ["sv"] if n >= 97 else (["en"] if n % 3 else ["en", "fi"])  # three nobody can talk to
        app = application(
            cohort_id,
            f"m{n:03d}",
            field=FIELDS[n % 5],
            interests=INTERESTS[n % 5],
            languages=languages,
            preferred_sector="private" if n % 2 else None,
        )
        handles.append(await start(client, worker.task_queue, app))
    for handle in handles:
        await wait_stage_quiet(handle, "AWAITING_MATCH")

    now = await ts_env.get_current_time()
    plan = CohortPlan(
        cohort_id=cohort_id,
        coordinator_id="coord-1",
        applications_close=now,
        matching_at=now + timedelta(days=1),
        kickoff_at=now + timedelta(days=10),
        programme_end=now + timedelta(days=200),
        group_subjects_at=now + timedelta(days=20),
        gatherings=(
            PlannedGathering(
                gathering_id="orientation",
                kind=GatheringKind.COLLECTIVE,
                subject="Orientation and kickoff",
                starts_at=now + timedelta(days=11),
                hours=3,
                capacity=150,
            ),
        ),
    )
    cohort = await client.start_workflow(
        CohortWorkflow.run, plan, id=cohort_workflow_id(cohort_id), task_queue=worker.task_queue
    )
    await ts_env.sleep(timedelta(days=2))
    proposed = await wait_cohort(cohort, lambda s: s.stage == "AWAITING_APPROVAL", "round 1 proposals")
    first = proposed.rounds[0]
    assert first.matched == 97 and first.unmatched == 3  # 60 mentors, 100 slots; three speak only Swedish

    # The coordinator pins one pair and excludes another before approving.
    pinned, excluded_mentee = "m000", "m001"
    before = await records.load_round(first.round_id)
    assert before is not None
    excluded_mentor = next(p.mentor_id for p in before.proposals if p.mentee_id == excluded_mentee)
    with pytest.raises(WorkflowUpdateFailedError):
        await cohort.execute_update(CohortWorkflow.approve_matching, MatchingApproval(round_id="no-such-round"))
    approval = MatchingApproval(
        round_id=first.round_id,
        pins=({"mentee_id": pinned, "mentor_id": "mr-059"},),  # type: ignore[arg-type]
        exclusions=({"mentee_id": excluded_mentee, "mentor_id": excluded_mentor},),  # type: ignore[arg-type]
    )
    approved = await cohort.execute_update(CohortWorkflow.approve_matching, approval)
    assert approved.rounds[0].approved and approved.rounds[0].pins == 1
    delivered = await wait_cohort(cohort, lambda s: s.stage == "RUNNING", "delivery")
    assert delivered.rounds[0].delivered == 97

    statuses: list[PartnershipStatus] = [await status(h) for h in handles]
    matched = {s.mentee_id: s.mentor_id for s in statuses if s.mentor_id}
    assert len(matched) == 97
    assert matched[pinned] == "mr-059"
    assert matched[excluded_mentee] != excluded_mentor
    load = Counter(matched.values())
    mentors = {m.mentor_id: m for m in (mentor(n) for n in range(60))}
    assert all(load[m] <= mentors[m].capacity for m in load), "capacity broken"
    apps = {f"m{n:03d}": n for n in range(100)}
    for mentee_id, mentor_id in matched.items():
        n = apps[mentee_id]
        spoken = {"en"} if n % 3 else {"en", "fi"}
        assert spoken & set(mentors[mentor_id].languages), f"no shared language for {mentee_id}"

    # Everyone matched signs; the pairs start.
    for handle in handles:
        if (await status(handle)).stage == "AWAITING_SIGNATURES":
            await update(handle, PartnershipWorkflow.sign_agreement_update, {"party": "mentee"})
            await update(handle, PartnershipWorkflow.sign_agreement_update, {"party": "mentor"})

    # A late applicant and a rematch go to a second round on a coordinator's run_matching.
    late = await start(client, worker.task_queue, application(cohort_id, "m100", languages=["en"]))
    await wait_stage_quiet(late, "AWAITING_MATCH")
    rematched = handles[10]
    old_mentor = (await status(rematched)).mentor_id
    await update(
        rematched,
        PartnershipWorkflow.coordinator_action_update,
        {"action": "rematch", "reason": "the pair did not click"},
    )
    await cohort.signal(CohortWorkflow.run_matching, RunMatching(reason="late applicant and a rematch"))
    second = await wait_cohort(cohort, lambda s: len(s.rounds) == 2 and s.stage == "AWAITING_APPROVAL", "round 2")
    assert second.rounds[1].matched == 2
    await cohort.execute_update(CohortWorkflow.approve_matching, MatchingApproval(), result_type=CohortStatus)
    await wait_cohort(cohort, lambda s: s.stage == "RUNNING" and s.rounds[1].delivered == 2, "round 2 delivery")
    assert (await status(late)).mentor_id is not None
    new_mentor = (await status(rematched)).mentor_id
    assert new_mentor is not None and new_mentor != old_mentor
    for handle in (late, rematched):
        await update(handle, PartnershipWorkflow.sign_agreement_update, {"party": "mentee"})
        await update(handle, PartnershipWorkflow.sign_agreement_update, {"party": "mentor"})
    handles.append(late)

    # Kickoff: the orientation and the subject groups (formed from shared interests, at most 20 each).
    await ts_env.sleep(timedelta(days=9))
    kicked = await wait_cohort(cohort, lambda s: s.kicked_off, "kickoff")
    assert kicked.gatherings_started >= 1 + 5
    group = client.get_workflow_handle(gathering_workflow_id(cohort_id, "group-01"))
    group_status = await group.query(GatheringWorkflow.status)
    assert 0 < len(group_status.registered) <= 20

    # After the group meeting, attendance reaches each attendee's partnership.
    await ts_env.sleep(timedelta(days=11))
    present = list(group_status.registered)[:5]
    await group.execute_update(GatheringWorkflow.record_attendance, {"present": present, "hours": 2})
    for pid in present:
        attendee = client.get_workflow_handle(pid)
        for _ in range(100):
            if (await status(attendee)).hours.gatherings >= 2:
                break
            await asyncio.sleep(0.1)
        assert (await status(attendee)).hours.gatherings == 2

    # Some pairs meet; the programme runs out; the cohort closes with its report.
    for handle in handles[:20]:
        if (await status(handle)).stage == "ACTIVE":
            await update(handle, PartnershipWorkflow.log_meeting_update, {"kind": "pair", "minutes": 120})
    report = await cohort.result()
    assert report.partnerships == 101
    assert report.started_pairs == 98
    assert report.rematches == 1
    assert report.by_stage.get("AWAITING_MATCH") == 3
    assert sum(report.by_stage.values()) == 101
    assert report.lapses > 0 and report.gatherings_attended_mean > 0
    assert (await records.load_report(cohort_id)) == report
    await keep_history(cohort, "cohort_of_101")


async def wait_stage_quiet(handle: WorkflowHandle[Any, Any], stage: str) -> None:
    for _ in range(300):
        try:
            if (await status(handle)).stage == stage:
                return
        except Exception:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never reached {stage}")

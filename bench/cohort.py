"""The Cohort workflow in the benchmarks: its history size (benchmark 3) and the cohort simulation (5a).

``cohort_history``: the Cohort workflow (workflows/cohort.py) of the largest cohort on the time-skipping
server, through a whole programme: the first matching round (auto-approved), kickoff, two further rounds
requested mid-programme, the closing report. Its activities are stand-ins that return payloads of the real
types in the largest cohort's shape (round summaries counting its partnerships, a report built with
``domain.cohort.build_report`` from partnership states folded by the real domain): the real ones would need
the whole cohort's partnerships running, which is the cohort simulation's job. The workflow's history
holds those payloads, never the partnerships.

``cohort_simulation``: N applicants (partnership workflows) and N/2 mentors of capacity 2 (in the records,
drawn like the matching benchmark's pool) through a whole programme under their Cohort workflow, on the
time-skipping server with the real worker: applications screened, one matching round (auto-approved)
delivered to every partnership, both parties sign, six monthly meetings with a diary entry each (updates),
the programme ends, both closing reviews, the cohort's report. Wall time per phase. No gatherings.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from activities.models import (
    CohortReportRequest,
    DeliverMatches,
    MatchesDelivered,
    MatchingRoundRequest,
    RegisterCohort,
)
from activities.records.store import RecordStore
from bench.common import (
    COORDINATOR_ID,
    Result,
    cpu_seconds,
    dev_server,
    emit,
    progress,
    records_database,
    seed,
    skip_time,
    time_skipping_server,
)
from bench.domainlife import lifecycle
from bench.lifecycle import until_stage
from contract.cohort import RunMatching, cohort_workflow_id
from contract.partnership import Application, PartnershipStatus
from domain.cohort import CohortPlan, CohortReport, PlannedGathering, RoundSummary, build_report
from domain.gathering.plan import SUBJECT_GROUP_SIZE
from domain.partnership.commands import GatheringKind
from domain.people import Contact, Institution
from domain.policy import Policy
from workers.settings import settings as current_settings
from workers.worker import WORKFLOW_RUNNER, build_worker
from workflows.cohort import CohortWorkflow
from workflows.partnership import PartnershipWorkflow

COHORT_ACTIVITIES = ("register_cohort", "run_matching_round", "deliver_matches", "schedule_gatherings", "cohort_report")


def _cohort_module() -> Any | None:
    if importlib.util.find_spec("workflows.cohort") is None:
        return None
    return importlib.import_module("workflows.cohort")


def _worker_has_cohort() -> bool:
    """Whether the real worker registers the Cohort workflow (and so, its activities)."""
    from workers import worker

    return any(getattr(w, "__temporal_workflow_definition").name == "Cohort" for w in worker.WORKFLOWS)


class StandIns:
    """The cohort's activities, returning the real types in the largest cohort's shape."""

    def __init__(self, partnerships: int) -> None:
        self.partnerships = partnerships

    @activity.defn(name="register_cohort")
    async def register_cohort(self, request: RegisterCohort) -> None:
        return None

    @activity.defn(name="run_matching_round")
    async def run_matching_round(self, request: MatchingRoundRequest) -> RoundSummary:
        matched = self.partnerships if request.number == 1 else max(1, self.partnerships // 50)
        return RoundSummary(
            round_id=f"{request.cohort_id}-round-{request.number}",
            number=request.number,
            matched=matched,
            unmatched=max(0, matched // 100),
            mean_score=0.61,
            top3_share=0.82,
            pins=len(request.pins),
            exclusions=len(request.exclusions),
        )

    @activity.defn(name="deliver_matches")
    async def deliver_matches(self, request: DeliverMatches) -> MatchesDelivered:
        number = int(request.round_id.rsplit("-", 1)[1])
        matched = self.partnerships if number == 1 else max(1, self.partnerships // 50)
        return MatchesDelivered(delivered=matched, already=0, skipped=0)

    @activity.defn(name="schedule_gatherings")
    async def schedule_gatherings(self, plan: CohortPlan) -> int:
        return len(plan.gatherings) + max(1, self.partnerships // SUBJECT_GROUP_SIZE)  # subject groups

    @activity.defn(name="cohort_report")
    async def cohort_report(self, request: CohortReportRequest) -> CohortReport:
        states = [lifecycle(f"p{i}", request.cohort_id, i)[1] for i in range(200)]
        return build_report(request.cohort_id, states).model_copy(update={"partnerships": self.partnerships})

    def all(self) -> list[Any]:
        return [
            self.register_cohort,
            self.run_matching_round,
            self.deliver_matches,
            self.schedule_gatherings,
            self.cohort_report,
        ]


def _plan(cohort_id: str, now: datetime) -> CohortPlan:
    kickoff = now + timedelta(days=21)
    return CohortPlan(
        cohort_id=cohort_id,
        coordinator_id="coord-bench",
        applications_close=now + timedelta(days=7),
        matching_at=now + timedelta(days=14),
        kickoff_at=kickoff,
        programme_end=kickoff + timedelta(days=182),
        auto_approve=True,
        gatherings=(
            PlannedGathering(
                gathering_id="kickoff", kind=GatheringKind.COLLECTIVE, subject="Kickoff", starts_at=kickoff
            ),
            PlannedGathering(
                gathering_id="closing",
                kind=GatheringKind.COLLECTIVE,
                subject="Closing",
                starts_at=kickoff + timedelta(days=180),
            ),
        ),
        group_subjects_at=kickoff + timedelta(days=60),
    )


async def history(partnerships: int) -> Result:
    from bench.history import measure

    name = "cohort_history"
    module = _cohort_module()
    if module is None:
        return Result(name, skipped="no Cohort workflow yet")
    params: dict[str, Any] = {"partnerships": partnerships, "activities": "stand-in"}
    try:
        progress(f"history: the Cohort workflow of {partnerships} partnerships (stand-in activities)")
        async with time_skipping_server() as env:
            task_queue = f"cohort-{uuid.uuid4().hex[:8]}"
            cohort_id = f"ch{uuid.uuid4().hex[:6]}"
            stand_ins = StandIns(partnerships)
            async with Worker(
                env.client,
                task_queue=task_queue,
                workflows=[module.CohortWorkflow],
                activities=stand_ins.all(),
                workflow_runner=WORKFLOW_RUNNER,
            ):
                now = await env.get_current_time()
                handle = await env.client.start_workflow(
                    CohortWorkflow.run, _plan(cohort_id, now), id=cohort_workflow_id(cohort_id), task_queue=task_queue
                )
                for _late_round in range(2):  # late applicants and rematches, mid-programme
                    await skip_time(env, timedelta(days=60))
                    await handle.signal(CohortWorkflow.run_matching, RunMatching(reason="late applicants"))
                await handle.result()
                events = list((await handle.fetch_history()).events)
    except Exception as error:
        why = f"the Cohort workflow did not run through ({type(error).__name__}: {error})"
        return Result(name, params, skipped=why)
    result = measure(name, {**params, "rounds": 3}, events, f"the Cohort workflow of {partnerships} partnerships")
    result.notes.append("its history holds rounds and counts, not partnerships: it does not grow with the cohort")
    return result


async def _bounded(items: Sequence[Any], work: Any, concurrency: int) -> int:
    """Run ``work(item)`` for every item, at most ``concurrency`` at once; how many failed."""
    gate = asyncio.Semaphore(concurrency)
    failed = 0

    async def one(item: Any) -> None:
        nonlocal failed
        async with gate:
            try:
                await work(item)
            except Exception as error:
                failed += 1
                progress(f"a step failed: {type(error).__name__}: {str(error)[:160]}")

    await asyncio.gather(*(one(item) for item in items))
    return failed


async def _cohort_stage(handle: WorkflowHandle[Any, Any], predicate: Any, timeout: float) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        status = await handle.query(CohortWorkflow.status)
        if predicate(status):
            return status
        await asyncio.sleep(0.2)
    raise TimeoutError("the cohort did not get there in time")


DEV_DAY_PER_PARTNERSHIP = timedelta(milliseconds=4)
"""On the dev server, one programme day per partnership of the cohort: a month's drive (a meeting and a diary entry
for every partnership, CPU-bound) then spans the same number of programme days at every size, so every size sees the
same pattern of timers, reminders and meetings, and CPU per partnership compares across sizes (wall time there is
mostly waiting)."""


def dev_policy(day: timedelta) -> dict[str, Any]:
    """The dev server's programme (the application's policy overrides), in days of ``day``: the default's shape with
    windows wide enough for a drive that spans days (no signing deadline, lapse or review reminder falls due while
    the drive is on its way)."""
    policy = Policy(
        signing_reminder=40 * day,
        signing_deadline=80 * day,
        meeting_cadence=30 * day,
        lapse_grace=30 * day,
        escalation_after=60 * day,
        programme_length=210 * day,
        review_window=80 * day,
        review_reminder=40 * day,
        cohort_wait=400 * day,
        checkin_first=30 * day,
        checkin_every=60 * day,
        checkin_window=14 * day,
    )
    return policy.model_dump(mode="json", exclude={"eligible_degree_levels", "target_hours_min", "target_hours_max"})


async def simulate(size: int, concurrency: int = 50, server: str = "time-skipping") -> Result:
    """``size`` applicants and ``size // 2`` mentors of capacity 2 through a whole programme under a Cohort."""
    from bench.matching import pool

    dev = server == "dev"
    day = DEV_DAY_PER_PARTNERSHIP * size if dev else timedelta(days=1)
    cache = current_settings().workflow_cache  # ENTRYPOINT_WORKFLOW_CACHE, as the real worker reads it
    params: dict[str, Any] = {"partnerships": size, "mentors": size // 2, "server": server, "workflow_cache": cache}
    if dev:
        params["day_s"] = day.total_seconds()
    phases: dict[str, float] = {}
    cpu: dict[str, dict[str, float]] = {}
    skipping = 0.0
    loop = asyncio.get_running_loop()
    mark = loop.time()
    cpu_mark = cpu_seconds()

    def phase(name: str) -> None:
        nonlocal mark, cpu_mark
        now, used = loop.time(), cpu_seconds()
        phases[name] = now - mark
        cpu[name] = {side: round(used[side] - cpu_mark[side], 1) for side in used}
        mark, cpu_mark = now, used
        progress(
            f"cohort_simulation {size}: {name} took {phases[name]:.1f}s"
            f" (CPU worker {cpu[name]['worker']:.0f}s, server {cpu[name]['server']:.0f}s)"
        )

    async def skip(days: int) -> None:
        nonlocal skipping
        began = loop.time()
        if dev:
            await asyncio.sleep((days * day).total_seconds())
        else:
            await skip_time(env, days * day)
        skipping += loop.time() - began

    cohort_id = f"cs{uuid.uuid4().hex[:6]}"
    inp = pool(size, seed=size)
    async with dev_server() if dev else time_skipping_server() as env, records_database("sqlite") as url:
        store = RecordStore.from_url(url)
        try:
            await seed(store, cohort_id)
            for institution in {m.institution_id for m in inp.mentees}:
                await store.upsert_institution(Institution(institution_id=institution, name=institution))
            for profile in inp.mentors:
                await store.upsert_mentor(profile, Contact(name=f"Mentor {profile.mentor_id}"), cohorts=[cohort_id])
            client = env.client
            task_queue = f"cs-{uuid.uuid4().hex[:8]}"
            async with build_worker(client, task_queue, store, mailer=None, workflow_cache=cache):
                began = loop.time()
                mark, cpu_mark = began, cpu_seconds()
                handles: dict[str, WorkflowHandle[Any, PartnershipStatus]] = {}

                async def apply(mentee: Any) -> None:
                    app = Application(
                        cohort_id=cohort_id,
                        mentee_id=mentee.mentee_id,
                        institution_id=mentee.institution_id,
                        degree_level=mentee.degree_level,
                        field=mentee.field,
                        interests=mentee.interests,
                        languages=mentee.languages,
                        goals=mentee.goals,
                        preferred_sector=mentee.preferred_sector,
                        policy=dev_policy(day) if dev else None,
                    )
                    handle = await client.start_workflow(
                        PartnershipWorkflow.run, app, id=app.workflow_id, task_queue=task_queue
                    )
                    handles[app.workflow_id] = handle
                    await until_stage(handle, {"AWAITING_MATCH"})

                failed = await _bounded(inp.mentees, apply, concurrency)
                phase("applications")
                now = await env.get_current_time()
                plan = CohortPlan(
                    cohort_id=cohort_id,
                    coordinator_id=COORDINATOR_ID,
                    applications_close=now,
                    matching_at=now + day,
                    kickoff_at=now + 7 * day,
                    programme_end=now + (7 + (250 if dev else 190)) * day,
                    review_window=14 * day,
                    auto_approve=True,
                )
                cohort = await client.start_workflow(
                    CohortWorkflow.run, plan, id=cohort_workflow_id(cohort_id), task_queue=task_queue
                )
                await skip(2)
                running = await _cohort_stage(cohort, lambda s: s.stage == "RUNNING", 60 + size * 0.5)
                phase("matching")

                async def sign(handle: WorkflowHandle[Any, PartnershipStatus]) -> None:
                    status = await until_stage(handle, {"AWAITING_SIGNATURES", "AWAITING_MATCH"})
                    if status.stage != "AWAITING_SIGNATURES":
                        return
                    for party in ("mentee", "mentor"):
                        await handle.execute_update(PartnershipWorkflow.sign_agreement_update, {"party": party})

                failed += await _bounded(list(handles.values()), sign, concurrency)
                phase("signing")

                async def meet(handle: WorkflowHandle[Any, PartnershipStatus]) -> None:
                    if (await handle.query(PartnershipWorkflow.status)).stage != "ACTIVE":
                        return
                    meeting = {"kind": "pair", "minutes": 90, "topics": ["this month"]}
                    await handle.execute_update(PartnershipWorkflow.log_meeting_update, meeting)
                    diary = {"reflection": "What I learned this month"}
                    await handle.execute_update(PartnershipWorkflow.add_diary_entry_update, diary)

                for _month in range(6):
                    await skip(10 if dev else 27)  # on the dev server the month's drive itself spans about 20 days
                    failed += await _bounded(list(handles.values()), meet, concurrency)
                phase("six_months")
                if not dev:
                    await skip(24)  # past the end of every programme, before review reminders

                async def review(handle: WorkflowHandle[Any, PartnershipStatus]) -> None:
                    if dev:  # each programme ends in real time, 210 days after its signatures
                        await until_stage(handle, {"CLOSING_REVIEW"}, timeout=(260 * day).total_seconds())
                    elif (await handle.query(PartnershipWorkflow.status)).stage != "CLOSING_REVIEW":
                        return
                    mentee = {"party": "mentee", "rating": 5, "outcome": "employed_in_field"}
                    await handle.execute_update(PartnershipWorkflow.submit_closing_review_update, mentee)
                    mentor = {"party": "mentor", "rating": 4}
                    await handle.execute_update(PartnershipWorkflow.submit_closing_review_update, mentor)

                failed += await _bounded(list(handles.values()), review, concurrency)
                phase("reviews")
                report: CohortReport = await cohort.result()
                phase("report")
                total = loop.time() - began
        finally:
            await store.close()
    matched = running.rounds[0].delivered if running.rounds else 0
    result = Result(
        "cohort_simulation",
        params,
        {
            "seconds": round(total, 1),
            "per_partnership_ms": round(1000 * total / size),
            "matched": matched,
            "completed": report.by_stage.get("COMPLETED", 0),
            "meetings_mean": report.meetings_mean,
            "phases": "/".join(f"{k}={v:.0f}s" for k, v in phases.items()),
            "skipping_s": round(skipping),
            "cpu_ms_per_partnership": "worker {} server {}".format(
                *(round(1000 * sum(c[side] for c in cpu.values()) / size) for side in ("worker", "server"))
            ),
        },
        data={
            "phases_s": phases,
            "phases_cpu_s": cpu,
            "skipping_s": skipping,
            "report": report.model_dump(mode="json"),
            "failed": failed,
        },
    )
    if failed:
        result.notes.append(f"{failed} steps failed")
    return result


async def run(sizes: list[int], server: str = "time-skipping") -> list[Result]:
    if _cohort_module() is None:
        return [emit(Result("cohort_simulation", skipped="no Cohort workflow yet (workflows/cohort.py)"))]
    if not _worker_has_cohort():
        return [
            emit(
                Result(
                    "cohort_simulation",
                    {"partnerships": "/".join(str(s) for s in sizes)},
                    skipped="the Cohort workflow exists but the worker does not register it and its activities "
                    f"({', '.join(COHORT_ACTIVITIES)}) yet",
                )
            )
        ]
    results = []
    for size in sizes:
        progress(f"cohort_simulation: {size} partnerships on the {server} server")
        try:
            results.append(emit(await simulate(size, server=server)))
        except Exception as error:
            why = f"the simulation of {size} failed ({type(error).__name__}: {str(error)[:200]})"
            results.append(emit(Result("cohort_simulation", {"partnerships": size}, skipped=why)))
    return results

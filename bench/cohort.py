"""The Cohort workflow in the benchmarks: its history size (benchmark 3) and the cohort simulation (5a).

``cohort_history``: the Cohort workflow (workflows/cohort.py) of the largest cohort on the time-skipping
server, through a whole programme: the first matching round (auto-approved), kickoff, two further rounds
requested mid-programme, the closing report. Its activities are stand-ins that return payloads of the real
types in the largest cohort's shape (round summaries counting its partnerships, a report built with
``domain.cohort.build_report`` from partnership states folded by the real domain): the real ones would need
the whole cohort's partnerships running, which is the cohort simulation's job. The workflow's history
holds those payloads, never the partnerships.

``cohort_simulation``: N partnerships through six months under their Cohort workflow. It needs the Cohort
workflow *and* its activities (matching over the records, delivering matches to the partnerships, the
report) in the worker; until then it prints why it is skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
import uuid
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.worker import Worker

from activities.models import (
    CohortReportRequest,
    DeliverMatches,
    MatchesDelivered,
    MatchingRoundRequest,
    RegisterCohort,
)
from bench.common import Result, emit, progress, time_skipping_server
from bench.domainlife import lifecycle
from domain.cohort import CohortPlan, CohortReport, PlannedGathering, RoundSummary, build_report
from domain.partnership.commands import GatheringKind
from workers.worker import WORKFLOW_RUNNER

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
        return len(plan.gatherings) + max(1, self.partnerships // 20)  # subject groups of up to 20

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
                    "Cohort", _plan(cohort_id, now), id=f"cohort-{cohort_id}", task_queue=task_queue
                )
                for _late_round in range(2):  # late applicants and rematches, mid-programme
                    await env.sleep(timedelta(days=60))
                    await handle.signal("run_matching", {"reason": "late applicants"})
                await handle.result()
                events = list((await handle.fetch_history()).events)
    except Exception as error:
        why = f"the Cohort workflow did not run through ({type(error).__name__}: {error})"
        return Result(name, params, skipped=why)
    result = measure(name, {**params, "rounds": 3}, events, f"the Cohort workflow of {partnerships} partnerships")
    result.notes.append("its history holds rounds and counts, not partnerships: it does not grow with the cohort")
    return result


async def run(sizes: list[int]) -> list[Result]:
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
    return [
        emit(
            Result(
                "cohort_simulation",
                {"partnerships": "/".join(str(s) for s in sizes)},
                skipped="the Cohort is in the worker now: the simulation is still to be written against it",
            )
        )
    ]

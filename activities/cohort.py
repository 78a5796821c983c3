"""Activities of the Cohort workflow: matching rounds, delivering matches, gatherings and the report.

Heavy work lives here, not in the workflow: matching a pool of thousands, and signalling thousands of
partnerships. Every activity is idempotent: a retried round recomputes the same proposals (matching is
deterministic), a retried delivery resumes from its heartbeat and skips partnerships already matched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.models import (
    CohortReportRequest,
    DeliverMatches,
    MatchesDelivered,
    MatchingRoundRequest,
    RegisterCohort,
)
from activities.records.store import RecordStore
from domain.cohort import CohortPlan, CohortReport, RoundSummary, build_report, plan_groups
from domain.gathering.plan import GatheringPlan
from domain.matching import Exclusion, MatchingInput, Pin, match
from domain.partnership.commands import GatheringKind
from domain.partnership.rules import MATCHED_STAGES
from workflows.contract import PartnershipStatus, partnership_id

log = structlog.get_logger(__name__)

DELIVERY_BATCH = 50


class CohortActivities:
    def __init__(self, store: RecordStore, client: Client) -> None:
        self._store = store
        self._client = client

    @activity.defn(name="register_cohort")
    async def register_cohort(self, request: RegisterCohort) -> None:
        await self._store.upsert_cohort(request.cohort_id, request.coordinator_id)

    @activity.defn(name="run_matching_round")
    async def run_matching_round(self, request: MatchingRoundRequest) -> RoundSummary:
        """Match everyone waiting in the cohort against the available mentors; store the proposals."""
        cohort = request.cohort_id
        mentees = await self._store.list_awaiting_match(cohort)
        mentors = await self._store.list_mentors(cohort)
        load = await self._store.mentor_load(cohort)
        previous = await self._store.previous_mentors(cohort)
        activity.heartbeat("loaded")
        pool = MatchingInput(
            mentees=mentees,
            mentors=mentors,
            pins=[Pin(mentee_id=p.mentee_id, mentor_id=p.mentor_id) for p in request.pins],
            exclusions=[Exclusion(mentee_id=x.mentee_id, mentor_id=x.mentor_id) for x in request.exclusions]
            + [  # a rematched mentee never gets a mentor they had before
                Exclusion(mentee_id=mentee_id, mentor_id=mentor_id)
                for mentee_id, mentors_before in sorted(previous.items())
                for mentor_id in mentors_before
            ],
            mentor_load=load,
        )
        result = await asyncio.to_thread(match, pool)
        activity.heartbeat("matched")
        round_id = f"{cohort}-round-{request.number}"
        await self._store.save_round(round_id, cohort, request.number, result)
        s = result.summary
        log.info(
            "matching round proposed",
            cohort_id=cohort,
            round_id=round_id,
            mentees=len(mentees),
            mentors=len(mentors),
            matched=s.matched,
            unmatched=s.unmatched,
        )
        return RoundSummary(
            round_id=round_id,
            number=request.number,
            matched=s.matched,
            unmatched=s.unmatched,
            mean_score=s.mean_score,
            top3_share=s.top3_share,
            pins=len(request.pins),
            exclusions=len(request.exclusions),
        )

    @activity.defn(name="deliver_matches")
    async def deliver_matches(self, request: DeliverMatches) -> MatchesDelivered:
        """Send ``match_proposed`` to each partnership of an approved round, in batches with heartbeats.

        An update, not a signal: a partnership that already has this match refuses it without a trace,
        so a retried delivery never records anything twice.
        """
        result = await self._store.load_round(request.round_id)
        if result is None:
            raise ValueError(f"no matching round {request.round_id}")
        proposals = sorted(result.proposals, key=lambda p: p.mentee_id)
        details = activity.info().heartbeat_details
        start = int(details[0]) if details else 0
        counts = {"delivered": 0, "already": 0, "skipped": 0}
        if details and len(details) > 1:
            counts.update(details[1])
        for offset in range(start, len(proposals), DELIVERY_BATCH):
            batch = proposals[offset : offset + DELIVERY_BATCH]
            outcomes = await asyncio.gather(*(self._propose(request.cohort_id, p) for p in batch))
            for outcome in outcomes:
                counts[outcome] += 1
            activity.heartbeat(offset + len(batch), counts)
        log.info("matches delivered", cohort_id=request.cohort_id, round_id=request.round_id, **counts)
        return MatchesDelivered(**counts)

    async def _propose(self, cohort_id: str, proposal: Any) -> str:
        handle = self._client.get_workflow_handle(partnership_id(cohort_id, proposal.mentee_id))
        payload = {"mentor_id": proposal.mentor_id, "score": proposal.score, "reasons": list(proposal.reasons)}
        try:
            await handle.execute_update("match_proposed", payload, result_type=PartnershipStatus)
            return "delivered"
        except WorkflowUpdateFailedError:
            try:
                status = await handle.query("status", result_type=PartnershipStatus)
            except RPCError:
                return "skipped"
            return "already" if status.mentor_id == proposal.mentor_id else "skipped"
        except RPCError:  # the partnership has ended or does not exist
            return "skipped"

    @activity.defn(name="cohort_report")
    async def cohort_report(self, request: CohortReportRequest) -> CohortReport:
        states = await self._store.list_states(request.cohort_id)
        report = build_report(request.cohort_id, states)
        await self._store.save_report(request.cohort_id, report)
        return report

    @activity.defn(name="schedule_gatherings")
    async def schedule_gatherings(self, plan: CohortPlan) -> int:
        """Start the plan's gatherings, and the subject groups formed from the matched pairs' interests.

        Idempotent: a gathering already started is left as it is; group members already registered stay so.
        """
        cohort = plan.cohort_id
        queue = activity.info().task_queue
        plans = [
            GatheringPlan(
                cohort_id=cohort,
                gathering_id=g.gathering_id,
                kind=g.kind,
                subject=g.subject,
                starts_at=g.starts_at,
                duration_hours=g.hours,
                place=g.place,
                capacity=g.capacity,
                **_timing(plan),
            )
            for g in plan.gatherings
        ]
        members: dict[str, tuple[str, ...]] = {}
        if plan.group_subjects_at is not None:
            states = await self._store.list_states(cohort)
            interests = {
                s.partnership_id: list(s.mentee.interests) or [s.mentee.field]
                for s in states
                if s.mentee is not None and s.stage in MATCHED_STAGES
            }
            for number, group in enumerate(plan_groups(interests, max_size=20), start=1):
                gathering_id = f"group-{number:02d}"
                members[gathering_id] = group.members
                plans.append(
                    GatheringPlan(
                        cohort_id=cohort,
                        gathering_id=gathering_id,
                        kind=GatheringKind.GROUP,
                        subject=group.subject,
                        starts_at=plan.group_subjects_at,
                        duration_hours=plan.group_hours,
                        place="to be announced",
                        capacity=20,
                        invitees=group.members,
                        **_timing(plan),
                    )
                )
        started = 0
        for gathering in plans:
            workflow_id = f"gathering-{cohort}-{gathering.gathering_id}"
            try:
                await self._client.start_workflow(
                    "Gathering",
                    gathering,
                    id=workflow_id,
                    task_queue=queue,
                    static_summary=f"Gathering {gathering.gathering_id} · cohort {cohort} · {gathering.kind}",
                    static_details=(
                        f"{gathering.kind.capitalize()} gathering {gathering.gathering_id} of cohort {cohort}: "
                        f"{gathering.duration_hours:g} h, starts "
                        f"{gathering.starts_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, capacity {gathering.capacity}. "
                        "Query `status` for registrations and attendance."
                    ),
                )
                started += 1
            except WorkflowAlreadyStartedError:
                pass
            for registrant in members.get(gathering.gathering_id, ()):
                handle = self._client.get_workflow_handle(workflow_id)
                with contextlib.suppress(WorkflowUpdateFailedError):  # registered already (a retried activity)
                    await handle.execute_update("register", {"registrant_id": registrant})
            activity.heartbeat(workflow_id)
        log.info("gatherings scheduled", cohort_id=cohort, started=started, planned=len(plans))
        return started

    def all(self) -> Sequence[Any]:
        return [
            self.register_cohort,
            self.run_matching_round,
            self.deliver_matches,
            self.schedule_gatherings,
            self.cohort_report,
        ]


def _timing(plan: CohortPlan) -> dict[str, Any]:
    """The plan's gathering timing overrides (a demo's fast clock), for each GatheringPlan."""
    timing: dict[str, Any] = {}
    if plan.attendance_grace is not None:
        timing["attendance_grace"] = plan.attendance_grace
    if plan.gathering_length is not None:
        timing["length"] = plan.gathering_length
    return timing

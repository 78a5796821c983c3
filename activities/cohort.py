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
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.failures import classified
from activities.models import (
    CohortReportRequest,
    DeliverMatches,
    MatchesDelivered,
    MatchingRoundRequest,
    RegisterCohort,
)
from activities.records.store import RecordStore
from contract import STATUS_QUERY, message_name
from contract import gathering as gathering_contract
from contract.cohort import cohort_workflow_id
from contract.partnership import PartnershipStatus, partnership_id
from domain import limits
from domain.cohort import CohortPlan, CohortReport, RoundSummary, build_report, gathering_plans
from domain.gathering import commands as gathering_commands
from domain.matching import Exclusion, MatchingInput, Pin, match
from domain.partnership import commands as partnership_commands

log = structlog.get_logger(__name__)

DELIVERY_BATCH = 50


class CohortActivities:
    def __init__(self, store: RecordStore, client: Client) -> None:
        self._store = store
        self._client = client

    @activity.defn(name="register_cohort")
    @classified
    async def register_cohort(self, request: RegisterCohort) -> None:
        await self._store.upsert_cohort(request.cohort_id, request.coordinator_id)

    @activity.defn(name="run_matching_round")
    @classified
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
        reasons = [reason[: limits.LINE_CHARS] for reason in proposal.reasons][: limits.LIST_ITEMS]  # within limits
        payload = {"mentor_id": proposal.mentor_id, "score": proposal.score, "reasons": reasons}
        try:
            await handle.execute_update(
                message_name(partnership_commands.ProposeMatch), payload, result_type=PartnershipStatus
            )
            return "delivered"
        except WorkflowUpdateFailedError:
            try:
                status = await handle.query(STATUS_QUERY, result_type=PartnershipStatus)
            except RPCError:
                return "skipped"
            return "already" if status.mentor_id == proposal.mentor_id else "skipped"
        except RPCError:  # the partnership has ended or does not exist
            return "skipped"

    @activity.defn(name="cohort_running")
    async def cohort_running(self, cohort_id: str) -> bool:
        """Whether the cohort's Cohort workflow is running (a partnership waiting for a match asks)."""
        try:
            described = await self._client.get_workflow_handle(cohort_workflow_id(cohort_id)).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return described.status == WorkflowExecutionStatus.RUNNING

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
        states = await self._store.list_states(cohort) if plan.group_subjects_at is not None else []
        plans = gathering_plans(plan, states)
        members = {p.gathering_id: p.invitees for p in plans if p.invitees}
        started = 0
        for gathering in plans:
            workflow_id = gathering_contract.gathering_workflow_id(cohort, gathering.gathering_id)
            try:
                await self._client.start_workflow(
                    gathering_contract.WORKFLOW_TYPE,
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
                    await handle.execute_update(
                        message_name(gathering_commands.Register), {"registrant_id": registrant}
                    )
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
            self.cohort_running,
        ]


"""Activities of the Gathering workflow: keep its events (and send its notices), and tell partnerships of
the hours their people spent at a gathering.

Idempotent: ``record_gathering_events`` only writes log lines keyed by the gathering and version (there is
no gatherings table yet; see the workflow's docstring), and ``deliver_attendance`` may signal a partnership
again on a retry, which the partnership rejects ("attendance at gathering X is already recorded"), so hours
are never counted twice. Ids only in logs: registrant and partnership ids are opaque.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.failures import classified
from activities.models import (
    AttendanceDeliveryReport,
    AttendeeHours,
    DeliverAttendance,
    GatheringRecorded,
    RecordGatheringEvents,
)
from activities.records.store import RecordStore
from domain.gathering import COORDINATOR, notices_for

log = structlog.get_logger(__name__)

PARTNERSHIP_PREFIX = "partnership-"
PARTNERSHIP_SIGNAL = "gathering_attended"
BATCH = 20
"""Signals sent at once; the activity heartbeats after each batch (and resumes after the last on a retry)."""

NOT_A_PARTNERSHIP = "not a partnership id"
UNKNOWN = "unknown partnership"


class GatheringActivities:
    def __init__(self, store: RecordStore, client: Client | None, batch_size: int = BATCH) -> None:
        self._store = store
        self._client = client
        self._batch = batch_size

    @activity.defn(name="record_gathering_events")
    @classified
    async def record_gathering_events(self, request: RecordGatheringEvents) -> GatheringRecorded:
        """Keep the events in the records database (the gathering's permanent log; a retry writes nothing twice)
        and send their notices, as log lines for now.

        The outbox belongs to partnerships (each row references a partnership's event), so a gathering's
        notices cannot go there without a schema change; each is logged, with its recipient's opaque id.
        """
        await self._store.append_gathering_events(
            request.gathering_key, request.cohort_id, request.expected_version, request.events
        )
        version = request.expected_version
        notices = 0
        coordinator: str | None = None
        for event in request.events:
            version += 1
            log.info("gathering event", gathering=request.gathering_key, version=version, event_type=event.type)
            for notice in notices_for(event):
                recipient = notice.recipient
                if recipient == COORDINATOR:
                    coordinator = coordinator or await self._store.get_cohort_coordinator(request.cohort_id)
                    recipient = coordinator or "coordinator (none on file)"
                log.info(
                    "gathering notice",
                    gathering=request.gathering_key,
                    version=version,
                    template=notice.template,
                    recipient=recipient,
                )
                notices += 1
        return GatheringRecorded(version=version, notices=notices)

    @activity.defn(name="deliver_attendance")
    async def deliver_attendance(self, request: DeliverAttendance) -> AttendanceDeliveryReport:
        """Send ``gathering_attended`` to each attendee's partnership, in batches, heartbeating after each.

        A registrant id is a partnership id, or ``{partnership_id}:{role}``; two attendees of one partnership
        make one signal. An unknown or closed partnership, or an id that is not a partnership's, is skipped
        with the reason; any other failure raises, and the retry resumes after the last batch heartbeated.
        """
        if self._client is None:
            raise ApplicationError("this worker was built without a Temporal client; it cannot signal partnerships")
        groups = _by_partnership(request.attendees)
        start, signalled, skipped = _progress(activity.info().heartbeat_details)
        for offset in range(start, len(groups), self._batch):
            batch = groups[offset : offset + self._batch]
            outcomes = await asyncio.gather(*(self._tell(request, pid, people) for pid, people in batch))
            for (_, people), reason in zip(batch, outcomes, strict=True):
                for attendee in people:
                    if reason is None:
                        signalled.append(attendee.registrant_id)
                    else:
                        skipped[attendee.registrant_id] = reason
            activity.heartbeat({"next": offset + len(batch), "signalled": list(signalled), "skipped": dict(skipped)})
        report = AttendanceDeliveryReport(signalled=signalled, skipped=skipped)
        log.info(
            "attendance delivered",
            gathering=request.gathering_key,
            signalled=len(signalled),
            skipped=report.reasons(),
            resumed_at=start,
            attempt=activity.info().attempt,
        )
        return report

    async def _tell(self, request: DeliverAttendance, partnership_id: str, people: list[AttendeeHours]) -> str | None:
        """Signal one partnership; None when sent, else why it was skipped."""
        assert self._client is not None
        if not partnership_id.startswith(PARTNERSHIP_PREFIX):
            return NOT_A_PARTNERSHIP
        payload = {"gathering_id": request.gathering_id, "kind": request.kind.value, "hours": people[0].hours}
        handle = self._client.get_workflow_handle(partnership_id)
        try:
            await handle.signal(PARTNERSHIP_SIGNAL, payload)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        else:
            return None
        try:  # not found: never started, or no longer running? (raw: no search attributes to decode)
            described = await self._client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=self._client.namespace, execution=WorkflowExecution(workflow_id=partnership_id)
                )
            )
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return UNKNOWN
        status = WorkflowExecutionStatus(described.workflow_execution_info.status)
        if status == WorkflowExecutionStatus.RUNNING:  # a new run started in between: try again
            raise ApplicationError(f"partnership {partnership_id} was not found but is running")
        return f"partnership closed ({status.name.lower()})"


def _by_partnership(attendees: list[AttendeeHours]) -> list[tuple[str, list[AttendeeHours]]]:
    """Attendees grouped by partnership id, in the order they come (a partnership counts a gathering once)."""
    groups: dict[str, list[AttendeeHours]] = {}
    for attendee in attendees:
        groups.setdefault(attendee.registrant_id.split(":", 1)[0], []).append(attendee)
    return list(groups.items())


def _progress(details: Any) -> tuple[int, list[str], dict[str, str]]:
    """Where a retried delivery resumes: after the last batch it heartbeated."""
    if not details:
        return 0, [], {}
    last = details[0]
    if not isinstance(last, dict):
        return 0, [], {}
    return int(last.get("next", 0)), list(last.get("signalled", [])), dict(last.get("skipped", {}))

"""Activities of the Gathering workflow: keep its events (and send its notices), and tell partnerships of
the hours their people spent at a gathering.

Idempotent: ``record_gathering_events`` writes the events and their notices keyed by the gathering and
version (a retry writes nothing twice; the notices are claimed before they are sent), and
``deliver_attendance`` may signal a partnership again on a retry, which the partnership rejects
("attendance at gathering X is already recorded"), so hours are never counted twice. Ids only in logs:
registrant and partnership ids are opaque.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
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
from activities.notifications.activity import attempt_ends
from activities.notifications.delivery import DeliveryFailed
from activities.notifications.gatherings import deliver_gathering_pending
from activities.notifications.smtp import Mailer
from activities.records.store import RecordStore
from contract import message_name
from contract.partnership import ID_PREFIX as PARTNERSHIP_PREFIX
from domain.gathering import notices_for
from domain.partnership.commands import RecordGathering

log = structlog.get_logger(__name__)

PARTNERSHIP_SIGNAL = message_name(RecordGathering)
BATCH = 20
"""Signals sent at once; the activity heartbeats after each batch (and resumes after the last on a retry)."""

NOT_A_PARTNERSHIP = "not a partnership id"
UNKNOWN = "unknown partnership"
NOTICE_SEND_SECONDS = 10.0
"""How long ``record_gathering_events`` spends sending its notices at most; the rest is left to the sweep."""


class GatheringActivities:
    def __init__(
        self, store: RecordStore, client: Client | None, batch_size: int = BATCH, mailer: Mailer | None = None
    ) -> None:
        self._store = store
        self._client = client
        self._batch = batch_size
        self._mailer = mailer

    @activity.defn(name="record_gathering_events")
    @classified
    async def record_gathering_events(self, request: RecordGatheringEvents) -> GatheringRecorded:
        """Keep the events in the records database (the gathering's permanent log) with their notices in the
        gatherings' outbox, in one transaction (a retry writes neither twice), then try to send the notices.

        Sending is best effort and bounded (``NOTICE_SEND_SECONDS``, and the attempt's end): a mail server
        that is down or slow never holds the gathering up; what is not sent stays pending for the worker's
        outbox sweep (``activities.notifications.sweep``), which never sends a message twice either.
        """
        await self._store.append_gathering_events(
            request.gathering_key, request.cohort_id, request.expected_version, request.events
        )
        version = request.expected_version
        notices = 0
        for event in request.events:
            version += 1
            log.info("gathering event", gathering=request.gathering_key, version=version, event_type=event.type)
            notices += len(notices_for(event))
        if notices and self._mailer is not None:
            await self._send_notices(request.gathering_key)
        return GatheringRecorded(version=version, notices=notices)

    async def _send_notices(self, gathering_key: str) -> None:
        until = datetime.now(UTC) + timedelta(seconds=NOTICE_SEND_SECONDS)
        ends = attempt_ends(activity.info())
        if ends is not None:
            until = min(until, ends)
        try:
            await deliver_gathering_pending(self._store, self._mailer, gathering_key, until=until)
        except DeliveryFailed as error:
            log.warning("gathering notices left for the outbox sweep", gathering=gathering_key, reason=str(error))

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

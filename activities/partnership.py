"""Record-keeping activities of the Partnership workflow.

Idempotent: a retried activity writes nothing twice (the store's append is keyed by version and checks
the content; the people registry is an upsert), and ``record_and_deliver`` sends nothing twice (every notice
is claimed before it is sent, as ``deliver_notifications`` claims it).
"""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.failures import classified
from activities.models import (
    ApplicationFacts,
    AttendanceFacts,
    CheckMentor,
    MentorFacts,
    Recorded,
    RecordEvents,
    RegisterApplication,
    VerifyAttendance,
)
from activities.notifications.activity import attempt_ends
from activities.notifications.delivery import deliver_pending
from activities.notifications.smtp import Mailer
from activities.records.store import RecordStore
from contract.gathering import gathering_workflow_id
from domain.gathering import fold as fold_gathering
from domain.gathering.state import GatheringState

log = structlog.get_logger(__name__)


class PartnershipActivities:
    def __init__(self, store: RecordStore, mailer: Mailer | None = None) -> None:
        self._store = store
        self._mailer = mailer

    @activity.defn(name="register_application")
    @classified
    async def register_application(self, request: RegisterApplication) -> ApplicationFacts:
        """Move the applicant's contact details into the people registry; look up what screening needs.

        A partnership id is used once: when its log already holds events (an earlier run, say REJECTED, under
        the same workflow id), the application is refused here, before anything is written, and the run ends
        with that reason (never a run that conflicts with the old log for ever). An erased person is refused
        too. Both are non-retryable.
        """
        earlier = await self._store.load_state(request.partnership_id)
        if earlier is not None:
            raise ApplicationError(
                f"partnership {request.partnership_id} already has a record (stage {earlier.stage}, "
                f"version {earlier.version}); a partnership id is used once: apply again under another "
                "cohort or mentee id",
                type="PartnershipIdReused",
                non_retryable=True,
            )
        # Registered as a mentee: a mentor (or coordinator) with the same id is another person, never touched.
        # An application never changes a stored contact (the registry's change_contact command does).
        outcome = await self._store.register_person(request.mentee_id, "mentee", request.contact)
        institution = await self._store.get_institution(request.institution_id)
        log.info(
            "application registered",
            partnership_id=request.partnership_id,
            institution_known=institution is not None,
            contact_given=request.contact is not None,
            contact=outcome.value,
        )
        return ApplicationFacts(institution=institution)

    @activity.defn(name="record_events")
    @classified
    async def record_events(self, request: RecordEvents) -> Recorded:
        """Append the events to the partnership's log, with read models and outbox rows, in one transaction."""
        return await self._record(request)

    @activity.defn(name="record_and_deliver")
    @classified
    async def record_and_deliver(self, request: RecordEvents) -> Recorded:
        """``record_events``, then the notices those events queued delivered in the same attempt: one activity
        per command where there were two (issue 12: each activity is three history events and a workflow task).

        The record is what must not fail: once the events are appended, a delivery that fails (the mail server
        down or slow, the attempt out of time) is reported in ``delivery_failed`` and the notices stay pending,
        for the worker's outbox sweep to send. A retried attempt finds its events already appended (a duplicate)
        and delivers whatever is still pending: claims keep any notice from going out twice.
        """
        recorded = await self._record(request)
        if not recorded.outbox_keys:
            return recorded
        try:
            delivered = await deliver_pending(
                self._store, self._mailer, request.partnership_id, until=attempt_ends(activity.info())
            )
        except Exception as error:  # the events are recorded; their notices wait for the sweep
            log.warning(
                "notifications.deferred_to_sweep", partnership_id=request.partnership_id, reason=type(error).__name__
            )
            return recorded.model_copy(update={"delivery_failed": type(error).__name__})
        return recorded.model_copy(update={"delivered": delivered})

    async def _record(self, request: RecordEvents) -> Recorded:
        result = await self._store.append(request.partnership_id, request.expected_version, request.events)
        log.info(
            "events recorded",
            partnership_id=request.partnership_id,
            version=result.version,
            duplicate=result.duplicate,
            events=[event.type for event in request.events],
            attempt=activity.info().attempt,
        )
        return Recorded(version=result.version, duplicate=result.duplicate, outbox_keys=list(result.outbox_keys))

    @activity.defn(name="check_mentor")
    @classified
    async def check_mentor(self, request: CheckMentor) -> MentorFacts:
        """A match may name only a mentor of the pool: known, not withdrawn, and available for the partnership's
        cohort. Anything else is refused with what a coordinator can do about it (read only; safe to retry)."""
        mentor = await self._store.get_mentor_record(request.mentor_id)
        if mentor is None:
            return MentorFacts(
                refused=f"mentor {request.mentor_id} is not in the mentor pool "
                "(add them with `entrypoint mentors import` first, or check the id)"
            )
        if mentor.withdrawn_at is not None:
            return MentorFacts(refused=f"mentor {request.mentor_id} has withdrawn from the mentor pool")
        if request.cohort_id is not None and request.cohort_id not in mentor.cohorts:
            return MentorFacts(
                refused=f"mentor {request.mentor_id} is not available for cohort {request.cohort_id} "
                f"(`entrypoint mentors import ... --cohort {request.cohort_id}` makes them available)"
            )
        return MentorFacts()

    @activity.defn(name="verify_gathering_attendance")
    @classified
    async def verify_gathering_attendance(self, request: VerifyAttendance) -> AttendanceFacts:
        """A gathering counts only if it is one of the partnership's cohort and the Gathering's record has the
        partnership among those present; its kind and hours come from that record, not from the caller."""
        key = gathering_workflow_id(request.cohort_id, request.gathering_id)
        events = await self._store.read_gathering_log(key)
        if not events:
            return AttendanceFacts(refused=f"no gathering {request.gathering_id} of cohort {request.cohort_id}")
        gathering = fold_gathering(GatheringState(gathering_key=key), events)
        attendee = gathering.credited(request.partnership_id)
        if gathering.plan is None or attendee is None:
            return AttendanceFacts(
                refused=f"gathering {request.gathering_id} has no attendance recorded for this partnership"
            )
        return AttendanceFacts(kind=gathering.plan.kind, hours=attendee.hours)

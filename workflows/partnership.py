"""The Partnership workflow: one mentoring partnership, from application to closing review.

Signals, updates and timers become commands; the domain decides; an activity records the events
(and their notifications, in the same transaction); then the state is published: the ``status`` query,
search attributes and the current details in the Temporal UI. Nothing else happens here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.cohort import CohortActivities
    from activities.models import (
        CheckMentor,
        DeliverNotifications,
        RecordEvents,
        RegisterApplication,
        VerifyAttendance,
    )
    from activities.notifications.activity import NotificationActivities
    from activities.partnership import PartnershipActivities
    from contract.partnership import MESSAGES, STATUS_QUERY, WORKFLOW_TYPE, Application, PartnershipStatus
    from domain.errors import DomainRejection, problems
    from domain.partnership import PartnershipState, Stage, decide, fold, initial_state, next_due, rejection_event
    from domain.partnership import commands as c
    from domain.partnership.events import Event
    from domain.policy import DEFAULT_CHECKIN_FIRST, DEFAULT_COHORT_WAIT, Policy
    from workflows import inbox, metrics
    from workflows.budget import HistoryBudget
    from workflows.inbox import Inbox, Pending
    from workflows.status import describe, search_attribute_updates, waiting_for

COHORT_CHECK = "no-cohort-attention"
"""Patch: a partnership waiting for a match checks, after ``cohort_wait``, that its cohort runs (NO_COHORT if not);
partnerships from before it have no such wait."""
CONTINUE_AS_NEW = "continue-as-new-on-history-budget"
"""Patch: a partnership continues as new before its history grows large (histories before it never did)."""
VERIFY_GATHERINGS = "verify-gathering-attendance"
"""Patch: ``gathering_attended`` is checked against the Gathering's record (histories before it took the caller's)."""
MENTOR_IN_POOL = "match-mentor-in-pool"
"""Patch: ``match_proposed`` is checked against the mentor pool (histories before it took any mentor id)."""
SKIP_REPEATS = "skip-repeated-rejections"
"""Patch: a rejection identical to the last one recorded is not recorded again (histories before it did)."""
CHECKIN_PULSE = "checkin-pulse"
"""Patch: a partnership is asked the check-in pulse survey ``checkin_first`` after its start, then every
``checkin_every`` (partnerships from before it have no check-ins)."""
PUBLISH_CHANGED_ONLY = "publish-changed-search-attributes"
"""Patch: upsert only the search attributes that changed (histories from before it upsert all of them)."""
RECORD_AND_DELIVER = "record-and-deliver"
"""Patch: the events and the notices they queue go in one ``record_and_deliver`` activity (issue 12: one activity
per command, not two); histories before it ran ``record_events``, then ``deliver_notifications`` when a notice
was queued."""
RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
"""Records are never dropped: record-keeping retries until the database is back."""
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=5
)
"""Delivery gives up after a few tries; the messages stay in the outbox for the next delivery."""


class Continued(BaseModel):
    """What a run carries into the next when it continues as new (None: a fresh start). The start input of a
    continued run is ``{"application": ..., "continued": ...}``; a carried ``state`` is taken only from the
    partnership's own continue-as-new, never from a caller (a fresh start may set a smaller ``budget``)."""

    state: PartnershipState | None = None
    published: dict[str, Any] = {}
    budget: HistoryBudget = HistoryBudget()


@workflow.defn(name=WORKFLOW_TYPE)
@inbox.handlers(MESSAGES, PartnershipStatus)
class PartnershipWorkflow:
    @workflow.init
    def __init__(self, application: Application) -> None:
        read = _read_application(cast(RawValue, application))
        self._application, self._policy, self._malformed, continued = read
        self._state: PartnershipState = initial_state(workflow.info().workflow_id)
        self._inbox: Inbox[PartnershipStatus] = Inbox(MESSAGES, self._check, self.status)
        self._published: dict[str, Any] = {}
        """Search attribute values as last upserted (by name; None when unset)."""
        self._budget = continued.budget if continued is not None else HistoryBudget()
        self._repeated_rejections = 0
        self._continued = continued is not None and continued.state is not None
        if continued is not None and continued.state is not None:
            self._state = continued.state
            self._published = dict(continued.published)

    # The input is taken raw (like signals): an application that does not validate ends the partnership as REJECTED,
    # with the reason recorded and in the status, instead of failing every workflow task. Callers still see the type.
    __init__.__annotations__["application"] = RawValue

    @workflow.run
    async def run(self, application: Application) -> PartnershipStatus:
        if self._malformed is not None:
            await self._apply(c.RejectMalformedApplication(reason=self._malformed), "application")
            return await self._finish()
        app, policy = self._application, self._policy
        assert app is not None and policy is not None
        if not self._continued:
            await self._start(app, policy)

        while not self._state.is_terminal:
            if self._budget.spent() and workflow.patched(CONTINUE_AS_NEW):
                await self._continue_as_new(app)
            pending = await self._inbox.next(next_due(self._state))
            if pending is None:
                await self._tick()
            else:
                await self._inbox.process(pending, self._decide_message)

        return await self._finish()

    run.__annotations__["application"] = RawValue

    async def _start(self, app: Application, policy: Policy) -> None:
        if workflow.patched(COHORT_CHECK):
            policy = policy if policy.cohort_wait else policy.model_copy(update={"cohort_wait": DEFAULT_COHORT_WAIT})
        else:
            policy = policy.model_copy(update={"cohort_wait": None})
        if workflow.patched(CHECKIN_PULSE):
            first = policy.checkin_first or DEFAULT_CHECKIN_FIRST
            policy = policy.model_copy(update={"checkin_first": first})
        else:
            policy = policy.model_copy(update={"checkin_first": None})
        try:
            facts = await workflow.execute_activity_method(
                PartnershipActivities.register_application,
                RegisterApplication(
                    partnership_id=self._state.partnership_id,
                    cohort_id=app.cohort_id,
                    mentee_id=app.mentee_id,
                    institution_id=app.institution_id,
                    contact=app.contact,
                ),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary="register application",
            )
        except ActivityError as error:
            # Refused for good (the id was used before, the person was erased): the run ends with the reason.
            raise _refused("application refused", error) from None
        await self._apply(
            c.SubmitApplication(
                cohort_id=app.cohort_id,
                mentee=app.mentee_profile(),
                policy=policy,
            ),
            "application",
        )
        await self._apply(c.ScreenApplication(institution=facts.institution), "screening")

    async def _continue_as_new(self, app: Application) -> None:
        """Finish what has arrived (every signal and update answered, every handler done), then continue as new
        with the state: the next run starts from it, its timers computed from it as before."""
        await self._inbox.settle(self._decide_message)
        workflow.logger.info("continuing as new", extra={"version": self._state.version})
        carried = Continued(state=self._state, published=self._published, budget=self._budget)
        workflow.continue_as_new(
            args=[{"application": app.model_dump(mode="json"), "continued": carried.model_dump(mode="json")}]
        )

    async def _finish(self) -> PartnershipStatus:
        # Let late updates see their answer, and signals that arrived on the way out be recorded as rejected.
        while self._inbox:
            await self._inbox.process(self._inbox.pop(), self._decide_message)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # ------------------------------------------------------------------------------------------- the loop

    async def _tick(self) -> None:
        """The next timer that fell due, decided as of its due time: one timer per decision.

        Never as of "whenever the loop got here": that moment is not part of the history. A worker killed while
        record-keeping or delivery was under way resumes in a later workflow task, and a Tick decided at that
        task's clock fired every timer that fell due meanwhile (a reminder *and* the overdue deadline) at once,
        where the first execution, resumed in an earlier task, fired only the reminder; the extra search-attribute
        upsert made the history non-deterministic (tests/histories/nondeterminism_after_worker_kill.json). As of
        its due time, a Tick fires the same timers, in the same steps, however late the loop reaches it.
        """
        due = next_due(self._state)
        assert due is not None, "a Tick only when a timer is due"
        cohort_running: bool | None = None
        if self._state.stage == Stage.AWAITING_MATCH and self._state.cohort_id is not None:
            cohort_running = await workflow.execute_activity_method(
                CohortActivities.cohort_running,
                self._state.cohort_id,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary="is the cohort running?",
            )
        await self._apply(c.Tick(cohort_running=cohort_running), "timer", now=due.at)

    async def _decide_message(self, pending: Pending[PartnershipStatus]) -> str | None:
        now = self._inbox.now(pending)
        command, invalid = pending.command, pending.invalid
        if isinstance(command, c.RecordGathering) and workflow.patched(VERIFY_GATHERINGS):
            command, invalid = await self._verified(command, now)
        elif isinstance(command, c.ProposeMatch) and workflow.patched(MENTOR_IN_POOL):
            command, invalid = await self._mentor_checked(command, now)
        return await self._apply(command, pending.name, invalid, now=now)

    async def _mentor_checked(self, command: c.ProposeMatch, now: datetime) -> tuple[c.Command | None, str | None]:
        """The match, or why its mentor cannot be matched (not in the pool, withdrawn, not available for the
        cohort). Only a match the domain would take costs the look-up; any other is rejected as before."""
        try:
            decide(self._state, command, now)
        except DomainRejection:
            return command, None
        facts = await workflow.execute_activity_method(
            PartnershipActivities.check_mentor,
            CheckMentor(
                partnership_id=self._state.partnership_id,
                cohort_id=self._state.cohort_id,
                mentor_id=command.mentor_id,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"is mentor {command.mentor_id} in the pool?",
        )
        if facts.refused is not None:
            return None, facts.refused
        return command, None

    async def _verified(self, command: c.RecordGathering, now: datetime) -> tuple[c.Command | None, str | None]:
        """The gathering as its record has it (kind, hours), or why it does not count. Only a command the
        domain would take costs the look-up; any other is rejected by the domain as before."""
        try:
            decide(self._state, command, now)
        except DomainRejection:
            return command, None
        facts = await workflow.execute_activity_method(
            PartnershipActivities.verify_gathering_attendance,
            VerifyAttendance(
                partnership_id=self._state.partnership_id,
                cohort_id=self._state.cohort_id or "",
                gathering_id=command.gathering_id,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"check gathering {command.gathering_id}",
        )
        if facts.refused is not None or facts.kind is None or facts.hours is None:
            return None, facts.refused or "the gathering's record does not say"
        return c.RecordGathering(gathering_id=command.gathering_id, kind=facts.kind, hours=facts.hours), None

    async def _apply(
        self, command: c.Command | None, source: str, invalid: str | None = None, now: datetime | None = None
    ) -> str | None:
        """Decide, record, publish. A rejection is recorded too, so the status can say why; it is returned."""
        now = now or workflow.now()
        rejected = invalid
        events: list[Event] = []
        if command is not None and rejected is None:
            try:
                events = decide(self._state, command, now)
            except DomainRejection as rejection:
                rejected = rejection.message
        if rejected is not None:
            workflow.logger.info("command rejected", extra={"command": source})
            if self._repeats_last_rejection(source, rejected):
                metrics.command_decided(WORKFLOW_TYPE, source, True)
                return rejected  # nothing changes: no record, no activity (a flood of one bad signal is cheap)
            events = [rejection_event(source, rejected, now)]
        if not events:
            return None
        metrics.command_decided(WORKFLOW_TYPE, source, rejected is not None)
        delivers = workflow.patched(RECORD_AND_DELIVER)
        try:
            recorded = await workflow.execute_activity_method(
                PartnershipActivities.record_and_deliver if delivers else PartnershipActivities.record_events,
                RecordEvents(
                    partnership_id=self._state.partnership_id, expected_version=self._state.version, events=events
                ),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary=f"record {', '.join(ev.type for ev in events)}",
            )
        except ActivityError as error:
            # The records refused the events for good (not retried for ever): what someone sent is rejected
            # and that is recorded; anything else (a timer's events, or the rejection itself) ends the run.
            reason = _permanent(error)
            if rejected is None and source in MESSAGES and reason is not None:
                return await self._apply(None, source, invalid=f"the records refused {source}: {reason}", now=now)
            raise _refused(f"the records refused {source}", error) from None
        events = self._as_recorded(command, events, recorded.version, now)
        attention_before = self._state.attention
        self._state = fold(self._state, events)
        metrics.attention_changed(attention_before, self._state.attention)
        self._publish()
        if recorded.outbox_keys and not delivers:
            await self._deliver()
        return rejected

    def _as_recorded(self, command: c.Command | None, events: list[Event], version: int, now: datetime) -> list[Event]:
        """The events as the records hold them. Only a history from before the Tick fix (one timer per decision, as
        of its due time) differs: its loop decided a Tick as of the workflow task's clock, every timer then due in
        one batch (a worker away past a reminder and a deadline recorded both at once). Replayed, the record's
        version says so, and that Tick is decided as it was then, so the history goes on as recorded (for
        example tests/histories/missed_timers_before_tick_fix.json). Histories with the ``arrival-time`` patch
        (the fix came just before it) and new runs never take this path: their records match what they sent."""
        if (
            version == self._state.version + len(events)
            or not isinstance(command, c.Tick)
            or not workflow.unsafe.is_replaying()
            or self._inbox.by_arrival
        ):
            return events
        as_then = decide(self._state, command, workflow.now())
        return as_then if version == self._state.version + len(as_then) else events

    def _repeats_last_rejection(self, source: str, reason: str) -> bool:
        """The same command rejected for the same reason as the last rejection recorded: the status would say
        the same; it is counted (in the current details), not recorded again."""
        last = self._state.last_rejection
        if last is None or (last.command, last.reason) != (source, reason) or not workflow.patched(SKIP_REPEATS):
            return False
        self._repeated_rejections += 1
        workflow.set_current_details(
            f"{waiting_for(self._state)} ({self._repeated_rejections} repeated rejection(s) not recorded)"
        )
        return True

    async def _deliver(self) -> None:
        try:
            await workflow.execute_activity_method(
                NotificationActivities.deliver_notifications,
                DeliverNotifications(partnership_id=self._state.partnership_id),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DELIVERY_RETRY,
                summary="deliver notifications",
            )
        except ActivityError:
            workflow.logger.warning("notification delivery failed; messages stay in the outbox")

    def _publish(self) -> None:
        updates = search_attribute_updates(self._state)
        if workflow.patched(PUBLISH_CHANGED_ONLY):
            # Only what changed: an unchanged upsert still costs a history event and a visibility write.
            updates = [u for u in updates if self._published.get(u.key.name) != u.value]
            self._published.update((u.key.name, u.value) for u in updates)
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(waiting_for(self._state))

    # --------------------------------------------------------------------------------- signals & updates
    # The handlers of contract.partnership.MESSAGES (``inbox.handlers`` adds any not spelled out here); these
    # one-liners are the typed references callers use. tests/workflows/test_contract.py holds them equal.

    match_proposed = inbox.signal("match_proposed")
    sign_agreement = inbox.signal("sign_agreement")
    log_meeting = inbox.signal("log_meeting")
    add_diary_entry = inbox.signal("add_diary_entry")
    gathering_attended = inbox.signal("gathering_attended")
    coordinator_action = inbox.signal("coordinator_action")
    withdraw = inbox.signal("withdraw")
    submit_closing_review = inbox.signal("submit_closing_review")
    answer_checkin = inbox.signal("answer_checkin")
    unknown_signal = inbox.unknown_signals()

    match_proposed_update = inbox.update("match_proposed", PartnershipStatus)
    sign_agreement_update = inbox.update("sign_agreement", PartnershipStatus)
    log_meeting_update = inbox.update("log_meeting", PartnershipStatus)
    add_diary_entry_update = inbox.update("add_diary_entry", PartnershipStatus)
    gathering_attended_update = inbox.update("gathering_attended", PartnershipStatus)
    coordinator_action_update = inbox.update("coordinator_action", PartnershipStatus)
    withdraw_update = inbox.update("withdraw", PartnershipStatus)
    submit_closing_review_update = inbox.update("submit_closing_review", PartnershipStatus)
    answer_checkin_update = inbox.update("answer_checkin", PartnershipStatus)

    def _check(self, command: c.Command) -> None:
        """Update validators: a rejection here leaves no trace in the history."""
        if self._state.stage is None:
            raise DomainRejection("the application is still being registered; try again in a moment")
        decide(self._state, command, workflow.now())

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> PartnershipStatus:
        return describe(self._state)


def _read_application(
    raw: RawValue,
) -> tuple[Application | None, Policy | None, str | None, Continued | None]:
    """The application, its policy and what a continued run carries, or why the input is not one (field names and
    problems, never the values)."""
    try:
        payload = workflow.payload_converter().from_payload(raw.payload)
    except Exception:
        return None, None, "the application is not one JSON object", None
    continued: Continued | None = None
    if isinstance(payload, dict) and set(payload) == {"application", "continued"}:
        try:
            continued = Continued.model_validate(payload["continued"])
        except ValidationError as error:
            return None, None, f"invalid continuation: {problems(error)}", None
        if continued.state is not None and workflow.info().continued_run_id is None:
            return None, None, "a partnership's state is carried over only by its own continue-as-new", None
        payload = payload["application"]
    if not isinstance(payload, dict):
        return None, None, "the application is not one JSON object", None
    try:
        application = Application.model_validate(payload)
        return application, application.resolved_policy(), None, continued
    except ValidationError as error:
        return None, None, f"invalid application: {problems(error)}", None


def _permanent(error: ActivityError) -> str | None:
    """The reason of a non-retryable activity failure (the activity said it will never succeed), else None."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.message
    return None


def _refused(what: str, error: ActivityError) -> BaseException:
    """What ends the run when an activity failed for good; any other failure is raised as it was."""
    reason = _permanent(error)
    if reason is None:
        return error
    return ApplicationError(f"{what}: {reason}", type="Refused", non_retryable=True)


__all__ = ["Continued", "HistoryBudget", "PartnershipWorkflow"]

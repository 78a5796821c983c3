"""The Partnership workflow: one mentoring partnership, from application to closing review.

Signals, updates and timers become commands; the domain decides; an activity records the events
(and their notifications, in the same transaction); then the state is published: the ``status`` query,
search attributes and the current details in the Temporal UI. Nothing else happens here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.models import (
        ApplicationFacts,
        AttendanceFacts,
        Delivered,
        DeliverNotifications,
        Recorded,
        RecordEvents,
        RegisterApplication,
        VerifyAttendance,
    )
    from domain.errors import DomainRejection, from_payload, problems
    from domain.partnership import PartnershipState, decide, fold, initial_state, next_due, rejection_event
    from domain.partnership import commands as c
    from domain.partnership.events import Event
    from workflows.budget import HistoryBudget
    from workflows.contract import SIGNAL_COMMANDS, Application, PartnershipStatus
    from workflows.status import describe, search_attribute_updates, waiting_for
    from workflows.waiting import arrived_before

SKIP_REPEATS = "skip-repeated-rejections"
"""Patch: a rejection identical to the last one recorded is not recorded again (histories before it did)."""
CONTINUE_AS_NEW = "continue-as-new-on-history-budget"
"""Patch: a partnership continues as new before its history grows large (histories before it never did)."""
VERIFY_GATHERINGS = "verify-gathering-attendance"
"""Patch: ``gathering_attended`` is checked against the Gathering's record (histories before it took the caller's)."""
PUBLISH_CHANGED_ONLY = "publish-changed-search-attributes"
"""Patch: upsert only the search attributes that changed (histories from before it upsert all of them)."""
RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
"""Records are never dropped: record-keeping retries until the database is back."""
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=5
)
"""Delivery gives up after a few tries; the messages stay in the outbox for the next delivery."""


class Continued(BaseModel):
    """The second argument of a continued run: the state it carries over (None: a fresh start)."""

    state: PartnershipState | None = None
    published: dict[str, Any] = {}
    budget: HistoryBudget = HistoryBudget()


@dataclass
class _Pending:
    """A signal or update waiting its turn. ``invalid`` says why its payload did not validate."""

    source: str
    command: c.Command | None
    invalid: str | None = None
    update: bool = False
    done: bool = False
    rejected: str | None = None
    result: PartnershipStatus | None = field(default=None)


@workflow.defn(name="Partnership")
class PartnershipWorkflow:
    @workflow.init
    def __init__(self, application: Application, continued: Continued | None = None) -> None:
        # The SDK decodes by the type hints only when every argument is given: a fresh start (one argument)
        # arrives as plain JSON, so it is validated here (the application in ``run``, where a refusal fails it).
        continued = _continued(continued)
        self._state: PartnershipState = initial_state(workflow.info().workflow_id)
        self._inbox: deque[_Pending] = deque()
        self._published: dict[str, Any] = {}
        """Search attribute values as last upserted (by name; None when unset)."""
        self._budget = continued.budget if continued is not None else HistoryBudget()
        self._repeated_rejections = 0
        if continued is not None and continued.state is not None:
            self._state = continued.state
            self._published = dict(continued.published)

    @workflow.run
    async def run(self, application: Application, continued: Continued | None = None) -> PartnershipStatus:
        application, continued = _application(application), _continued(continued)
        if continued is None or continued.state is None:
            await self._start(application)

        while not self._state.is_terminal:
            if self._history_full():
                await self._continue_as_new(application)
            if await self._something_arrived():
                await self._process(self._inbox.popleft())
            else:
                await self._apply(c.Tick(), "timer")

        # Let late updates see their answer, and signals that arrived on the way out be recorded as rejected.
        while self._inbox:
            await self._process(self._inbox.popleft())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _start(self, application: Application) -> None:
        try:
            facts = await workflow.execute_activity(
                "register_application",
                RegisterApplication(
                    partnership_id=self._state.partnership_id,
                    cohort_id=application.cohort_id,
                    mentee_id=application.mentee_id,
                    institution_id=application.institution_id,
                    contact=application.contact,
                ),
                result_type=ApplicationFacts,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary="register application",
            )
        except ActivityError as error:
            # Refused for good (the id was used before, the person was erased): the run ends with the reason.
            raise _refused("application refused", error) from None
        await self._apply(
            c.SubmitApplication(
                cohort_id=application.cohort_id,
                mentee=application.mentee_profile(),
                policy=application.resolved_policy(),
            ),
            "application",
        )
        await self._apply(c.ScreenApplication(institution=facts.institution), "screening")

    # ------------------------------------------------------------------------------------------- history budget

    def _history_full(self) -> bool:
        """Time to continue as new: Temporal suggests it, or the history reached this run's budget (below
        Temporal's own suggestion, far below its limits of 51,200 events and 50 MB)."""
        return self._budget.spent() and workflow.patched(CONTINUE_AS_NEW)

    async def _continue_as_new(self, application: Application) -> None:
        """Finish what has arrived (every signal and update answered, every handler done), then continue as
        new with the state: the next run starts from it, its timers computed from it as before."""
        while self._inbox or not workflow.all_handlers_finished():
            if self._inbox:
                await self._process(self._inbox.popleft())
            else:
                await workflow.wait_condition(lambda: bool(self._inbox) or workflow.all_handlers_finished())
        workflow.logger.info("continuing as new", extra={"version": self._state.version})
        workflow.continue_as_new(
            args=[application, Continued(state=self._state, published=self._published, budget=self._budget)]
        )

    # ------------------------------------------------------------------------------------------- the loop

    async def _something_arrived(self) -> bool:
        """Wait for a signal or update (True), or until the next timer is due (False)."""
        due = next_due(self._state)
        return await arrived_before(
            due.at if due else None, lambda: bool(self._inbox), due.waiting_for if due else None
        )

    async def _process(self, pending: _Pending) -> None:
        if isinstance(pending.command, c.RecordGathering) and workflow.patched(VERIFY_GATHERINGS):
            pending.command, pending.invalid = await self._verified(pending.command)
        try:
            pending.rejected = await self._apply(pending.command, pending.source, invalid=pending.invalid)
        finally:
            pending.result = self.status()
            pending.done = True

    async def _apply(self, command: c.Command | None, source: str, invalid: str | None = None) -> str | None:
        """Decide, record, publish. A rejection is recorded too, so the status can say why; it is returned."""
        now = workflow.now()
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
                return rejected  # nothing changes: no record, no activity (a flood of one bad signal is cheap)
            events = [rejection_event(source, rejected, now)]
        if not events:
            return None
        try:
            recorded = await workflow.execute_activity(
                "record_events",
                RecordEvents(
                    partnership_id=self._state.partnership_id, expected_version=self._state.version, events=events
                ),
                result_type=Recorded,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary=f"record {', '.join(ev.type for ev in events)}",
            )
        except ActivityError as error:
            # The records refused the events for good (not retried for ever): what someone sent is rejected
            # and that is recorded; anything else (a timer's events, or the rejection itself) ends the run.
            if rejected is None and source in SIGNAL_COMMANDS and _permanent(error) is not None:
                return await self._apply(None, source, invalid=f"the records refused {source}: {_permanent(error)}")
            raise _refused(f"the records refused {source}", error) from None
        self._state = fold(self._state, events)
        self._publish()
        if recorded.outbox_keys:
            await self._deliver()
        return rejected

    async def _verified(self, command: c.RecordGathering) -> tuple[c.Command | None, str | None]:
        """The gathering as its record has it (kind, hours), or why it does not count. Only a command the
        domain would take costs the look-up; any other is rejected by the domain as before."""
        try:
            decide(self._state, command, workflow.now())
        except DomainRejection:
            return command, None
        facts = await workflow.execute_activity(
            "verify_gathering_attendance",
            VerifyAttendance(
                partnership_id=self._state.partnership_id,
                cohort_id=self._state.cohort_id or "",
                gathering_id=command.gathering_id,
            ),
            result_type=AttendanceFacts,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"check gathering {command.gathering_id}",
        )
        if facts.refused is not None or facts.kind is None or facts.hours is None:
            return None, facts.refused or "the gathering's record does not say"
        return c.RecordGathering(gathering_id=command.gathering_id, kind=facts.kind, hours=facts.hours), None

    def _repeats_last_rejection(self, source: str, reason: str) -> bool:
        """The same command rejected for the same reason as the last rejection recorded: the status would say
        the same; it is counted (``repeated_rejections`` in the current details), not recorded again."""
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
            await workflow.execute_activity(
                "deliver_notifications",
                DeliverNotifications(partnership_id=self._state.partnership_id),
                result_type=Delivered,
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

    def _signal(self, name: str, raw: RawValue) -> None:
        """Signals take the raw payload, so that even one that is not JSON is rejected and recorded, not dropped."""
        try:
            payload = workflow.payload_converter().from_payload(raw.payload)
        except Exception:
            self._inbox.append(_Pending(source=name, command=None, invalid=f"{name} takes one JSON object"))
            return
        try:
            self._inbox.append(_Pending(source=name, command=_command(name, payload)))
        except ValueError as error:
            # A malformed signal is still something someone sent: rejected through the loop, and recorded.
            self._inbox.append(_Pending(source=name, command=None, invalid=str(error)))

    async def _update(self, name: str, payload: Any) -> PartnershipStatus:
        pending = _Pending(source=name, command=_command(name, payload), update=True)
        self._inbox.append(pending)
        await workflow.wait_condition(lambda: pending.done)
        if pending.rejected:
            raise ApplicationError(pending.rejected, type="DomainRejection", non_retryable=True)
        assert pending.result is not None
        return pending.result

    def _validate(self, name: str, payload: Any) -> None:
        """Update validators: a rejection here leaves no trace in the history."""
        command = _command(name, payload)
        if self._state.stage is None:
            raise DomainRejection("the application is still being registered; try again in a moment")
        decide(self._state, command, workflow.now())

    @workflow.signal(name="match_proposed")
    def match_proposed(self, payload: RawValue) -> None:
        self._signal("match_proposed", payload)

    @workflow.signal(name="sign_agreement")
    def sign_agreement(self, payload: RawValue) -> None:
        self._signal("sign_agreement", payload)

    @workflow.signal(name="log_meeting")
    def log_meeting(self, payload: RawValue) -> None:
        self._signal("log_meeting", payload)

    @workflow.signal(name="add_diary_entry")
    def add_diary_entry(self, payload: RawValue) -> None:
        self._signal("add_diary_entry", payload)

    @workflow.signal(name="gathering_attended")
    def gathering_attended(self, payload: RawValue) -> None:
        self._signal("gathering_attended", payload)

    @workflow.signal(name="coordinator_action")
    def coordinator_action(self, payload: RawValue) -> None:
        self._signal("coordinator_action", payload)

    @workflow.signal(name="withdraw")
    def withdraw(self, payload: RawValue) -> None:
        self._signal("withdraw", payload)

    @workflow.signal(name="submit_closing_review")
    def submit_closing_review(self, payload: RawValue) -> None:
        self._signal("submit_closing_review", payload)

    @workflow.update(name="match_proposed")
    async def match_proposed_update(self, payload: dict[str, Any]) -> PartnershipStatus:
        return await self._update("match_proposed", payload)

    @match_proposed_update.validator
    def _v_match_proposed(self, payload: dict[str, Any]) -> None:
        self._validate("match_proposed", payload)

    @workflow.update(name="sign_agreement")
    async def sign_agreement_update(self, payload: dict[str, Any]) -> PartnershipStatus:
        return await self._update("sign_agreement", payload)

    @sign_agreement_update.validator
    def _v_sign_agreement(self, payload: dict[str, Any]) -> None:
        self._validate("sign_agreement", payload)

    @workflow.update(name="log_meeting")
    async def log_meeting_update(self, payload: dict[str, Any]) -> PartnershipStatus:
        return await self._update("log_meeting", payload)

    @log_meeting_update.validator
    def _v_log_meeting(self, payload: dict[str, Any]) -> None:
        self._validate("log_meeting", payload)

    @workflow.update(name="add_diary_entry")
    async def add_diary_entry_update(self, payload: dict[str, Any]) -> PartnershipStatus:
        return await self._update("add_diary_entry", payload)

    @add_diary_entry_update.validator
    def _v_add_diary_entry(self, payload: dict[str, Any]) -> None:
        self._validate("add_diary_entry", payload)

    @workflow.update(name="gathering_attended")
    async def gathering_attended_update(self, payload: dict[str, Any]) -> PartnershipStatus:
        return await self._update("gathering_attended", payload)

    @gathering_attended_update.validator
    def _v_gathering_attended(self, payload: dict[str, Any]) -> None:
        self._validate("gathering_attended", payload)

    @workflow.update(name="coordinator_action")
    async def coordinator_action_update(self, payload: dict[str, Any]) -> PartnershipStatus:
        return await self._update("coordinator_action", payload)

    @coordinator_action_update.validator
    def _v_coordinator_action(self, payload: dict[str, Any]) -> None:
        self._validate("coordinator_action", payload)

    @workflow.update(name="withdraw")
    async def withdraw_update(self, payload: dict[str, Any]) -> PartnershipStatus:
        return await self._update("withdraw", payload)

    @withdraw_update.validator
    def _v_withdraw(self, payload: dict[str, Any]) -> None:
        self._validate("withdraw", payload)

    @workflow.update(name="submit_closing_review")
    async def submit_closing_review_update(self, payload: dict[str, Any]) -> PartnershipStatus:
        return await self._update("submit_closing_review", payload)

    @submit_closing_review_update.validator
    def _v_submit_closing_review(self, payload: dict[str, Any]) -> None:
        self._validate("submit_closing_review", payload)

    @workflow.query(name="status")
    def status(self) -> PartnershipStatus:
        return describe(self._state)


def _application(application: Any) -> Application:
    """The start input as an Application; a bad one ends the run with the problems (never the values)."""
    if isinstance(application, Application):
        return application
    try:
        return Application.model_validate(application)
    except ValidationError as error:
        message = f"invalid application: {problems(error)}"
        raise ApplicationError(message, type="InvalidApplication", non_retryable=True) from None


def _continued(continued: Any) -> Continued | None:
    if continued is None or isinstance(continued, Continued):
        return continued
    return Continued.model_validate(continued)


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


def _command(name: str, payload: Any) -> c.Command:
    """The domain command a signal or update carries; ValueError with a readable reason when malformed."""
    return from_payload(SIGNAL_COMMANDS[name], name, payload)  # type: ignore[return-value]


__all__ = ["Continued", "HistoryBudget", "PartnershipWorkflow"]

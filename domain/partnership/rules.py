"""The lifecycle rules: ``decide(state, command, now) -> events`` and ``evolve(state, event) -> state``.

``decide`` never changes anything: it answers with the events a command causes, or raises
:class:`~domain.errors.DomainRejection` with a message that says why not. ``evolve`` applies one event;
``fold`` replays a log. ``next_due`` says which timer the partnership waits on, so the caller can sleep
until then and send :class:`Tick`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import singledispatch

from domain import limits
from domain.errors import DomainRejection
from domain.frozen import Frozen
from domain.partnership import commands as c
from domain.partnership import events as e
from domain.partnership.attention import record as attention_history
from domain.partnership.state import (
    MATCHED_STAGES,
    TERMINAL_STAGES,
    Agreement,
    Attention,
    CheckinAnswer,
    CheckinRound,
    Clock,
    DayCount,
    LapseLevel,
    PartnershipState,
    Pause,
    Rejection,
    Review,
    ReviewWindow,
    Signature,
    Stage,
    missing,
)

ACCEPTED_STAGES = frozenset(
    {Stage.AWAITING_MATCH, Stage.AWAITING_SIGNATURES, Stage.ACTIVE, Stage.PAUSED, Stage.CLOSING_REVIEW}
)
COHORT_WAIT = "a match (else check that the cohort runs)"
"""What a partnership waits for while awaiting a match, as its timer says."""
MEETING_CLOCK_SKEW = timedelta(days=1)
"""A meeting may be logged as held up to this far ahead of ``now`` (time zones, clock drift)."""


class Due(Frozen):
    """The next timer: when it fires and what it waits for, in words for the Temporal UI."""

    at: datetime
    waiting_for: str


def initial_state(partnership_id: str) -> PartnershipState:
    return PartnershipState(partnership_id=partnership_id)


# ---------------------------------------------------------------------------------------------- decide


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _count_on(counted: DayCount | None, at: datetime) -> DayCount:
    """``counted`` with one more on the day of ``at`` (a new day starts again from one)."""
    day = _day(at)
    return DayCount(day=day, count=counted.count + 1 if counted and counted.day == day else 1)


def _within_day(counted: DayCount | None, now: datetime, most: int, what: str, limit: str) -> None:
    if counted is not None and counted.day == _day(now) and counted.count >= most:
        raise DomainRejection(f"at most {most} {what} a day (limit {limit}); try again tomorrow (UTC)")


def decide(state: PartnershipState, command: c.Command, now: datetime) -> list[e.Event]:
    """The events ``command`` causes at ``now``; raises DomainRejection when it makes no sense."""
    if state.stage is None and not isinstance(command, c.SubmitApplication | c.RejectMalformedApplication):
        raise DomainRejection("no application has been submitted for this partnership yet")
    if state.is_terminal and not isinstance(command, c.Tick):
        raise DomainRejection(f"the partnership has ended ({state.stage}); nothing more can be done")
    return _decide(command, state, now)


@singledispatch
def _decide(command: c.Command, state: PartnershipState, now: datetime) -> list[e.Event]:
    raise DomainRejection(f"unknown command {type(command).__name__}")


@_decide.register
def _(command: c.SubmitApplication, state: PartnershipState, now: datetime) -> list[e.Event]:
    if state.stage is not None:
        raise DomainRejection("an application has already been submitted for this partnership")
    return [
        e.ApplicationSubmitted(
            at=now,
            partnership_id=state.partnership_id,
            cohort_id=command.cohort_id,
            mentee=command.mentee,
            policy=command.policy,
        )
    ]


@_decide.register
def _(command: c.RejectMalformedApplication, state: PartnershipState, now: datetime) -> list[e.Event]:
    if state.stage is not None:
        raise DomainRejection("an application has already been submitted for this partnership")
    return [e.ApplicationRejected(at=now, reasons=(command.reason,))]


@_decide.register
def _(command: c.ScreenApplication, state: PartnershipState, now: datetime) -> list[e.Event]:
    _require_stage(state, "screen the application", Stage.APPLIED)
    assert state.mentee is not None
    reasons = screening_problems(state, command)
    if reasons:
        return [e.ApplicationRejected(at=now, reasons=tuple(reasons))]
    return [e.ApplicationAccepted(at=now)]


def screening_problems(state: PartnershipState, command: c.ScreenApplication) -> list[str]:
    """Why an application cannot be taken, in words; empty when it can."""
    assert state.mentee is not None
    problems = []
    if state.mentee.degree_level not in state.policy.eligible_degree_levels:
        allowed = ", ".join(state.policy.eligible_degree_levels)
        problems.append(f"degree level {state.mentee.degree_level} is not eligible (eligible: {allowed})")
    institution = command.institution
    if institution is None:
        problems.append(f"institution {state.mentee.institution_id} is not registered")
    elif institution.institution_id != state.mentee.institution_id:
        problems.append("screened against the wrong institution")
    elif not institution.partner:
        problems.append(f"institution {institution.institution_id} is not a partner of the programme")
    return problems


@_decide.register
def _(command: c.ProposeMatch, state: PartnershipState, now: datetime) -> list[e.Event]:
    _require_stage(state, "propose a match", Stage.AWAITING_MATCH)
    assert state.mentee is not None
    if command.mentor_id in state.previous_mentor_ids:
        raise DomainRejection(f"mentor {command.mentor_id} was already matched with this mentee before")
    if command.score is not None and not math.isfinite(command.score):
        raise DomainRejection(f"the match score must be a finite number, not {command.score}")
    topics = state.mentee.goals or state.mentee.interests or (state.mentee.field,)
    return [
        e.MatchProposed(
            at=now,
            mentor_id=command.mentor_id,
            score=command.score,
            reasons=command.reasons,
            topics=topics,
            meeting_cadence=state.policy.meeting_cadence,
            signing_due=now + state.policy.signing_deadline,
        )
    ]


@_decide.register
def _(command: c.SignAgreement, state: PartnershipState, now: datetime) -> list[e.Event]:
    _require_stage(state, "sign the agreement", Stage.AWAITING_SIGNATURES)
    _require_mentor_present(state)
    agreement = state.agreement
    assert agreement is not None
    events: list[e.Event] = []
    topics = command.topics if command.topics is not None else agreement.topics
    cadence = (
        timedelta(days=command.meeting_cadence_days)
        if command.meeting_cadence_days is not None
        else agreement.meeting_cadence
    )
    if not topics:
        raise DomainRejection("the agreement needs at least one topic")
    signatures = dict(agreement.signatures)
    if (topics, cadence) != (agreement.topics, agreement.meeting_cadence):
        events.append(e.AgreementAmended(at=now, party=command.party, topics=topics, meeting_cadence=cadence))
        signatures = {}
    elif command.party in signatures:
        raise DomainRejection(f"the {command.party} has already signed the agreement")
    events.append(e.AgreementSigned(at=now, party=command.party, signature_ref=command.signature_ref))
    signatures[command.party] = Signature(signed_at=now)
    if not missing(signatures):
        events.append(
            e.PartnershipStarted(
                at=now,
                starts_on=now,
                ends_on=now + state.policy.programme_length,
                next_meeting_due=now + cadence,
                first_checkin_due=now + state.policy.checkin_first if state.policy.checkin_first else None,
            )
        )
    return events


@_decide.register
def _(command: c.LogMeeting, state: PartnershipState, now: datetime) -> list[e.Event]:
    if state.stage == Stage.PAUSED:
        raise DomainRejection("the partnership is paused; a coordinator must resume it before meetings count")
    _require_stage(state, "log a pair meeting", Stage.ACTIVE, Stage.CLOSING_REVIEW)
    _require_mentor_present(state)
    _within_day(state.meetings_today, now, limits.MEETINGS_PER_DAY, "meetings", "MEETINGS_PER_DAY")
    agreement = state.agreement
    assert agreement is not None and agreement.starts_on is not None
    held_on = command.held_on or now
    if held_on.tzinfo is None:
        raise DomainRejection("held_on needs a time zone (for example 2026-03-01T10:00:00+02:00)")
    if held_on > now + MEETING_CLOCK_SKEW:
        raise DomainRejection("a meeting cannot be logged before it is held")
    if held_on < agreement.starts_on - MEETING_CLOCK_SKEW:
        raise DomainRejection("the meeting was held before the agreement was signed")
    if state.stage == Stage.CLOSING_REVIEW and agreement.ends_on and held_on > agreement.ends_on:
        raise DomainRejection("the programme has ended; only meetings held before its end can be logged")
    latest = max(held_on, state.last_meeting_at) if state.last_meeting_at else held_on
    next_due = latest + agreement.meeting_cadence if state.stage == Stage.ACTIVE else None
    return [
        e.MeetingLogged(
            at=now,
            held_on=held_on,
            minutes=command.minutes,
            topics=command.topics,
            notes=command.notes,
            next_meeting_due=next_due,
        )
    ]


@_decide.register
def _(command: c.AddDiaryEntry, state: PartnershipState, now: datetime) -> list[e.Event]:
    _require_stage(state, "add a learning diary entry", *ACCEPTED_STAGES)
    _within_day(state.diary_today, now, limits.DIARY_ENTRIES_PER_DAY, "diary entries", "DIARY_ENTRIES_PER_DAY")
    return [e.DiaryEntryAdded(at=now, reflection=command.reflection, goals=command.goals, actions=command.actions)]


@_decide.register
def _(command: c.RecordGathering, state: PartnershipState, now: datetime) -> list[e.Event]:
    _require_stage(state, "record gathering attendance", *ACCEPTED_STAGES)
    if command.gathering_id in state.attended_gathering_ids:
        raise DomainRejection(f"attendance at gathering {command.gathering_id} is already recorded")
    return [e.GatheringAttended(at=now, gathering_id=command.gathering_id, kind=command.kind, hours=command.hours)]


@_decide.register
def _(command: c.Withdraw, state: PartnershipState, now: datetime) -> list[e.Event]:
    if command.party == c.Party.MENTEE:
        _require_stage(state, "withdraw", Stage.APPLIED, *ACCEPTED_STAGES)
        return [
            e.PartyWithdrew(
                at=now, party=command.party, reason=command.reason, summary=state.summarise(Stage.WITHDRAWN)
            )
        ]
    _require_stage(state, "withdraw the mentor", *MATCHED_STAGES)
    if state.mentor_withdrawn:
        raise DomainRejection("the mentor has already withdrawn; a coordinator must rematch or end the partnership")
    return [e.PartyWithdrew(at=now, party=command.party, reason=command.reason)]


@_decide.register
def _(command: c.SubmitClosingReview, state: PartnershipState, now: datetime) -> list[e.Event]:
    _require_stage(state, "submit the closing review", Stage.CLOSING_REVIEW)
    if command.party in state.reviews:
        raise DomainRejection(f"the {command.party} has already submitted the closing review")
    if command.outcome is not None and command.party != c.Party.MENTEE:
        raise DomainRejection("only the mentee reports the mentee's outcome")
    submitted = e.ClosingReviewSubmitted(
        at=now, party=command.party, rating=command.rating, outcome=command.outcome, comments=command.comments
    )
    events: list[e.Event] = [submitted]
    after = evolve(state, submitted)
    if not after.reviews_missing:
        events.append(e.PartnershipCompleted(at=now, closed_by="parties", summary=after.summarise(Stage.COMPLETED)))
    return events


@_decide.register
def _(command: c.AnswerCheckin, state: PartnershipState, now: datetime) -> list[e.Event]:
    _require_stage(state, "answer the check-in", Stage.ACTIVE, Stage.PAUSED, Stage.CLOSING_REVIEW)
    if command.party == c.Party.MENTOR:
        _require_mentor_present(state)
    if not state.checkins:
        if state.next_checkin_due is None:
            raise DomainRejection("this partnership has no check-ins")
        raise DomainRejection(f"no check-in has been asked yet; the first is due {state.next_checkin_due.isoformat()}")
    latest = state.checkins[-1]
    if command.round is not None and command.round != latest.round:
        raise DomainRejection(f"check-in {command.round} is not the open one; answer check-in {latest.round}")
    if command.party in latest.answers:
        raise DomainRejection(f"the {command.party} has already answered check-in {latest.round}")
    answer = CheckinAnswer(score=command.score, meeting_as_planned=command.meeting_as_planned, answered_at=now)
    return [
        e.CheckinAnswered(
            at=now,
            round=latest.round,
            party=command.party,
            score=command.score,
            meeting_as_planned=command.meeting_as_planned,
            low=answer.low,
            note=command.note,
        )
    ]


@_decide.register
def _(command: c.CoordinatorAction, state: PartnershipState, now: datetime) -> list[e.Event]:
    action = command.action
    A = c.CoordinatorActionKind
    if action == A.NUDGE:
        _require_stage(state, "nudge the pair", Stage.AWAITING_SIGNATURES, Stage.ACTIVE, Stage.CLOSING_REVIEW)
        _require_mentor_present(state)
        return [e.CoordinatorIntervened(at=now, action=action, reason=command.reason)]
    if action == A.RESCHEDULE:
        _require_stage(state, "reschedule the next meeting", Stage.ACTIVE)
        _require_mentor_present(state)
        until = _require_future(command.until, now, "reschedule")
        agreement = state.agreement
        assert agreement is not None and agreement.ends_on is not None
        if until > agreement.ends_on:
            raise DomainRejection("the next meeting cannot be after the end of the programme; extend it first")
        return [e.MeetingRescheduled(at=now, reason=command.reason, next_meeting_due=until)]
    if action == A.PAUSE:
        _require_stage(state, "pause the partnership", Stage.ACTIVE)
        pause_until = _require_future(command.until, now, "pause") if command.until else None
        return [e.PartnershipPaused(at=now, reason=command.reason, until=pause_until)]
    if action == A.RESUME:
        _require_stage(state, "resume the partnership", Stage.PAUSED)
        return [_resume(state, now, command.reason)]
    if action == A.EXTEND:
        _require_stage(state, "extend the partnership", Stage.ACTIVE, Stage.PAUSED)
        until = _require_future(command.until, now, "extend")
        agreement = state.agreement
        assert agreement is not None and agreement.ends_on is not None
        if until <= agreement.ends_on:
            raise DomainRejection(f"extend needs a date after the current end ({agreement.ends_on.isoformat()})")
        return [e.PartnershipExtended(at=now, reason=command.reason, ends_on=until)]
    if action == A.REMATCH:
        _require_stage(state, "rematch", *MATCHED_STAGES)
        assert state.mentor_id is not None
        return [e.RematchRequested(at=now, reason=command.reason, previous_mentor_id=state.mentor_id)]
    if action == A.END_EARLY:
        _require_stage(state, "end the partnership early", *ACCEPTED_STAGES)
        return [e.PartnershipEndedEarly(at=now, reason=command.reason, summary=state.summarise(Stage.ENDED_EARLY))]
    if action == A.ACKNOWLEDGE:
        return [_acknowledge(state, now, command.reason)]
    if action == A.CLOSE_REVIEW:
        _require_stage(state, "close the review", Stage.CLOSING_REVIEW)
        return [
            e.PartnershipCompleted(
                at=now,
                closed_by="coordinator",
                reason=command.reason,
                summary=state.summarise(Stage.COMPLETED),
            )
        ]
    raise DomainRejection(f"unknown coordinator action {action}")  # pragma: no cover - enum is closed


def _acknowledge(state: PartnershipState, now: datetime, reason: str) -> e.Event:
    attention = state.attention
    if attention is None:
        raise DomainRejection("nothing needs a coordinator's attention")
    if attention == Attention.MENTOR_WITHDREW:
        raise DomainRejection("a mentor's withdrawal is resolved by rematch or end_early, not acknowledged")
    policy = state.policy
    if attention == Attention.SIGNATURE_OVERDUE:
        rearmed = now + (policy.signing_deadline - policy.signing_reminder)
    elif attention == Attention.REVIEW_OVERDUE:
        rearmed = now + (policy.review_window - policy.review_reminder)
    else:
        rearmed = now
    return e.AttentionAcknowledged(at=now, attention=attention, reason=reason, rearmed_until=rearmed)


def _resume(
    state: PartnershipState, now: datetime, reason: str, resumed_at: datetime | None = None
) -> e.PartnershipResumed:
    """Resume; the pause lasted until ``resumed_at`` (a timed pause ends when it said, even if the timer is late)."""
    agreement, pause = state.agreement, state.pause
    assert pause is not None and agreement is not None and agreement.ends_on is not None
    paused_for = max((resumed_at or now) - pause.at, timedelta(0))
    next_due = (state.next_meeting_due or now) + paused_for
    return e.PartnershipResumed(
        at=now,
        reason=reason,
        paused_for=paused_for,
        ends_on=agreement.ends_on + paused_for,
        next_meeting_due=next_due,
    )


@_decide.register
def _(command: c.Tick, state: PartnershipState, now: datetime) -> list[e.Event]:
    events: list[e.Event] = []
    current = state
    while (due := next_due(current)) is not None and due.at <= now:
        event = _due_event(current, due.at, now, command.cohort_running)
        events.append(event)
        current = evolve(current, event)
    return events


def _due_event(state: PartnershipState, due_at: datetime, now: datetime, cohort_running: bool | None) -> e.Event:
    """The event a timer that fell due at ``due_at`` causes."""
    policy = state.policy
    if state.stage == Stage.AWAITING_MATCH:
        if cohort_running is None:
            raise DomainRejection("the cohort wait is due: say whether the cohort's workflow runs")
        return e.CohortChecked(at=now, running=cohort_running)
    if state.stage == Stage.AWAITING_SIGNATURES:
        if not state.signing_clock.reminded:
            return e.SigningReminderDue(at=now, parties=state.unsigned)
        return e.SignatureOverdue(at=now, parties=state.unsigned)
    if state.stage == Stage.ACTIVE:
        agreement = state.agreement
        assert agreement is not None and agreement.ends_on is not None
        if due_at == agreement.ends_on:
            return e.ProgrammeEnded(at=now, review_due=agreement.ends_on + policy.review_window)
        assert state.next_meeting_due is not None
        checkin = _checkin_due(state)
        if checkin is not None and checkin.at == due_at and due_at < _meeting_due(state).at:
            return _checkin_event(state, now)
        if state.lapse == LapseLevel.ON_TRACK:
            return e.MeetingNudgeDue(at=now, meeting_was_due=state.next_meeting_due)
        return e.MeetingLapsed(at=now, meeting_was_due=state.next_meeting_due)
    if state.stage == Stage.PAUSED and state.pause is not None:
        return _resume(state, now, "the pause ended", resumed_at=state.pause.until)
    if state.stage == Stage.CLOSING_REVIEW:
        if not state.review_clock.reminded:
            return e.ReviewReminderDue(at=now, parties=state.reviews_missing)
        return e.ReviewOverdue(at=now, parties=state.reviews_missing)
    raise AssertionError(f"no timer in stage {state.stage}")  # pragma: no cover - next_due guards


def next_due(state: PartnershipState) -> Due | None:
    """The next moment a timer must fire for this partnership, or None when it waits on people alone."""
    policy = state.policy
    agreement = state.agreement
    if state.stage == Stage.AWAITING_MATCH:
        if policy.cohort_wait is None or state.awaiting_match_since is None or state.cohort_checked:
            return None
        return Due(at=state.awaiting_match_since + policy.cohort_wait, waiting_for=COHORT_WAIT)
    if state.stage == Stage.AWAITING_SIGNATURES and not state.mentor_withdrawn:
        assert agreement is not None and state.matched_at is not None
        if not state.signing_clock.reminded:
            return Due(at=state.matched_at + policy.signing_reminder, waiting_for="signatures (reminder)")
        if not state.signing_clock.overdue:
            return Due(at=agreement.signing_due, waiting_for="signatures")
        return None
    if state.stage == Stage.ACTIVE and not state.mentor_withdrawn:
        assert agreement is not None and agreement.ends_on is not None and state.next_meeting_due is not None
        candidates = [Due(at=agreement.ends_on, waiting_for="end of programme")]
        if state.lapse != LapseLevel.ESCALATED:
            candidates.append(_meeting_due(state))
        if (checkin := _checkin_due(state)) is not None:
            candidates.append(checkin)  # last: at the same moment, the end of programme and the meeting go first
        return min(candidates, key=lambda d: d.at)
    if state.stage == Stage.PAUSED and state.pause is not None and state.pause.until is not None:
        return Due(at=state.pause.until, waiting_for="end of pause")
    if state.stage == Stage.CLOSING_REVIEW and (window := state.review_window) is not None:
        if not state.review_clock.reminded:
            return Due(at=window.opened_at + policy.review_reminder, waiting_for="closing reviews (reminder)")
        if not state.review_clock.overdue:
            return Due(at=window.due, waiting_for="closing reviews")
    return None


def _meeting_due(state: PartnershipState) -> Due:
    """The meeting clock's next timer while ACTIVE (the nudge, then the escalation; never once escalated)."""
    assert state.next_meeting_due is not None
    if state.lapse == LapseLevel.ON_TRACK:
        return Due(at=state.next_meeting_due + state.policy.lapse_grace, waiting_for="a pair meeting")
    if state.lapse == LapseLevel.NUDGED:
        return Due(at=state.next_meeting_due + state.policy.escalation_after, waiting_for="a pair meeting (nudged)")
    return Due(at=datetime.max.replace(tzinfo=UTC), waiting_for="a coordinator (meetings lapsed)")


def _checkin_due(state: PartnershipState) -> Due | None:
    """The check-in clock's next timer: the open round's window, else the next round (None: no check-ins)."""
    latest = state.checkins[-1] if state.checkins else None
    next_round = state.next_checkin_due
    if latest is not None and latest.open and (next_round is None or latest.due <= next_round):
        return Due(at=latest.due, waiting_for=f"check-in {latest.round} answers")
    if state.next_checkin_due is not None:
        return Due(at=state.next_checkin_due, waiting_for=f"check-in {len(state.checkins) + 1}")
    return None


def _checkin_event(state: PartnershipState, now: datetime) -> e.Event:
    """What the check-in clock's timer causes: nudge the parties who did not answer, or ask the next round."""
    latest = state.checkins[-1] if state.checkins else None
    due = _checkin_due(state)
    assert due is not None
    if latest is not None and latest.open and due.at == latest.due:
        return e.CheckinNudgeDue(at=now, round=latest.round, parties=latest.unanswered)
    return e.CheckinRequested(at=now, round=len(state.checkins) + 1, due=now + state.policy.checkin_window)


def _require_stage(state: PartnershipState, what: str, *stages: Stage) -> None:
    if state.stage not in stages:
        allowed = ", ".join(stage for stage in Stage if stage in stages)
        raise DomainRejection(f"cannot {what} while the partnership is {state.stage}; only in {allowed}")


def _require_mentor_present(state: PartnershipState) -> None:
    if state.mentor_withdrawn:
        raise DomainRejection("the mentor has withdrawn; a coordinator must rematch or end the partnership")


def _require_future(until: datetime | None, now: datetime, action: str) -> datetime:
    if until is None:
        raise DomainRejection(f"{action} needs a date (until)")
    if until.tzinfo is None:
        raise DomainRejection("until needs a time zone (for example 2026-05-01T00:00:00+03:00)")
    if until <= now:
        raise DomainRejection(f"{action} needs a date in the future")
    return until


def rejection_event(command: str, reason: str, now: datetime) -> e.CommandRejected:
    """The record of a signal that was rejected (by name: a malformed one has no command): kept so the
    status can say why."""
    return e.CommandRejected(at=now, command=command, reason=reason)


# ---------------------------------------------------------------------------------------------- evolve


def evolve(state: PartnershipState, event: e.Event) -> PartnershipState:
    """The state after ``event``. Pure; the version moves by one for every event.

    Each rule names the fields it changes; :meth:`~domain.frozen.Frozen.replace` builds the new state through
    the model's constructor, so a misspelled or unknown field fails instead of being dropped. An event that
    changes the attention also writes it down in the attention history (:mod:`domain.partnership.attention`).
    """
    changes = _evolve(event, state)
    if "attention" in changes and changes["attention"] != state.attention:
        attention = changes["attention"]
        assert attention is None or isinstance(attention, Attention)
        changes["attention_history"] = attention_history(state, event, attention)
    return state.replace(**changes, version=state.version + 1)


def fold(state: PartnershipState, events: Iterable[e.Event]) -> PartnershipState:
    for event in events:
        state = evolve(state, event)
    return state


Changes = dict[str, object]
"""The fields an event changes, by name (checked by ``replace``)."""


def _back_on_track(state: PartnershipState) -> Changes:
    """The meeting clock starts again: no nudge pending, and a lapse the coordinator was told of is over."""
    attention = None if state.attention == Attention.MEETING_LAPSED else state.attention
    return {"lapse": LapseLevel.ON_TRACK, "attention": attention}


@singledispatch
def _evolve(event: e.Event, state: PartnershipState) -> Changes:
    raise TypeError(f"no evolve rule for {type(event).__name__}")


@_evolve.register
def _(event: e.ApplicationSubmitted, state: PartnershipState) -> Changes:
    return {
        "stage": Stage.APPLIED,
        "cohort_id": event.cohort_id,
        "mentee": event.mentee,
        "policy": event.policy,
    }


@_evolve.register
def _(event: e.ApplicationAccepted, state: PartnershipState) -> Changes:
    return {"stage": Stage.AWAITING_MATCH, "awaiting_match_since": event.at, "cohort_checked": False}


@_evolve.register
def _(event: e.CohortChecked, state: PartnershipState) -> Changes:
    return {"cohort_checked": True, "attention": None if event.running else Attention.NO_COHORT}


@_evolve.register
def _(event: e.ApplicationRejected, state: PartnershipState) -> Changes:
    return {"stage": Stage.REJECTED, "ended_reason": "; ".join(event.reasons)}


@_evolve.register
def _(event: e.MatchProposed, state: PartnershipState) -> Changes:
    return {
        "stage": Stage.AWAITING_SIGNATURES,
        "mentor_id": event.mentor_id,
        "mentor_withdrawn": False,
        "match_score": event.score,
        "match_reasons": event.reasons,
        "matched_at": event.at,
        "agreement": Agreement(
            topics=event.topics, meeting_cadence=event.meeting_cadence, signing_due=event.signing_due
        ),
        "signing_clock": Clock(),
        "attention": None,
    }


@_evolve.register
def _(event: e.AgreementAmended, state: PartnershipState) -> Changes:
    assert state.agreement is not None
    return {
        "agreement": state.agreement.replace(topics=event.topics, meeting_cadence=event.meeting_cadence, signatures={})
    }


@_evolve.register
def _(event: e.AgreementSigned, state: PartnershipState) -> Changes:
    assert state.agreement is not None
    signatures = {
        **state.agreement.signatures,
        event.party.value: Signature(signed_at=event.at, signature_ref=event.signature_ref),
    }
    return {"agreement": state.agreement.replace(signatures=signatures)}


@_evolve.register
def _(event: e.PartnershipStarted, state: PartnershipState) -> Changes:
    assert state.agreement is not None
    agreement = state.agreement.replace(starts_on=event.starts_on, ends_on=event.ends_on)
    return {
        "stage": Stage.ACTIVE,
        "agreement": agreement,
        "next_meeting_due": event.next_meeting_due,
        "next_checkin_due": event.first_checkin_due,
        "lapse": LapseLevel.ON_TRACK,
        "attention": None,
    }


@_evolve.register
def _(event: e.SigningReminderDue, state: PartnershipState) -> Changes:
    return {"signing_clock": state.signing_clock.replace(reminded=True)}


@_evolve.register
def _(event: e.SignatureOverdue, state: PartnershipState) -> Changes:
    return {"signing_clock": state.signing_clock.replace(overdue=True), "attention": Attention.SIGNATURE_OVERDUE}


@_evolve.register
def _(event: e.MeetingLogged, state: PartnershipState) -> Changes:
    last = max(event.held_on, state.last_meeting_at) if state.last_meeting_at else event.held_on
    return {
        "meetings_held": state.meetings_held + 1,
        "meeting_minutes": state.meeting_minutes + event.minutes,
        "last_meeting_at": last,
        "next_meeting_due": event.next_meeting_due,
        **_back_on_track(state),
        "meetings_today": _count_on(state.meetings_today, event.at),
    }


@_evolve.register
def _(event: e.DiaryEntryAdded, state: PartnershipState) -> Changes:
    return {"diary_entries": state.diary_entries + 1, "diary_today": _count_on(state.diary_today, event.at)}


@_evolve.register
def _(event: e.GatheringAttended, state: PartnershipState) -> Changes:
    changes: Changes = {
        "gatherings_attended": state.gatherings_attended + 1,
        "gathering_hours": state.gathering_hours + event.hours,
    }
    if event.gathering_id not in state.attended_gathering_ids:  # logs from before the rule may repeat one
        changes["attended_gathering_ids"] = (*state.attended_gathering_ids, event.gathering_id)
    return changes


@_evolve.register
def _(event: e.MeetingNudgeDue, state: PartnershipState) -> Changes:
    return {"lapse": LapseLevel.NUDGED}


@_evolve.register
def _(event: e.MeetingLapsed, state: PartnershipState) -> Changes:
    return {"lapse": LapseLevel.ESCALATED, "attention": Attention.MEETING_LAPSED, "lapses": state.lapses + 1}


@_evolve.register
def _(event: e.CoordinatorIntervened, state: PartnershipState) -> Changes:
    return {"interventions": state.interventions + 1}


@_evolve.register
def _(event: e.MeetingRescheduled, state: PartnershipState) -> Changes:
    return {
        "next_meeting_due": event.next_meeting_due,
        "interventions": state.interventions + 1,
        **_back_on_track(state),
    }


@_evolve.register
def _(event: e.PartnershipPaused, state: PartnershipState) -> Changes:
    return {
        "stage": Stage.PAUSED,
        "pause": Pause(at=event.at, until=event.until),
        "interventions": state.interventions + 1,
        **(_back_on_track(state) if state.attention == Attention.MEETING_LAPSED else {}),  # a nudge stays
    }


@_evolve.register
def _(event: e.PartnershipResumed, state: PartnershipState) -> Changes:
    assert state.agreement is not None
    return {
        "stage": Stage.ACTIVE,
        "pause": None,
        "agreement": state.agreement.replace(ends_on=event.ends_on),
        "next_meeting_due": event.next_meeting_due,
        "interventions": state.interventions + 1,
        **_checkins_shifted(state, event.paused_for),
    }


def _checkins_shifted(state: PartnershipState, by: timedelta) -> Changes:
    """The check-in clock after a pause of ``by``: it stood still (the next round, and an open round's window)."""
    if state.next_checkin_due is None and not (state.checkins and state.checkins[-1].open):
        return {}
    changes: Changes = {}
    if state.next_checkin_due is not None:
        changes["next_checkin_due"] = state.next_checkin_due + by
    if state.checkins and state.checkins[-1].open:
        latest = state.checkins[-1]
        changes["checkins"] = (*state.checkins[:-1], latest.replace(due=latest.due + by))
    return changes


@_evolve.register
def _(event: e.PartnershipExtended, state: PartnershipState) -> Changes:
    assert state.agreement is not None
    return {
        "agreement": state.agreement.replace(ends_on=event.ends_on),
        "interventions": state.interventions + 1,
    }


@_evolve.register
def _(event: e.RematchRequested, state: PartnershipState) -> Changes:
    return {
        "stage": Stage.AWAITING_MATCH,
        "mentor_id": None,
        "mentor_withdrawn": False,
        "previous_mentor_ids": (*state.previous_mentor_ids, event.previous_mentor_id),
        "rematch_reasons": (*state.rematch_reasons, event.reason),
        "awaiting_match_since": event.at,
        "cohort_checked": False,
        "match_score": None,
        "match_reasons": (),
        "matched_at": None,
        "agreement": None,
        "signing_clock": Clock(),
        "next_meeting_due": None,
        "next_checkin_due": None,
        "lapse": LapseLevel.ON_TRACK,
        "pause": None,
        "attention": None,
        "interventions": state.interventions + 1,
    }


@_evolve.register
def _(event: e.AttentionAcknowledged, state: PartnershipState) -> Changes:
    changes: Changes = {"attention": None, "interventions": state.interventions + 1}
    if event.attention == Attention.SIGNATURE_OVERDUE and state.agreement is not None:
        changes["agreement"] = state.agreement.replace(signing_due=event.rearmed_until)
        changes["signing_clock"] = state.signing_clock.replace(overdue=False)
    elif event.attention == Attention.MEETING_LAPSED:
        changes["next_meeting_due"] = event.rearmed_until
        changes["lapse"] = LapseLevel.ON_TRACK
    elif event.attention == Attention.REVIEW_OVERDUE:
        changes["review_clock"] = state.review_clock.replace(overdue=False)
        if state.review_window is not None:
            changes["review_window"] = state.review_window.replace(due=event.rearmed_until)
    return changes


@_evolve.register
def _(event: e.PartyWithdrew, state: PartnershipState) -> Changes:
    if event.party == c.Party.MENTEE:
        return {
            "stage": Stage.WITHDRAWN,
            "summary": event.summary,
            "ended_reason": event.reason,
            "attention": None,
        }
    return {"mentor_withdrawn": True, "attention": Attention.MENTOR_WITHDREW}


@_evolve.register
def _(event: e.PartnershipEndedEarly, state: PartnershipState) -> Changes:
    return {
        "stage": Stage.ENDED_EARLY,
        "summary": event.summary,
        "ended_reason": event.reason,
        "attention": None,
        "interventions": state.interventions + 1,
    }


@_evolve.register
def _(event: e.ProgrammeEnded, state: PartnershipState) -> Changes:
    return {
        "stage": Stage.CLOSING_REVIEW,
        "review_window": ReviewWindow(
            opened_at=event.review_due - state.policy.review_window,  # the end date, even if the tick was late
            due=event.review_due,
        ),
        "review_clock": Clock(),
        "next_meeting_due": None,
        **_back_on_track(state),
    }


@_evolve.register
def _(event: e.ReviewReminderDue, state: PartnershipState) -> Changes:
    return {"review_clock": state.review_clock.replace(reminded=True)}


@_evolve.register
def _(event: e.ReviewOverdue, state: PartnershipState) -> Changes:
    return {
        "review_clock": state.review_clock.replace(overdue=True),
        "attention": Attention.REVIEW_OVERDUE,
    }


@_evolve.register
def _(event: e.ClosingReviewSubmitted, state: PartnershipState) -> Changes:
    review = Review(rating=event.rating, outcome=event.outcome, submitted_at=event.at)
    return {"reviews": {**state.reviews, event.party.value: review}}


@_evolve.register
def _(event: e.PartnershipCompleted, state: PartnershipState) -> Changes:
    changes: Changes = {"stage": Stage.COMPLETED, "summary": event.summary, "attention": None}
    if event.closed_by == "coordinator":
        changes["interventions"] = state.interventions + 1
        changes["ended_reason"] = event.reason
    return changes


@_evolve.register
def _(event: e.CheckinRequested, state: PartnershipState) -> Changes:
    asked = CheckinRound(round=event.round, asked_at=event.at, due=event.due)
    following = state.next_checkin_due + state.policy.checkin_every if state.next_checkin_due is not None else None
    return {"checkins": (*state.checkins, asked), "next_checkin_due": following}


@_evolve.register
def _(event: e.CheckinAnswered, state: PartnershipState) -> Changes:
    answer = CheckinAnswer(score=event.score, meeting_as_planned=event.meeting_as_planned, answered_at=event.at)
    rounds = list(state.checkins)
    for i, asked in enumerate(rounds):
        if asked.round == event.round:
            rounds[i] = asked.replace(answers={**asked.answers, event.party.value: answer})
    changes: Changes = {"checkins": tuple(rounds)}
    if event.low and state.attention is None:  # another open attention already has the coordinator looking
        changes["attention"] = Attention.CHECKIN_LOW
    return changes


@_evolve.register
def _(event: e.CheckinNudgeDue, state: PartnershipState) -> Changes:
    parties = tuple(p.value for p in event.parties)
    rounds = tuple(
        r.replace(nudged=True, nudged_parties=parties) if r.round == event.round else r for r in state.checkins
    )
    return {"checkins": rounds}


@_evolve.register
def _(event: e.CommandRejected, state: PartnershipState) -> Changes:
    return {"last_rejection": Rejection(command=event.command, reason=event.reason, at=event.at)}


__all__ = [
    "MATCHED_STAGES",
    "TERMINAL_STAGES",
    "Due",
    "decide",
    "evolve",
    "fold",
    "initial_state",
    "next_due",
    "rejection_event",
    "screening_problems",
]

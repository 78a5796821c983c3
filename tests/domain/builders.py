"""Small builders for the domain tests: commands with sensible defaults, and partnerships in each stage.

A :class:`Run` drives one partnership through ``decide``/``evolve`` the way the workflow does, keeping
the log so tests can fold it again, and checks that every rejection leaves the state untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import DegreeLevel, DomainRejection, Institution, MenteeProfile, Policy
from domain.partnership import PartnershipState, decide, fold, initial_state, next_due
from domain.partnership import commands as c
from domain.partnership import events as e

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""The moment every built partnership starts from (a Monday morning, UTC)."""

DAY = timedelta(days=1)
PID = "p-1"
MENTEE_ID = "mentee-1"
MENTOR_ID = "mentor-1"
INSTITUTION_ID = "uni-1"

A = c.CoordinatorActionKind
MENTEE = c.Party.MENTEE
MENTOR = c.Party.MENTOR


def days(n: float) -> timedelta:
    return timedelta(days=n)


def mentee(**overrides: Any) -> MenteeProfile:
    fields: dict[str, Any] = {
        "mentee_id": MENTEE_ID,
        "degree_level": DegreeLevel.MASTER,
        "year_of_study": 2,
        "institution_id": INSTITUTION_ID,
        "field": "data science",
        "goals": ("a first job in Finland", "networking"),
    }
    return MenteeProfile(**{**fields, **overrides})


def institution(**overrides: Any) -> Institution:
    fields: dict[str, Any] = {"institution_id": INSTITUTION_ID, "name": "University One", "partner": True}
    return Institution(**{**fields, **overrides})


# ---------------------------------------------------------------------------------------------- commands


def submit(policy: Policy | None = None, **mentee_overrides: Any) -> c.SubmitApplication:
    return c.SubmitApplication(cohort_id="cohort-2026", mentee=mentee(**mentee_overrides), policy=policy or Policy())


def screen(inst: Institution | None = None, *, unknown: bool = False) -> c.ScreenApplication:
    return c.ScreenApplication(institution=None if unknown else (inst or institution()))


def match(mentor_id: str = MENTOR_ID, score: float | None = 0.8) -> c.ProposeMatch:
    return c.ProposeMatch(mentor_id=mentor_id, score=score, reasons=("shared interests",))


def sign(
    party: c.Party,
    *,
    topics: tuple[str, ...] | None = None,
    cadence_days: int | None = None,
    ref: str | None = None,
) -> c.SignAgreement:
    return c.SignAgreement(party=party, topics=topics, meeting_cadence_days=cadence_days, signature_ref=ref)


def meeting(minutes: int = 60, held_on: datetime | None = None) -> c.LogMeeting:
    return c.LogMeeting(minutes=minutes, held_on=held_on, topics=("cv review",))


def diary(reflection: str = "Practised my elevator pitch.") -> c.AddDiaryEntry:
    return c.AddDiaryEntry(reflection=reflection, goals=("apply to 3 jobs",))


def gathering(hours: float = 2.0, kind: c.GatheringKind = c.GatheringKind.GROUP, gid: str = "g-1") -> c.RecordGathering:
    return c.RecordGathering(gathering_id=gid, kind=kind, hours=hours)


def coord(
    action: c.CoordinatorActionKind, reason: str = "coordinator decision", until: datetime | None = None
) -> c.CoordinatorAction:
    return c.CoordinatorAction(action=action, reason=reason, until=until)


def withdraw(party: c.Party, reason: str = "moved abroad") -> c.Withdraw:
    return c.Withdraw(party=party, reason=reason)


def review(party: c.Party, rating: int = 4, outcome: c.MenteeOutcome | None = None) -> c.SubmitClosingReview:
    return c.SubmitClosingReview(party=party, rating=rating, outcome=outcome)


TICK = c.Tick()


# ---------------------------------------------------------------------------------------------- a running partnership


@dataclass
class Run:
    """One partnership driven through the rules, with its event log and the current time."""

    state: PartnershipState
    now: datetime = T0
    log: list[e.Event] = field(default_factory=list)

    def at(self, moment: datetime) -> Run:
        assert moment >= self.now, "time only moves forward"
        self.now = moment
        return self

    def after(self, delta: timedelta) -> Run:
        return self.at(self.now + delta)

    def do(self, command: c.Command, at: datetime | None = None) -> list[e.Event]:
        if at is not None:
            self.at(at)
        events = decide(self.state, command, self.now)
        self.state = fold(self.state, events)
        self.log.extend(events)
        return events

    def reject(self, command: c.Command, at: datetime | None = None) -> str:
        """The rejection message; fails unless ``decide`` rejects and leaves the state exactly as it was."""
        if at is not None:
            self.at(at)
        before = self.state
        snapshot = before.model_dump()
        with pytest.raises(DomainRejection) as info:
            decide(self.state, command, self.now)
        assert self.state is before
        assert self.state.model_dump() == snapshot
        assert info.value.message == str(info.value)
        return info.value.message

    def tick(self, at: datetime | None = None) -> list[e.Event]:
        return self.do(TICK, at)

    def due(self) -> datetime:
        due = next_due(self.state)
        assert due is not None, f"no timer in {self.state.stage}"
        return due.at

    def tick_due(self) -> list[e.Event]:
        """Move the clock to the next timer and tick, as the workflow does."""
        return self.tick(self.due())

    def refold(self) -> PartnershipState:
        return fold(initial_state(self.state.partnership_id), self.log)


def applied(policy: Policy | None = None, **mentee_overrides: Any) -> Run:
    run = Run(initial_state(PID))
    run.do(submit(policy, **mentee_overrides))
    return run


def awaiting_match(policy: Policy | None = None) -> Run:
    run = applied(policy)
    run.do(screen(), at=T0 + timedelta(hours=1))
    return run


def awaiting_signatures(policy: Policy | None = None, mentor_id: str = MENTOR_ID) -> Run:
    run = awaiting_match(policy)
    run.do(match(mentor_id), at=T0 + DAY)
    return run


def active(policy: Policy | None = None) -> Run:
    """Started at ``T0 + 2 days``; ends 182 days later with the default policy."""
    run = awaiting_signatures(policy)
    run.do(sign(MENTEE), at=T0 + 2 * DAY)
    run.do(sign(MENTOR))
    return run


def paused(policy: Policy | None = None, until: datetime | None = None) -> Run:
    run = active(policy)
    run.do(coord(A.PAUSE, "parental leave", until=until), at=run.now + 10 * DAY)
    return run


def closing_review(policy: Policy | None = None) -> Run:
    """Active with seven 90-minute meetings 25 days apart, a diary entry and a gathering; then the programme ended."""
    run = active(policy)
    for _ in range(7):
        run.do(meeting(90), at=run.now + 25 * DAY)
    run.do(diary())
    run.do(gathering(3.0, c.GatheringKind.COLLECTIVE))
    agreement = run.state.agreement
    assert agreement is not None and agreement.ends_on is not None
    run.tick(agreement.ends_on)
    return run


def completed() -> Run:
    run = closing_review()
    run.do(review(MENTEE, 5, c.MenteeOutcome.EMPLOYED_IN_FIELD), at=run.now + DAY)
    run.do(review(MENTOR, 4))
    return run


def withdrawn() -> Run:
    run = active()
    run.do(withdraw(MENTEE), at=run.now + DAY)
    return run


def rejected() -> Run:
    run = applied()
    run.do(screen(unknown=True), at=T0 + DAY)
    return run


def ended_early() -> Run:
    run = active()
    run.do(coord(A.END_EARLY, "the pair could not find time"), at=run.now + DAY)
    return run

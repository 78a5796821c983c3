"""Policy what-ifs: replay how pairs behaved through the pure domain under another policy.

A pair's **behaviour** is what people did, in times relative to what they reacted to: how long after the match
each party signed, when pair meetings were held after the start, when (if ever) a party withdrew, how long after
the programme's end each review came. It is read from a recorded partnership's events (``behaviour_from_events``)
or drawn for a new programme (``synthetic_behaviours``). ``simulate`` runs each pair's behaviour through
``decide``/``evolve``, with the timers ``next_due`` asks for, under a policy, and counts what the programme would
have done: nudges, lapses, escalations to the coordinator, completions.

Assumptions, said in the output too: people do what they did regardless of the policy (a reminder does not make
anyone sign sooner); a coordinator answers an attention after ``coordinator_delay`` (ends the partnership early
when a signature is overdue, acknowledges anything else). Pure: no clock, no I/O, no randomness but a seeded one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.errors import DomainRejection
from domain.partnership import commands as c
from domain.partnership import events as e
from domain.partnership.rules import decide, fold, initial_state, next_due
from domain.partnership.state import TERMINAL_STAGES, Attention, PartnershipState, Stage
from domain.people import DegreeLevel, Institution, MenteeProfile
from domain.policy import Policy

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Simulated time starts here; only differences matter."""
INSTITUTION = Institution(institution_id="sim-university", name="Simulated university", partner=True)
HORIZON = timedelta(days=730)
"""A pair still open this long after its match is counted as open (it waits on someone for ever)."""


class Anchor(StrEnum):
    MATCH = "match"
    START = "start"
    END = "end"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Action(_Frozen):
    """One thing a person did, ``after`` its anchor (the match, the start of the partnership, or its end)."""

    anchor: Anchor
    after: timedelta
    command: c.SignAgreement | c.LogMeeting | c.Withdraw | c.SubmitClosingReview


class Behaviour(_Frozen):
    """What one pair did, in relative times: the input of a what-if."""

    pair: str
    actions: tuple[Action, ...]


class Outcome(_Frozen):
    """What a policy gives over a set of pairs."""

    pairs: int
    nudges: int
    """Reminders and nudges to the pair: signing reminders, meeting nudges, review reminders."""
    lapses: int
    escalations: int
    """Attention raised for a coordinator: signature overdue, meeting lapsed, review overdue."""
    completions: int
    ended_early: int
    withdrawn: int
    open: int
    """Still waiting on someone at the horizon."""
    by_attention: dict[str, int]


# --------------------------------------------------------------------------------------------- from records


def behaviour_from_events(pair: str, events: Sequence[e.Event]) -> Behaviour | None:
    """A recorded partnership's behaviour, or None when it never reached a match (nothing to replay)."""
    match_at: datetime | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    actions: list[Action] = []
    for event in events:
        if isinstance(event, e.MatchProposed) and start_at is None:
            match_at = event.at
            actions = [a for a in actions if a.anchor is not Anchor.MATCH]  # a rematch: the last match counts
        elif isinstance(event, e.AgreementSigned) and match_at is not None:
            actions.append(
                Action(anchor=Anchor.MATCH, after=event.at - match_at, command=c.SignAgreement(party=event.party))
            )
        elif isinstance(event, e.PartnershipStarted):
            start_at = event.at
        elif isinstance(event, e.MeetingLogged) and start_at is not None:
            held = max(event.held_on, start_at)
            actions.append(
                Action(
                    anchor=Anchor.START,
                    after=held - start_at,
                    command=c.LogMeeting(minutes=event.minutes, held_on=None),
                )
            )
        elif isinstance(event, e.PartyWithdrew):
            anchor, since = (Anchor.START, start_at) if start_at is not None else (Anchor.MATCH, match_at)
            if since is not None:
                actions.append(
                    Action(
                        anchor=anchor,
                        after=event.at - since,
                        command=c.Withdraw(party=event.party, reason="as recorded"),
                    )
                )
        elif isinstance(event, e.ProgrammeEnded):
            end_at = event.at
        elif isinstance(event, e.ClosingReviewSubmitted) and end_at is not None:
            actions.append(
                Action(
                    anchor=Anchor.END,
                    after=event.at - end_at,
                    command=c.SubmitClosingReview(party=event.party, rating=event.rating, outcome=event.outcome),
                )
            )
    if match_at is None:
        return None
    return Behaviour(pair=pair, actions=tuple(actions))


# --------------------------------------------------------------------------------------------- synthetic


class SyntheticProgramme(_Frozen):
    """How people behave in a new programme, on average: the knobs of ``synthetic_behaviours``."""

    signing_days_mean: float = 4.0
    never_signs: float = 0.05
    """Share of pairs whose mentor never signs."""
    meeting_interval_days: float = 30.0
    meeting_jitter_days: float = 8.0
    stops_meeting: float = 0.15
    """Share of pairs that stop meeting some time after the start."""
    mentee_withdraws: float = 0.04
    review_days_mean: float = 6.0
    never_reviews: float = 0.08
    programme_days: float = 182.0


def synthetic_behaviours(count: int, seed: int = 1, programme: SyntheticProgramme | None = None) -> list[Behaviour]:
    """``count`` pairs drawn from ``programme`` with a seeded generator: the same seed, the same pairs."""
    p = programme or SyntheticProgramme()
    rng = random.Random(seed)
    out: list[Behaviour] = []
    for n in range(count):
        actions: list[Action] = []
        mentee_sign = timedelta(days=rng.expovariate(1 / p.signing_days_mean))
        actions.append(Action(anchor=Anchor.MATCH, after=mentee_sign, command=c.SignAgreement(party=c.Party.MENTEE)))
        if rng.random() >= p.never_signs:
            mentor_sign = timedelta(days=rng.expovariate(1 / p.signing_days_mean))
            actions.append(
                Action(anchor=Anchor.MATCH, after=mentor_sign, command=c.SignAgreement(party=c.Party.MENTOR))
            )
        stops_after = rng.uniform(20, p.programme_days) if rng.random() < p.stops_meeting else p.programme_days
        day = 0.0
        while True:
            day += max(rng.gauss(p.meeting_interval_days, p.meeting_jitter_days), 3.0)
            if day >= min(stops_after, p.programme_days - 1):
                break
            minutes = rng.choice((45, 60, 60, 90, 120))
            meeting = c.LogMeeting(minutes=minutes)
            actions.append(Action(anchor=Anchor.START, after=timedelta(days=day), command=meeting))
        if rng.random() < p.mentee_withdraws:
            actions.append(
                Action(
                    anchor=Anchor.START,
                    after=timedelta(days=rng.uniform(10, p.programme_days - 10)),
                    command=c.Withdraw(party=c.Party.MENTEE, reason="synthetic"),
                )
            )
        for party in (c.Party.MENTEE, c.Party.MENTOR):
            if rng.random() >= p.never_reviews:
                actions.append(
                    Action(
                        anchor=Anchor.END,
                        after=timedelta(days=rng.expovariate(1 / p.review_days_mean)),
                        command=c.SubmitClosingReview(
                            party=party,
                            rating=rng.randint(3, 5),
                            outcome=c.MenteeOutcome.EMPLOYED_IN_FIELD if party is c.Party.MENTEE else None,
                        ),
                    )
                )
        out.append(Behaviour(pair=f"pair-{n:05d}", actions=tuple(actions)))
    return out


# --------------------------------------------------------------------------------------------- the run

NUDGE_EVENTS = frozenset({"signing_reminder_due", "meeting_nudge_due", "review_reminder_due"})
ESCALATION_EVENTS = frozenset({"signature_overdue", "meeting_lapsed", "review_overdue"})


@dataclass
class _Tally:
    pairs: int = 0
    nudges: int = 0
    lapses: int = 0
    escalations: int = 0
    completions: int = 0
    ended_early: int = 0
    withdrawn: int = 0
    open: int = 0
    by_attention: dict[str, int] = field(default_factory=dict)

    def count(self, events: Iterable[e.Event]) -> None:
        for event in events:
            if event.type in NUDGE_EVENTS:
                self.nudges += 1
            elif event.type in ESCALATION_EVENTS:
                self.escalations += 1
                kind = {
                    "signature_overdue": Attention.SIGNATURE_OVERDUE,
                    "meeting_lapsed": Attention.MEETING_LAPSED,
                    "review_overdue": Attention.REVIEW_OVERDUE,
                }[event.type]
                self.by_attention[kind.value] = self.by_attention.get(kind.value, 0) + 1
                if event.type == "meeting_lapsed":
                    self.lapses += 1


def simulate(
    behaviours: Sequence[Behaviour], policy: Policy, coordinator_delay: timedelta = timedelta(days=7)
) -> Outcome:
    """Run every pair's behaviour under ``policy`` and count what the programme does."""
    tally = _Tally()
    for behaviour in behaviours:
        final = _run_pair(behaviour, policy, coordinator_delay, tally)
        tally.pairs += 1
        if final.stage == Stage.COMPLETED:
            tally.completions += 1
        elif final.stage == Stage.ENDED_EARLY:
            tally.ended_early += 1
        elif final.stage == Stage.WITHDRAWN:
            tally.withdrawn += 1
        elif final.stage not in TERMINAL_STAGES:
            tally.open += 1
    return Outcome(
        pairs=tally.pairs,
        nudges=tally.nudges,
        lapses=tally.lapses,
        escalations=tally.escalations,
        completions=tally.completions,
        ended_early=tally.ended_early,
        withdrawn=tally.withdrawn,
        open=tally.open,
        by_attention=dict(sorted(tally.by_attention.items())),
    )


def _run_pair(behaviour: Behaviour, policy: Policy, coordinator_delay: timedelta, tally: _Tally) -> PartnershipState:
    state = initial_state(f"partnership-sim-{behaviour.pair}")
    now = EPOCH
    profile = MenteeProfile(
        mentee_id=behaviour.pair, degree_level=DegreeLevel.MASTER, institution_id=INSTITUTION.institution_id, field="x"
    )

    def apply(command: c.Command, at: datetime) -> None:
        nonlocal state
        try:
            events = decide(state, command, at)
        except DomainRejection:
            return  # what a person did may make no sense under another policy (e.g. a meeting after the end)
        tally.count(events)
        state = fold(state, events)

    apply(c.SubmitApplication(cohort_id="sim", mentee=profile, policy=policy), now)
    apply(c.ScreenApplication(institution=INSTITUTION), now)
    apply(c.ProposeMatch(mentor_id="sim-mentor"), now)
    anchors: dict[Anchor, datetime] = {Anchor.MATCH: now}
    pending = sorted(behaviour.actions, key=lambda a: (a.anchor != Anchor.MATCH, a.after))
    handled_attention: set[tuple[str, int]] = set()
    horizon = now + HORIZON
    while state.stage not in TERMINAL_STAGES and now < horizon:
        if Anchor.START not in anchors and state.agreement is not None and state.agreement.starts_on is not None:
            anchors[Anchor.START] = state.agreement.starts_on
        if Anchor.END not in anchors and state.review_window is not None:
            anchors[Anchor.END] = state.review_window.opened_at
        ready = [(anchors[a.anchor] + a.after, i) for i, a in enumerate(pending) if a.anchor in anchors]
        action_at, index = min(ready) if ready else (None, -1)
        due = next_due(state)
        coordinator_at = None
        if state.attention is not None and (state.attention.value, state.version) not in handled_attention:
            coordinator_at = now + coordinator_delay
        choices = [
            (t, rank)
            for t, rank in ((due.at if due else None, 0), (coordinator_at, 1), (action_at, 2))
            if t is not None
        ]
        if not choices:
            break  # waits on people who will never act: open
        at, rank = min(choices)
        now = max(now, at)
        if rank == 0:
            apply(c.Tick(), now)
        elif rank == 1:
            assert state.attention is not None
            handled_attention.add((state.attention.value, state.version))
            if state.attention == Attention.SIGNATURE_OVERDUE:
                apply(c.CoordinatorAction(action=c.CoordinatorActionKind.END_EARLY, reason="simulated"), now)
            else:
                action = (
                    c.CoordinatorActionKind.CLOSE_REVIEW
                    if state.stage == Stage.CLOSING_REVIEW
                    else c.CoordinatorActionKind.ACKNOWLEDGE
                )
                apply(c.CoordinatorAction(action=action, reason="simulated"), now)
        else:
            apply(pending.pop(index).command, now)
    return state


__all__ = [
    "Action",
    "Anchor",
    "Behaviour",
    "Outcome",
    "SyntheticProgramme",
    "behaviour_from_events",
    "simulate",
    "synthetic_behaviours",
]

"""Property tests: arbitrary command sequences through ``decide``/``evolve`` keep the partnership sound.

Each example starts from a submitted application and sends a sequence of commands of every type (sensible
and nonsensical ones, and many Ticks), with ``now`` strictly increasing, the way the workflow does:
a rejection is recorded as ``CommandRejected``. After every step the invariants below must hold.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import DomainRejection, Policy
from domain.partnership import (
    Attention,
    PartnershipState,
    Recipient,
    Stage,
    decide,
    evolve,
    fold,
    initial_state,
    next_due,
    notices_for,
    rejection_event,
)
from domain.partnership import commands as c
from domain.partnership import events as e
from domain.partnership.events import event_json, parse_event

from .builders import PID, T0, institution, mentee

MAX_STEPS = 60
MENTORS = ("mentor-1", "mentor-2", "mentor-3")
TOPICS = ("cv review", "networking", "interviews", "finnish work culture")
ZONES = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)), None)

POLICIES = {
    "default": Policy(),
    "fast-hours": Policy.fast(timedelta(hours=1)),
    "short": Policy().with_overrides(
        {
            "meeting_cadence": "P7D",
            "lapse_grace": "P1D",
            "escalation_after": "P3D",
            "programme_length": "P40D",
            "signing_reminder": "P2D",
            "signing_deadline": "P4D",
            "review_reminder": "P1D",
            "review_window": "P3D",
        }
    ),
}

ATTENTION_STAGES = {
    Attention.SIGNATURE_OVERDUE: {Stage.AWAITING_SIGNATURES},
    Attention.MEETING_LAPSED: {Stage.ACTIVE},
    Attention.REVIEW_OVERDUE: {Stage.CLOSING_REVIEW},
    Attention.MENTOR_WITHDREW: {Stage.AWAITING_SIGNATURES, Stage.ACTIVE, Stage.PAUSED},
}

COUNTERS = (
    "meetings_held",
    "meeting_minutes",
    "meeting_hours",
    "gathering_hours",
    "total_hours",
    "gatherings_attended",
    "diary_entries",
    "interventions",
    "lapses",
)

# ---------------------------------------------------------------------------------------------- strategies

waits = st.one_of(
    st.integers(1, 3_600),
    st.integers(3_600, 3 * 86_400),
    st.integers(86_400, 20 * 86_400),
).map(lambda s: timedelta(seconds=s))
"""How long to wait before the next command, in days of the programme (scaled to the policy): seconds to weeks."""

offsets = st.integers(-60 * 86_400, 250 * 86_400).map(lambda s: timedelta(seconds=s))
reasons = st.sampled_from(["no chemistry", "illness", "new job", "coordinator decision", "x" * 300])
parties = st.sampled_from(c.Party)


def moment(data: st.DataObject, now: datetime, state: PartnershipState) -> datetime:
    """A date near now or near the end of the programme, in some time zone, sometimes naive."""
    anchors = [now]
    if state.agreement is not None and state.agreement.ends_on is not None:
        anchors.append(state.agreement.ends_on)
    if state.next_meeting_due is not None:
        anchors.append(state.next_meeting_due)
    anchor = data.draw(st.sampled_from(anchors), label="anchor")
    when = anchor + data.draw(offsets, label="offset")
    zone = data.draw(st.sampled_from(ZONES), label="zone")
    return when.replace(tzinfo=None) if zone is None else when.astimezone(zone)


KINDS = [
    "tick",
    "submit",
    "screen",
    "match",
    "sign",
    "meeting",
    "diary",
    "gathering",
    "review",
    "coordinator",
    "withdraw",
]
USEFUL = {
    Stage.APPLIED: ["screen"] * 4,
    Stage.AWAITING_MATCH: ["match"] * 4,
    Stage.AWAITING_SIGNATURES: ["sign"] * 6,
    Stage.ACTIVE: ["meeting"] * 3 + ["coordinator"] * 2,
    Stage.PAUSED: ["coordinator"] * 3,
    Stage.CLOSING_REVIEW: ["review"] * 2,
}
"""Every kind of command can come at any time; those that move the stage on come more often, so that
sequences reach the later stages too."""
A = c.CoordinatorActionKind
ACTIONS = [a for a in A for _ in range(1 if a == A.END_EARLY else 3)]
USEFUL_ACTIONS = {
    Stage.ACTIVE: [A.PAUSE, A.RESCHEDULE, A.EXTEND] * 3,
    Stage.PAUSED: [A.RESUME, A.EXTEND] * 3,
}


def command(data: st.DataObject, now: datetime, state: PartnershipState) -> c.Command:
    assert state.stage is not None
    kind = data.draw(st.sampled_from([*KINDS, "tick", "coordinator", *USEFUL.get(state.stage, [])]), label="kind")
    draw = data.draw
    if kind == "tick":
        return c.Tick()
    if kind == "submit":
        return c.SubmitApplication(cohort_id="cohort-x", mentee=mentee())
    if kind == "screen":
        partner = institution()
        odd = [None, institution(partner=False), institution(institution_id="uni-9")]
        inst = draw(st.sampled_from([partner] * 6 + odd))
        return c.ScreenApplication(institution=inst)
    if kind == "match":
        score = draw(st.none() | st.floats())
        return c.ProposeMatch(mentor_id=draw(st.sampled_from(MENTORS)), score=score)
    if kind == "sign":
        topics = (
            draw(st.lists(st.sampled_from(TOPICS), max_size=2).map(tuple)) if draw(st.integers(0, 4)) == 0 else None
        )
        cadence = draw(st.integers(7, 92)) if draw(st.integers(0, 4)) == 0 else None
        return c.SignAgreement(party=draw(parties), topics=topics, meeting_cadence_days=cadence)
    if kind == "meeting":
        held_on = moment(data, now, state) if draw(st.booleans()) else None
        return c.LogMeeting(held_on=held_on, minutes=draw(st.integers(5, 600)))
    if kind == "diary":
        return c.AddDiaryEntry(reflection="Learnt something.")
    if kind == "gathering":
        hours = draw(st.floats(min_value=0.01, max_value=12))
        gathering_id = draw(st.sampled_from(["g-1", "g-2", "g-3"]))  # repeats are rejected: a gathering counts once
        return c.RecordGathering(gathering_id=gathering_id, kind=draw(st.sampled_from(c.GatheringKind)), hours=hours)
    if kind == "review":
        outcome = draw(st.none() | st.sampled_from(c.MenteeOutcome))
        return c.SubmitClosingReview(party=draw(parties), rating=draw(st.integers(1, 5)), outcome=outcome)
    if kind == "coordinator":
        useful = USEFUL_ACTIONS.get(state.stage, []) + ([A.ACKNOWLEDGE] * 3 if state.attention else [])
        action = draw(st.sampled_from(ACTIONS + useful))
        until = moment(data, now, state) if draw(st.integers(0, 3)) else None
        return c.CoordinatorAction(action=action, reason=draw(reasons)[:200], until=until)
    assert kind == "withdraw"
    return c.Withdraw(party=draw(st.sampled_from([c.Party.MENTOR] * 3 + [c.Party.MENTEE])), reason="moving")


# ---------------------------------------------------------------------------------------------- invariants


def assert_round_trips(event: e.Event) -> None:
    stored = event_json(event)
    assert parse_event(stored) == event
    assert parse_event(json.dumps(stored, allow_nan=False)) == event, "stored as strict JSON text"


ESCALATIONS = (e.SignatureOverdue, e.MeetingLapsed, e.ReviewOverdue)


def assert_notices(event: e.Event, before: PartnershipState) -> None:
    """Nobody is told twice; an absent mentor is never told; escalations go to the coordinator alone."""
    recipients = [n.recipient for n in notices_for(event, before)]
    assert len(set(recipients)) == len(recipients)
    mentor_absent = before.mentor_id is None or before.mentor_withdrawn
    if mentor_absent and not isinstance(event, e.MatchProposed):
        assert Recipient.MENTOR not in recipients, event.type
    if isinstance(event, ESCALATIONS):
        assert recipients == [Recipient.COORDINATOR]
    if isinstance(event, e.CommandRejected):
        assert recipients == []


def assert_invariants(
    before: PartnershipState,
    after: PartnershipState,
    log: list[e.Event],
    new: list[e.Event],
    command: c.Command,
    now: datetime,
) -> None:
    assert after.version == len(log)
    assert fold(initial_state(PID), log) == after
    assert PartnershipState.model_validate_json(after.model_dump_json()) == after

    assert isinstance(after.stage, Stage)
    if before.is_terminal:
        assert after.stage == before.stage
        assert all(isinstance(ev, e.CommandRejected) for ev in new)
    if after.is_terminal:
        assert after.attention is None
        assert next_due(after) is None
        assert after.summary is not None or after.stage == Stage.REJECTED
    if after.attention is not None:
        assert after.stage in ATTENTION_STAGES[after.attention], (after.attention, after.stage)
    if after.mentor_withdrawn and not after.is_terminal:
        assert after.attention == Attention.MENTOR_WITHDREW, "only a coordinator resolves a mentor's withdrawal"
        assert after.stage in ATTENTION_STAGES[Attention.MENTOR_WITHDREW]

    for counter in COUNTERS:
        assert getattr(after, counter) >= getattr(before, counter), counter
    assert after.previous_mentor_ids[: len(before.previous_mentor_ids)] == before.previous_mentor_ids
    assert after.mentor_id is None or after.mentor_id not in after.previous_mentor_ids

    if after.stage == Stage.AWAITING_MATCH:
        assert after.mentor_id is None and after.agreement is None
    if after.stage in (Stage.ACTIVE, Stage.PAUSED, Stage.CLOSING_REVIEW):
        assert after.agreement is not None and after.agreement.ends_on is not None
        assert set(after.agreement.signatures) == {"mentee", "mentor"}
    if after.stage == Stage.ACTIVE:
        assert after.next_meeting_due is not None
    if after.stage == Stage.PAUSED:
        assert after.pause is not None

    due = next_due(after)
    if isinstance(command, c.Tick) and not any(isinstance(ev, e.CommandRejected) for ev in new):
        assert due is None or due.at > now, f"a Tick at {now} left a timer due at {due}"
    for ev in new:
        assert ev.at == now


# ---------------------------------------------------------------------------------------------- the property

HEAD_STARTS: dict[str, list[c.Command]] = {
    "none": [],
    "screened": [c.ScreenApplication(institution=institution())],
    "matched": [c.ScreenApplication(institution=institution()), c.ProposeMatch(mentor_id=MENTORS[0])],
    "started": [
        c.ScreenApplication(institution=institution()),
        c.ProposeMatch(mentor_id=MENTORS[0]),
        c.SignAgreement(party=c.Party.MENTEE),
        c.SignAgreement(party=c.Party.MENTOR),
    ],
}
"""Sensible first commands, so that more sequences spend their arbitrary part in the later stages."""


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    policy_name=st.sampled_from(sorted(POLICIES)),
    head_start=st.sampled_from(sorted(HEAD_STARTS)),
    steps=st.integers(0, MAX_STEPS),
)
def test_arbitrary_command_sequences_keep_the_partnership_sound(
    data: st.DataObject, policy_name: str, head_start: str, steps: int
) -> None:
    now = T0
    policy = POLICIES[policy_name]
    scale = policy.meeting_cadence / Policy().meeting_cadence
    log = decide(initial_state(PID), c.SubmitApplication(cohort_id="cohort-x", mentee=mentee(), policy=policy), now)
    state = fold(initial_state(PID), log)
    head = list(HEAD_STARTS[head_start])

    for _ in range(len(head) + steps):
        due = next_due(state)
        if due is not None and due.at > now and data.draw(st.integers(0, 9), label="to the next timer") < 3:
            now = due.at
            cmd: c.Command = c.Tick()
        else:
            now = now + data.draw(waits, label="wait") * scale
            cmd = head.pop(0) if head else command(data, now, state)

        before = state
        snapshot = state.model_dump_json()
        try:
            new = decide(state, cmd, now)
        except DomainRejection as rejection:
            assert state is before and state.model_dump_json() == snapshot, "a rejection changes nothing"
            assert rejection.message
            new = [rejection_event(cmd.type, rejection.message, now)]
        else:
            assert decide(state, cmd, now) == new, "decide is deterministic"
        for ev in new:
            assert_round_trips(ev)
            assert_notices(ev, state)
            state = evolve(state, ev)
        log.extend(new)
        assert_invariants(before, state, log, new, cmd, now)

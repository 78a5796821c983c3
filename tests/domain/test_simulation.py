"""Policy what-ifs through the pure domain: recorded behaviour replays to what really happened, and other
policies change exactly what they should."""

from __future__ import annotations

from datetime import timedelta

from bench.domainlife import lifecycle
from domain.partnership import commands as c
from domain.policy import Policy
from domain.simulation import (
    Action,
    Anchor,
    Behaviour,
    behaviour_from_events,
    simulate,
    synthetic_behaviours,
)

DAYS = timedelta(days=1)
MENTEE, MENTOR = c.Party.MENTEE, c.Party.MENTOR


def signs(mentee: float = 1, mentor: float | None = 2) -> list[Action]:
    actions = [Action(anchor=Anchor.MATCH, after=mentee * DAYS, command=c.SignAgreement(party=MENTEE))]
    if mentor is not None:
        actions.append(Action(anchor=Anchor.MATCH, after=mentor * DAYS, command=c.SignAgreement(party=MENTOR)))
    return actions


def meets(*days: float) -> list[Action]:
    return [Action(anchor=Anchor.START, after=d * DAYS, command=c.LogMeeting(minutes=60)) for d in days]


def reviews(mentee: float = 2, mentor: float = 3) -> list[Action]:
    return [
        Action(anchor=Anchor.END, after=mentee * DAYS, command=c.SubmitClosingReview(party=MENTEE, rating=5)),
        Action(anchor=Anchor.END, after=mentor * DAYS, command=c.SubmitClosingReview(party=MENTOR, rating=4)),
    ]


def pair(*actions: list[Action]) -> Behaviour:
    return Behaviour(pair="p", actions=tuple(a for group in actions for a in group))


def test_a_pair_that_meets_monthly_completes_with_nothing_raised() -> None:
    outcome = simulate([pair(signs(), meets(25, 55, 85, 115, 145, 175), reviews())], Policy())
    assert (outcome.completions, outcome.nudges, outcome.escalations, outcome.open) == (1, 0, 0, 0)


def test_a_pair_that_stops_meeting_lapses_and_a_longer_escalation_window_hides_it() -> None:
    stops = pair(signs(), meets(25, 55), reviews())
    default = simulate([stops], Policy())
    assert default.lapses >= 1 and default.by_attention["MEETING_LAPSED"] == default.lapses
    assert default.nudges >= 1
    lenient = simulate([stops], Policy().with_overrides({"escalation_after": "P200D", "lapse_grace": "P190D"}))
    assert lenient.lapses == 0 and lenient.nudges == 0
    assert default.completions == lenient.completions == 1


def test_a_mentor_who_never_signs_is_escalated_and_ended_by_the_coordinator() -> None:
    outcome = simulate([pair(signs(mentor=None))], Policy())
    assert outcome.by_attention == {"SIGNATURE_OVERDUE": 1}
    assert (outcome.ended_early, outcome.completions, outcome.open) == (1, 0, 0)
    assert outcome.nudges == 1  # the signing reminder


def test_a_signature_that_comes_after_a_shorter_deadline_is_escalated_only_under_it() -> None:
    late = pair(signs(mentee=1, mentor=10), meets(25, 55, 85, 115, 145, 175), reviews())
    assert simulate([late], Policy()).escalations == 0
    strict = simulate([late], Policy().with_overrides({"signing_reminder": "P3D", "signing_deadline": "P5D"}))
    assert strict.by_attention == {"SIGNATURE_OVERDUE": 1}
    assert strict.completions == 1  # the mentor signed (day 10) before the coordinator acted (day 5 + 7)
    hasty = simulate(
        [late],
        strict_policy := Policy().with_overrides({"signing_reminder": "P3D", "signing_deadline": "P5D"}),
        coordinator_delay=2 * DAYS,
    )
    assert hasty.ended_early == 1 and strict_policy.signing_deadline == 5 * DAYS


def test_reviews_later_than_the_window_are_overdue() -> None:
    slow = pair(signs(), meets(25, 55, 85, 115, 145, 175), reviews(mentee=20, mentor=21))
    outcome = simulate([slow], Policy())
    assert outcome.by_attention == {"REVIEW_OVERDUE": 1}
    assert outcome.completions == 1  # the coordinator closes the review


def test_recorded_behaviour_replays_to_what_really_happened() -> None:
    behaviours, recorded_nudges, recorded_completions = [], 0, 0
    for index in range(8):  # one in four of these pairs is nudged once
        batches, final = lifecycle(f"partnership-c-{index}", "c", index)
        events = [event for batch in batches for event in batch]
        recorded_nudges += sum(event.type == "meeting_nudge_due" for event in events)
        recorded_completions += final.stage == "COMPLETED"
        behaviour = behaviour_from_events(f"p{index}", events)
        assert behaviour is not None
        behaviours.append(behaviour)
    outcome = simulate(behaviours, Policy())
    assert recorded_nudges == 2
    assert outcome.nudges == recorded_nudges
    assert outcome.completions == recorded_completions == 8
    assert outcome.escalations == 0


def test_an_application_that_never_reached_a_match_has_no_behaviour_to_replay() -> None:
    batches, _ = lifecycle("partnership-c-x", "c", 1)
    before_match = [event for batch in batches[:2] for event in batch]
    assert behaviour_from_events("x", before_match) is None


def test_synthetic_programmes_are_seeded_and_every_pair_ends_somewhere() -> None:
    first = simulate(synthetic_behaviours(300, seed=7), Policy())
    again = simulate(synthetic_behaviours(300, seed=7), Policy())
    other = simulate(synthetic_behaviours(300, seed=8), Policy())
    assert first == again and first != other
    assert first.pairs == 300
    assert first.completions + first.ended_early + first.withdrawn + first.open == 300
    assert first.escalations == sum(first.by_attention.values())

"""Matching a pool: hard constraints, pins, exclusions, capacity, optimality, unmatched reasons, determinism."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from domain import DegreeLevel, Sector
from domain.matching import Exclusion, MatchingInput, Pin, feasible, greedy_match, match, score
from tests.matching.builders import mentee, mentor


def pairs(result_proposals: tuple[object, ...]) -> dict[str, str]:
    return {p.mentee_id: p.mentor_id for p in result_proposals}  # type: ignore[attr-defined]


def reasons_of(inp: MatchingInput, mentee_id: str) -> tuple[str, ...]:
    (found,) = [u for u in match(inp).unmatched if u.mentee_id == mentee_id]
    return found.reasons


# ---------------------------------------------------------------------------------------------- feasible


def test_feasible_names_the_first_broken_constraint() -> None:
    e = mentee("s-1", languages=("fi",), institution_id="uni-aalto")
    inp = MatchingInput(exclusions=[Exclusion(mentee_id="s-1", mentor_id="m-x")], mentor_load={"m-full": 2})
    assert feasible(e, mentor("m-ok", languages=("fi",)), inp) is None
    assert feasible(e, mentor("m-x", languages=("fi",)), inp) == "excluded by a coordinator from mentor m-x"
    assert feasible(e, mentor("m-c", languages=("fi",), conflicts=("uni-aalto",)), inp) == (
        "mentor m-c declares a conflict of interest with uni-aalto"
    )
    assert feasible(e, mentor("m-en", languages=("en", "sv")), inp) == (
        "no shared language with mentor m-en (mentee: Finnish; mentor: English and Swedish)"
    )
    assert feasible(e, mentor("m-full", languages=("fi",), capacity=2), inp) == (
        "mentor m-full is full (capacity 2, 2 already taken)"
    )


# ---------------------------------------------------------------------------------------------- hard constraints


def test_no_shared_language_means_no_match() -> None:
    inp = MatchingInput(mentees=[mentee("s-1", languages=("ar",))], mentors=[mentor("m-1", languages=("fi", "en"))])
    result = match(inp)
    assert result.proposals == ()
    assert reasons_of(inp, "s-1") == (
        "no compatible mentor",
        "no shared language with the one mentor (mentee speaks ar)",
    )


def test_a_conflict_of_interest_rules_a_mentor_out() -> None:
    inp = MatchingInput(
        mentees=[mentee("s-1", institution_id="uni-aalto"), mentee("s-2", institution_id="uni-tampere")],
        mentors=[mentor("m-1", conflicts=("uni-aalto",), capacity=2)],
    )
    result = match(inp)
    assert pairs(result.proposals) == {"s-2": "m-1"}
    assert reasons_of(inp, "s-1") == (
        "no compatible mentor",
        "conflict of interest with uni-aalto declared by the one mentor",
    )


def test_a_coordinators_exclusion_is_respected_even_for_the_best_pair() -> None:
    best = mentor("m-best", expertise=("data science",), interests=("ai",))
    other = mentor("m-other", expertise=("law",))
    e = mentee("s-1", interests=("ai",))
    assert match(MatchingInput(mentees=[e], mentors=[best, other])).proposals[0].mentor_id == "m-best"
    excluded = MatchingInput(
        mentees=[e], mentors=[best, other], exclusions=[Exclusion(mentee_id="s-1", mentor_id="m-best")]
    )
    assert pairs(match(excluded).proposals) == {"s-1": "m-other"}


def test_capacity_and_earlier_load_are_respected() -> None:
    mentees = [mentee(f"s-{i}") for i in range(5)]
    mentors = [mentor("m-1", capacity=3), mentor("m-2", capacity=2)]
    result = match(MatchingInput(mentees=mentees, mentors=mentors, mentor_load={"m-1": 2, "m-unknown": 5}))
    assert result.summary.matched == 3
    taken = [p.mentor_id for p in result.proposals]
    assert taken.count("m-1") == 1 and taken.count("m-2") == 2
    assert {u.reasons for u in result.unmatched} == {
        ("both compatible mentors with free capacity went to other mentees",)
    }


def test_an_unmatched_mentee_in_a_short_pool_is_told_the_others_took_the_mentors() -> None:
    result = match(MatchingInput(mentees=[mentee("s-1"), mentee("s-2")], mentors=[mentor("m-1")]))
    assert result.summary.matched == 1
    assert result.unmatched[0].reasons == ("the one compatible mentor with free capacity went to another mentee",)


def test_reasons_add_up_over_the_pool() -> None:
    inp = MatchingInput(
        mentees=[mentee("s-1", languages=("fi",), institution_id="uni-aalto"), mentee("s-0", languages=("fi",))],
        mentors=[
            mentor("m-1", languages=("en",)),
            mentor("m-2", languages=("fi",), conflicts=("uni-aalto",)),
            mentor("m-3", languages=("fi",)),
            mentor("m-4", languages=("fi",)),
        ],
        exclusions=[Exclusion(mentee_id="s-1", mentor_id="m-3")],
        mentor_load={"m-4": 1},
    )
    assert reasons_of(inp, "s-1") == (
        "all compatible mentors are full",
        "excluded by a coordinator from 1 of 4 mentors",
        "conflict of interest with uni-aalto declared by 1 of 4 mentors",
        "no shared language with 1 of 4 mentors (mentee speaks Finnish)",
        "1 otherwise compatible mentor is already full",
    )


def test_when_compatible_mentors_go_to_others_the_reason_says_so() -> None:
    # Two of the three can be matched whichever way; s-0 and s-2 score higher, so s-1 is left out.
    inp = MatchingInput(
        mentees=[
            mentee("s-0", languages=("fi",), interests=("ai",)),
            mentee("s-1", languages=("fi", "sv")),
            mentee("s-2", languages=("sv",), interests=("music",)),
        ],
        mentors=[
            mentor("m-1", languages=("fi",), interests=("ai",)),
            mentor("m-2", languages=("sv",), interests=("music",)),
        ],
    )
    result = match(inp)
    assert pairs(result.proposals) == {"s-0": "m-1", "s-2": "m-2"}
    assert result.unmatched[0].reasons == ("both compatible mentors with free capacity went to other mentees",)


def test_no_mentors_at_all() -> None:
    result = match(MatchingInput(mentees=[mentee("s-1")]))
    assert result.unmatched[0].reasons == ("no mentors in the pool",)
    assert result.summary.model_dump() == {
        "matched": 0,
        "unmatched": 1,
        "mean_score": 0.0,
        "top3_share": 0.0,
        "total_score": 0.0,
    }
    assert match(MatchingInput()).summary.matched == 0


# ---------------------------------------------------------------------------------------------- pins


def test_a_pin_beats_the_score() -> None:
    mentees = [mentee("s-1", field="law")]
    mentors = [mentor("m-law", expertise=("law",)), mentor("m-data", expertise=("data science",))]
    pinned = MatchingInput(mentees=mentees, mentors=mentors, pins=[Pin(mentee_id="s-1", mentor_id="m-data")])
    (proposal,) = match(pinned).proposals
    assert (proposal.mentor_id, proposal.pinned) == ("m-data", True)
    assert proposal.reasons[0] == "pinned by a coordinator"
    assert proposal.score == score(mentees[0], mentors[1])[0]
    assert match(MatchingInput(mentees=mentees, mentors=mentors)).proposals[0].pinned is False


def test_pins_take_capacity_before_the_optimiser() -> None:
    mentees = [mentee("s-1", interests=("ai",)), mentee("s-2")]
    mentors = [mentor("m-1", interests=("ai",)), mentor("m-2", expertise=("law",))]
    result = match(MatchingInput(mentees=mentees, mentors=mentors, pins=[Pin(mentee_id="s-2", mentor_id="m-1")]))
    assert pairs(result.proposals) == {"s-1": "m-2", "s-2": "m-1"}


@pytest.mark.parametrize(
    ("pin_to", "why"),
    [
        ("m-en", "pin refused: no shared language with mentor m-en (mentee: Finnish; mentor: English)"),
        ("m-conflict", "pin refused: mentor m-conflict declares a conflict of interest with uni-helsinki"),
        ("m-excluded", "pin refused: excluded by a coordinator from mentor m-excluded"),
        ("m-loaded", "pin refused: mentor m-loaded is full (capacity 1, 1 already taken)"),
        ("m-gone", "pin refused: mentor m-gone is not in the pool"),
    ],
)
def test_a_pin_that_breaks_a_hard_constraint_is_refused(pin_to: str, why: str) -> None:
    inp = MatchingInput(
        mentees=[mentee("s-1", languages=("fi",))],
        mentors=[
            mentor("m-en", languages=("en",)),
            mentor("m-conflict", languages=("fi",), conflicts=("uni-helsinki",)),
            mentor("m-excluded", languages=("fi",)),
            mentor("m-loaded", languages=("fi",)),
            mentor("m-free", languages=("fi",)),
        ],
        pins=[Pin(mentee_id="s-1", mentor_id=pin_to)],
        exclusions=[Exclusion(mentee_id="s-1", mentor_id="m-excluded")],
        mentor_load={"m-loaded": 1},
    )
    result = match(inp)
    assert result.proposals == ()  # not silently given another mentor: a coordinator decides
    assert result.unmatched[0].reasons == (why,)


def test_pins_beyond_a_mentors_capacity_are_refused_in_mentee_order() -> None:
    inp = MatchingInput(
        mentees=[mentee("s-3"), mentee("s-1"), mentee("s-2")],
        mentors=[mentor("m-1", capacity=2)],
        pins=[Pin(mentee_id=i, mentor_id="m-1") for i in ("s-3", "s-2", "s-1")],
        mentor_load={"m-1": 1},
    )
    result = match(inp)
    assert pairs(result.proposals) == {"s-1": "m-1"}
    assert [u.mentee_id for u in result.unmatched] == ["s-2", "s-3"]
    assert result.unmatched[0].reasons == (
        "pin refused: mentor m-1 is full (capacity 2, 1 already taken, the rest by earlier pins)",
    )


def test_inconsistent_input_is_refused() -> None:
    with pytest.raises(ValidationError, match="pins for mentees not in this round: s-9"):
        MatchingInput(mentees=[mentee("s-1")], pins=[Pin(mentee_id="s-9", mentor_id="m-1")])
    with pytest.raises(ValidationError, match="mentees listed more than once: s-1"):
        MatchingInput(mentees=[mentee("s-1"), mentee("s-1")])
    with pytest.raises(ValidationError, match="mentors listed more than once: m-1"):
        MatchingInput(mentors=[mentor("m-1"), mentor("m-1")])
    with pytest.raises(ValidationError, match="mentees pinned more than once: s-1"):
        MatchingInput(mentees=[mentee("s-1")], pins=[Pin(mentee_id="s-1", mentor_id=m) for m in ("m-1", "m-2")])
    with pytest.raises(ValidationError):
        MatchingInput(mentor_load={"m-1": -1})


# ---------------------------------------------------------------------------------------------- optimality


def test_the_whole_pool_beats_greedy_on_the_number_matched() -> None:
    # s-1 (first in order) likes m-1 best; greedy gives it m-1 and leaves s-2, who speaks only Finnish, alone.
    mentees = [mentee("s-1", languages=("en", "fi"), interests=("ai",)), mentee("s-2", languages=("fi",))]
    mentors = [mentor("m-1", languages=("fi",), interests=("ai",)), mentor("m-2", languages=("en",))]
    inp = MatchingInput(mentees=mentees, mentors=mentors)
    assert pairs(match(inp).proposals) == {"s-1": "m-2", "s-2": "m-1"}
    assert pairs(greedy_match(inp).proposals) == {"s-1": "m-1"}


def test_the_whole_pool_beats_greedy_on_the_total_score() -> None:
    mentees = [
        mentee("s-1", field="data science", interests=("ai",)),
        mentee("s-2", field="data science", interests=("ai", "music")),
    ]
    mentors = [
        mentor("m-1", expertise=("data science",), interests=("ai", "music")),
        mentor("m-2", expertise=("data science",), interests=("golf",)),
    ]
    inp = MatchingInput(mentees=mentees, mentors=mentors)
    best, greedy = match(inp), greedy_match(inp)
    assert best.summary.matched == greedy.summary.matched == 2
    assert best.summary.total_score >= greedy.summary.total_score
    assert pairs(best.proposals) == {"s-1": "m-2", "s-2": "m-1"}  # s-2 gains more from m-1 than s-1 does


def test_top3_share_counts_mentees_given_one_of_their_three_best() -> None:
    mentees = [mentee("s-1", interests=("a", "b", "c", "d"))]
    mentors = [mentor(f"m-{k}", interests=("a", "b", "c", "d")[:k]) for k in (1, 2, 3, 4)]
    pinned = MatchingInput(mentees=mentees, mentors=mentors, pins=[Pin(mentee_id="s-1", mentor_id="m-1")])
    assert match(pinned).summary.top3_share == 0.0  # m-1 is its fourth best
    assert match(MatchingInput(mentees=mentees, mentors=mentors)).summary.top3_share == 1.0


def test_the_summary_adds_up() -> None:
    mentees = [mentee(f"s-{i}", interests=("ai",) * (i % 2)) for i in range(4)]
    mentors = [mentor("m-1", interests=("ai",), capacity=2), mentor("m-2")]
    result = match(MatchingInput(mentees=mentees, mentors=mentors))
    s = result.summary
    assert (s.matched, s.unmatched) == (3, 1)
    assert s.total_score == pytest.approx(sum(p.score for p in result.proposals))
    assert s.mean_score == pytest.approx(s.total_score / 3)
    assert [p.mentee_id for p in result.proposals] == sorted(p.mentee_id for p in result.proposals)


# ---------------------------------------------------------------------------------------------- determinism


def _random_pool(seed: int, n_mentees: int = 60, n_mentors: int = 25) -> MatchingInput:
    rng = random.Random(seed)
    topics = ["data science", "law", "ai", "start-ups", "research", "design", "climate", "music"]
    mentees = [
        mentee(
            f"s-{i:03d}",
            degree_level=rng.choice(list(DegreeLevel)),
            institution_id=rng.choice(["uni-a", "uni-b", "uni-c"]),
            field=rng.choice(topics),
            interests=tuple(rng.sample(topics, rng.randint(0, 3))),
            languages=tuple(rng.sample(["fi", "sv", "en"], rng.randint(1, 2))),
            preferred_sector=rng.choice([None, *Sector]),
        )
        for i in range(n_mentees)
    ]
    mentors = [
        mentor(
            f"m-{j:03d}",
            sector=rng.choice(list(Sector)),
            expertise=tuple(rng.sample(topics, rng.randint(1, 2))),
            interests=tuple(rng.sample(topics, rng.randint(0, 3))),
            languages=tuple(rng.sample(["fi", "sv", "en"], rng.randint(1, 2))),
            capacity=rng.randint(1, 3),
            conflicts=tuple(rng.sample(["uni-a", "uni-b", "uni-c"], rng.randint(0, 1))),
        )
        for j in range(n_mentors)
    ]
    pins = [Pin(mentee_id=m.mentee_id, mentor_id=rng.choice(mentors).mentor_id) for m in rng.sample(mentees, 5)]
    exclusions = [Exclusion(mentee_id=rng.choice(mentees).mentee_id, mentor_id=rng.choice(mentors).mentor_id)]
    return MatchingInput(mentees=mentees, mentors=mentors, pins=pins, exclusions=exclusions, mentor_load={"m-001": 1})


def _shuffled(inp: MatchingInput, seed: int) -> MatchingInput:
    rng = random.Random(seed)
    lists = {name: list(getattr(inp, name)) for name in ("mentees", "mentors", "pins", "exclusions")}
    for values in lists.values():
        rng.shuffle(values)
    return MatchingInput(**lists, mentor_load=inp.mentor_load)  # type: ignore[arg-type]


@pytest.mark.parametrize("solver", [match, greedy_match])
def test_the_same_pool_in_any_order_gives_the_same_result(solver: object) -> None:
    inp = _random_pool(3)
    first = solver(inp)  # type: ignore[operator]
    assert solver(inp) == first  # type: ignore[operator]
    for seed in range(3):
        assert solver(_shuffled(inp, seed)) == first  # type: ignore[operator]

"""Properties on small random pools: the optimum against brute force, and constraints never broken."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import DegreeLevel, MenteeProfile, MentorProfile, Sector
from domain.matching import Exclusion, MatchingInput, MatchingResult, Pin, feasible, greedy_match, match, score

TOPICS = ["data science", "law", "ai", "start-ups", "research", "design"]
LANGUAGES = ["fi", "sv", "en"]
INSTITUTIONS = ["uni-a", "uni-b"]
SMALL = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mentees(draw: st.DrawFn, index: int) -> MenteeProfile:
    return MenteeProfile(
        mentee_id=f"s-{index}",
        degree_level=draw(st.sampled_from(list(DegreeLevel))),
        institution_id=draw(st.sampled_from(INSTITUTIONS)),
        field=draw(st.sampled_from(TOPICS)),
        interests=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True))),
        languages=tuple(draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=2, unique=True))),
        goals=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=2))),
        preferred_sector=draw(st.none() | st.sampled_from(list(Sector))),
    )


@st.composite
def mentors(draw: st.DrawFn, index: int) -> MentorProfile:
    return MentorProfile(
        mentor_id=f"m-{index}",
        organisation_id="org",
        sector=draw(st.sampled_from(list(Sector))),
        expertise=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True))),
        interests=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True))),
        languages=tuple(draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=2, unique=True))),
        capacity=draw(st.integers(1, 3)),
        conflicts=tuple(draw(st.lists(st.sampled_from(INSTITUTIONS), max_size=1))),
    )


@st.composite
def pools(draw: st.DrawFn, with_pins: bool = False) -> MatchingInput:
    mentee_list = [draw(mentees(i)) for i in range(draw(st.integers(0, 6)))]
    mentor_list = [draw(mentors(j)) for j in range(draw(st.integers(0, 4)))]
    pairs = st.tuples(st.sampled_from(mentee_list), st.sampled_from(mentor_list))
    exclusions, pins = [], []
    if mentee_list and mentor_list:
        exclusions = [Exclusion(mentee_id=e.mentee_id, mentor_id=r.mentor_id) for e, r in draw(st.lists(pairs))]
        if with_pins:
            chosen = draw(st.lists(pairs, max_size=3, unique_by=lambda pair: pair[0].mentee_id))
            pins = [Pin(mentee_id=e.mentee_id, mentor_id=r.mentor_id) for e, r in chosen]
    load = {r.mentor_id: draw(st.integers(0, 2)) for r in mentor_list if draw(st.booleans())}
    return MatchingInput(mentees=mentee_list, mentors=mentor_list, exclusions=exclusions, pins=pins, mentor_load=load)


def brute_force(inp: MatchingInput) -> tuple[int, float]:
    """The best (matched, total score) over every assignment, from the public ``feasible`` and ``score``."""
    options = [[(r.mentor_id, score(e, r)[0]) for r in inp.mentors if feasible(e, r, inp) is None] for e in inp.mentees]
    free = {r.mentor_id: r.capacity - inp.mentor_load.get(r.mentor_id, 0) for r in inp.mentors}
    best = (0, 0.0)

    def walk(i: int, matched: int, total: float) -> None:
        nonlocal best
        if i == len(options):
            if (matched, total) > (best[0], best[1] + 1e-9):
                best = (matched, total)
            return
        walk(i + 1, matched, total)
        for mentor_id, value in options[i]:
            if free[mentor_id] > 0:
                free[mentor_id] -= 1
                walk(i + 1, matched + 1, total + value)
                free[mentor_id] += 1

    walk(0, 0, 0.0)
    return best


def assert_constraints_hold(inp: MatchingInput, result: MatchingResult) -> None:
    mentees_by_id = {e.mentee_id: e for e in inp.mentees}
    mentors_by_id = {r.mentor_id: r for r in inp.mentors}
    for proposal in result.proposals:
        e, r = mentees_by_id[proposal.mentee_id], mentors_by_id[proposal.mentor_id]
        assert feasible(e, r, inp) is None, feasible(e, r, inp)
        assert proposal.score == score(e, r)[0]
    for mentor_id, used in Counter(p.mentor_id for p in result.proposals).items():
        mentor = mentors_by_id[mentor_id]
        assert used + inp.mentor_load.get(mentor_id, 0) <= mentor.capacity
    everyone = [p.mentee_id for p in result.proposals] + [u.mentee_id for u in result.unmatched]
    assert sorted(everyone) == sorted(mentees_by_id)
    assert all(u.reasons for u in result.unmatched)
    assert (result.summary.matched, result.summary.unmatched) == (len(result.proposals), len(result.unmatched))
    assert 0.0 <= result.summary.top3_share <= 1.0


@SMALL
@given(pools())
def test_match_is_optimal_matched_count_first_then_total_score(inp: MatchingInput) -> None:
    result = match(inp)
    assert_constraints_hold(inp, result)
    matched, total = brute_force(inp)
    assert result.summary.matched == matched
    assert abs(result.summary.total_score - total) < 1e-6


@SMALL
@given(pools())
def test_greedy_never_beats_the_optimum(inp: MatchingInput) -> None:
    best, greedy = match(inp), greedy_match(inp)
    assert_constraints_hold(inp, greedy)
    assert (greedy.summary.matched, greedy.summary.total_score - 1e-6) <= (
        best.summary.matched,
        best.summary.total_score,
    )


@SMALL
@given(pools(with_pins=True))
def test_pins_are_honoured_or_refused_and_constraints_always_hold(inp: MatchingInput) -> None:
    for solver in (match, greedy_match):
        result = solver(inp)
        assert_constraints_hold(inp, result)
        proposals = {p.mentee_id: p for p in result.proposals}
        unmatched = {u.mentee_id: u for u in result.unmatched}
        for pin in inp.pins:
            if pin.mentee_id in proposals:
                proposal = proposals[pin.mentee_id]
                assert (proposal.mentor_id, proposal.pinned) == (pin.mentor_id, True)
            else:
                assert unmatched[pin.mentee_id].reasons[0].startswith("pin refused: ")
        pinned = {p.mentee_id for p in inp.pins}
        assert all(p.pinned == (p.mentee_id in pinned) for p in result.proposals)

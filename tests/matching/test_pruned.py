"""The pruned solve (candidate graph + dual certificate) finds the very optimum of the full assignment problem.

Seeded pools with many ties (few distinct words), infeasible pairs (conflicts, no shared language,
exclusions), mentors already loaded, pins, and more or fewer slots than mentees. Each pool is solved both
ways from the same round: the number matched and the total score must be equal, and every proposal must
keep the hard constraints. A tiny candidate count forces the certificate to fail and the violated pairs
to be added (or the solver to give up and leave the round untouched).
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import DegreeLevel, MenteeProfile, MentorProfile, Sector
from domain.matching import Exclusion, MatchingInput, Pin, feasible, match, solver
from domain.matching.scoring import MenteeFeatures, MentorFeatures, score_unit

WORDS = ["data science", "law", "ai", "start-ups", "research", "design", "finance", "public policy"]
GOALS = ["a job in ai", "research career", "start a company", "learn law", "design work"]
LANGUAGES = [("en",), ("fi",), ("en", "fi"), ("sv",), ("en", "sv")]
INSTITUTIONS = ["uni-a", "uni-b", "uni-c"]


def seeded_pool(seed: int, mentees: int, mentors: int, *, pins: bool = True) -> MatchingInput:
    rng = random.Random(seed)
    words = WORDS[: rng.randint(2, len(WORDS))]  # few words: many equal scores
    mentee_list = [
        MenteeProfile(
            mentee_id=f"s-{i:03d}",
            degree_level=rng.choice(list(DegreeLevel)),
            institution_id=rng.choice(INSTITUTIONS),
            field=rng.choice(words),
            interests=tuple(rng.sample(words, rng.randint(0, min(3, len(words))))),
            languages=rng.choice(LANGUAGES),
            goals=tuple(rng.sample(GOALS, rng.randint(0, 2))),
            preferred_sector=rng.choice([*Sector, None]),
        )
        for i in range(mentees)
    ]
    mentor_list = [
        MentorProfile(
            mentor_id=f"m-{j:03d}",
            organisation_id="org",
            sector=rng.choice(list(Sector)),
            expertise=tuple(rng.sample(words, rng.randint(0, min(2, len(words))))),
            interests=tuple(rng.sample(words, rng.randint(0, min(3, len(words))))),
            languages=rng.choice(LANGUAGES),
            capacity=rng.randint(1, 3),
            conflicts=(rng.choice(INSTITUTIONS),) if rng.random() < 0.3 else (),
        )
        for j in range(mentors)
    ]
    exclusions = [
        Exclusion(mentee_id=rng.choice(mentee_list).mentee_id, mentor_id=rng.choice(mentor_list).mentor_id)
        for _ in range(rng.randint(0, mentees))
    ]
    pin_list = []
    if pins:
        for mentee in rng.sample(mentee_list, rng.randint(0, min(3, mentees))):
            pin_list.append(Pin(mentee_id=mentee.mentee_id, mentor_id=rng.choice(mentor_list).mentor_id))
    load = {r.mentor_id: rng.randint(0, 2) for r in mentor_list if rng.random() < 0.3}
    return MatchingInput(
        mentees=mentee_list, mentors=mentor_list, exclusions=exclusions, pins=pin_list, mentor_load=load
    )


def objective(round_: solver._Round) -> tuple[int, float]:
    pool = round_.pool
    return len(round_.assigned), float(sum(pool.scores[i, j] for i, j in round_.assigned.items()))


def assert_constraints(inp: MatchingInput, round_: solver._Round) -> None:
    pool = round_.pool
    for i, j in round_.assigned.items():
        assert feasible(pool.mentees[i], pool.mentors[j], inp) is None
    taken = Counter(round_.assigned.values())
    for j, count in taken.items():
        assert count <= pool.free[j]
    assert [int(r) for r in round_.remaining] == [int(f) - taken[j] for j, f in enumerate(pool.free)]


def solve_both(inp: MatchingInput, candidates: int) -> tuple[solver._Round, solver._Round, bool]:
    pool = solver._Pool.of(inp)
    full, pruned = solver._apply_pins(pool, inp), solver._apply_pins(pool, inp)
    solver._solve_full(full, full.open_rows, np.flatnonzero(full.remaining > 0))
    before = dict(pruned.assigned)
    rows, usable = pruned.open_rows, np.flatnonzero(pruned.remaining > 0)
    certified = rows.size > 0 and usable.size > 0 and solver._solve_pruned(pruned, rows, usable, candidates)
    if not certified:
        assert pruned.assigned == before  # a solve that is not certified leaves the round as it was
        solver._solve_full(pruned, rows, usable)
    return full, pruned, certified


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    mentees=st.integers(1, 40),
    mentors=st.integers(1, 25),
    candidates=st.integers(1, 4),
)
def test_pruned_solve_has_the_full_solves_optimum(seed: int, mentees: int, mentors: int, candidates: int) -> None:
    inp = seeded_pool(seed, mentees, mentors)
    full, pruned, _ = solve_both(inp, candidates)
    matched_full, total_full = objective(full)
    matched_pruned, total_pruned = objective(pruned)
    assert matched_pruned == matched_full
    assert total_pruned == pytest.approx(total_full, abs=1e-9)
    assert_constraints(inp, pruned)


@pytest.mark.parametrize("seed", range(12))
def test_pruned_solve_is_certified_on_larger_pools(seed: int) -> None:
    """Scarce and plentiful slots alike: certified (no fallback), and the full solve's optimum."""
    inp = seeded_pool(seed, 300, 60 + 20 * seed, pins=seed % 2 == 0)
    full, pruned, certified = solve_both(inp, solver.CANDIDATES)
    assert certified
    assert objective(pruned)[0] == objective(full)[0]
    assert objective(pruned)[1] == pytest.approx(objective(full)[1], abs=1e-9)
    assert_constraints(inp, pruned)


def test_scores_are_whole_multiples_of_the_unit() -> None:
    inp = seeded_pool(3, 60, 30)
    pool = solver._Pool.of(inp)
    unit = score_unit([MenteeFeatures.of(e) for e in inp.mentees], [MentorFeatures.of(r) for r in inp.mentors])
    assert unit == pool.unit
    scaled = pool.scores * unit
    assert np.abs(scaled - np.rint(scaled)).max() < 1e-6


def test_match_on_a_large_pool_uses_the_pruned_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the size where the full problem is solved directly, ``match`` takes the certified pruned
    solve (the full solve would fail here), with the optimum the full solve finds."""
    inp = seeded_pool(99, 700, 400, pins=False)
    expected = objective(solve_both(inp, solver.CANDIDATES)[0])

    def no_full_solve(*_: object) -> None:
        raise AssertionError("fell back to the full solve")

    monkeypatch.setattr(solver, "_solve_full", no_full_solve)
    result = match(inp)
    assert result.summary.matched == expected[0]
    assert result.summary.total_score == pytest.approx(expected[1], abs=1e-9)

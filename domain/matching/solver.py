"""Matching a whole pool of mentees to mentors: optimal (``match``) and a greedy baseline (``greedy_match``).

Hard constraints (a pair that breaks one is never proposed):

1. not excluded by a coordinator (an :class:`Exclusion` of the pair);
2. no conflict of interest: the mentee's institution is not among the mentor's ``conflicts``;
3. at least one shared language;
4. the mentor has free capacity: ``capacity - mentor_load`` slots, less those taken in this round.

Pins come first. A pin overrides the score, but never a hard constraint: a pin to an excluded,
conflicted, language-less or full mentor (or to a mentor not in the pool) is refused, and its mentee is
listed as unmatched with ``"pin refused: <why>"`` for a coordinator to resolve; such a mentee is not
matched to anyone else in the round. Pins take capacity in the order of their mentees' ids.

The rest is one assignment problem over the whole pool, solved exactly with
:func:`scipy.optimize.linear_sum_assignment` on mentees x mentor slots (a mentor of free capacity ``k``
is ``k`` identical columns): a feasible pair costs ``-(BIG + score)``, anything else ``0``, where ``BIG``
is more than any total score can be. The optimum therefore matches as many mentees as possible, and among
those assignments has the highest total score. Mentees and mentors are sorted by id first, so the same
pool gives the same result in any input order.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from domain.matching.models import MatchingInput, MatchingResult, MatchingSummary, Proposal, Unmatched
from domain.matching.scoring import (
    Mask,
    Matrix,
    MenteeFeatures,
    MentorFeatures,
    conflicts,
    languages_shared,
    row_blocks,
    score_features,
    score_matrix,
    score_unit,
)
from domain.matching.text import words
from domain.people import MenteeProfile, MentorProfile

Indices = npt.NDArray[np.intp]
G = TypeVar("G", bound=np.generic)

PINNED = "pinned by a coordinator"
TOP = 3
"""``top3_share`` counts mentees given one of their best ``TOP`` feasible mentors."""


# ---------------------------------------------------------------------------------------------- one pair


def _free(mentor: MentorProfile, inp: MatchingInput) -> int:
    return mentor.capacity - inp.mentor_load.get(mentor.mentor_id, 0)


def feasible(mentee: MenteeProfile, mentor: MentorProfile, inp: MatchingInput) -> str | None:
    """Why the pair may not be proposed, or None when it may. Checks, in order: the coordinators'
    exclusions, the mentor's conflicts of interest, a shared language, and the mentor's free capacity
    (``capacity - mentor_load``; slots taken by other pairs of the same round are not counted here)."""
    if any(x.mentee_id == mentee.mentee_id and x.mentor_id == mentor.mentor_id for x in inp.exclusions):
        return f"excluded by a coordinator from mentor {mentor.mentor_id}"
    if mentee.institution_id in mentor.conflicts:
        return f"mentor {mentor.mentor_id} declares a conflict of interest with {mentee.institution_id}"
    e, r = MenteeFeatures.of(mentee), MentorFeatures.of(mentor)
    if not e.languages.keys() & r.languages.keys():
        return (
            f"no shared language with mentor {mentor.mentor_id} "
            f"(mentee: {words(list(e.languages.values())) or 'none given'}; "
            f"mentor: {words(list(r.languages.values())) or 'none given'})"
        )
    free = _free(mentor, inp)
    if free <= 0:
        used = inp.mentor_load.get(mentor.mentor_id, 0)
        return f"mentor {mentor.mentor_id} is full (capacity {mentor.capacity}, {used} already taken)"
    return None


# ---------------------------------------------------------------------------------------------- a pool


@dataclass
class _Pool:
    """A round prepared for solving: sorted people, their scores and the pairs the constraints allow."""

    mentees: list[MenteeProfile]
    mentors: list[MentorProfile]
    mentee_features: list[MenteeFeatures]
    mentor_features: list[MentorFeatures]
    scores: Matrix
    excluded: Mask
    conflicted: Mask
    speaks: Mask
    free: npt.NDArray[np.int64]
    """Free slots per mentor before this round (capacity - mentor_load)."""
    unit: int
    """Every score is a whole multiple of ``1 / unit`` (:func:`score_unit`)."""

    @classmethod
    def of(cls, inp: MatchingInput) -> _Pool:
        mentees = sorted(inp.mentees, key=lambda m: m.mentee_id)
        mentors = sorted(inp.mentors, key=lambda m: m.mentor_id)
        mentee_features = [MenteeFeatures.of(m) for m in mentees]
        mentor_features = [MentorFeatures.of(m) for m in mentors]
        row = {m.mentee_id: i for i, m in enumerate(mentees)}
        column = {m.mentor_id: j for j, m in enumerate(mentors)}
        excluded = np.zeros((len(mentees), len(mentors)), dtype=bool)
        for x in inp.exclusions:
            if x.mentee_id in row and x.mentor_id in column:
                excluded[row[x.mentee_id], column[x.mentor_id]] = True
        return cls(
            mentees=mentees,
            mentors=mentors,
            mentee_features=mentee_features,
            mentor_features=mentor_features,
            scores=score_matrix(mentee_features, mentor_features),
            excluded=excluded,
            conflicted=conflicts(mentee_features, mentor_features),
            speaks=languages_shared(mentee_features, mentor_features),
            free=np.array([_free(m, inp) for m in mentors], dtype=np.int64).reshape(len(mentors)),
            unit=score_unit(mentee_features, mentor_features),
        )

    @functools.cached_property
    def allowed(self) -> Mask:
        """The pairs the constraints other than capacity allow."""
        return ~self.excluded & ~self.conflicted & self.speaks


@dataclass
class _Round:
    """Pins applied: what is left for the solver."""

    pool: _Pool
    allowed: Mask
    remaining: npt.NDArray[np.int64]
    """Free slots per mentor after the pins."""
    assigned: dict[int, int]
    """Mentee row → mentor column (pins so far; the solver adds to it)."""
    pinned: set[int]
    refused: dict[int, str]
    """Mentee row → why its pin was refused."""

    @property
    def open_rows(self) -> Indices:
        """Mentees still to match: neither pinned nor with a refused pin."""
        taken = set(self.assigned) | set(self.refused)
        return np.array([i for i in range(len(self.pool.mentees)) if i not in taken], dtype=np.intp)


def _apply_pins(pool: _Pool, inp: MatchingInput) -> _Round:
    allowed = pool.allowed
    remaining = pool.free.copy()
    row = {m.mentee_id: i for i, m in enumerate(pool.mentees)}
    column = {m.mentor_id: j for j, m in enumerate(pool.mentors)}
    assigned: dict[int, int] = {}
    refused: dict[int, str] = {}
    for pin in sorted(inp.pins, key=lambda p: p.mentee_id):
        i = row[pin.mentee_id]
        j = column.get(pin.mentor_id)
        if j is None:
            refused[i] = f"pin refused: mentor {pin.mentor_id} is not in the pool"
            continue
        why = feasible(pool.mentees[i], pool.mentors[j], inp)
        if why is None and remaining[j] <= 0:
            mentor = pool.mentors[j]
            why = (
                f"mentor {mentor.mentor_id} is full (capacity {mentor.capacity}, "
                f"{mentor.capacity - pool.free[j]} already taken, the rest by earlier pins)"
            )
        if why is not None:
            refused[i] = f"pin refused: {why}"
            continue
        assigned[i] = j
        remaining[j] -= 1
    return _Round(pool, allowed, remaining, assigned, set(assigned), refused)


def _solve_optimal(round_: _Round) -> None:
    """The optimum of the round: on a pruned candidate graph, certified exact, when the pool is large;
    otherwise (or when the certificate cannot be had) the full assignment problem."""
    rows = round_.open_rows
    usable = np.flatnonzero(round_.remaining > 0)
    if rows.size == 0 or usable.size == 0:
        return
    if rows.size * usable.size > FULL_SOLVE_UP_TO and _solve_pruned(round_, rows, usable):
        return
    _solve_full(round_, rows, usable)


FULL_SOLVE_UP_TO = 250_000
"""Mentees x usable mentors up to which the full problem is solved directly (it takes milliseconds)."""


def _solve_full(round_: _Round, rows: Indices, usable: Indices) -> None:
    """The whole assignment problem, dense: mentees x mentor slots."""
    allowed = round_.allowed[np.ix_(rows, usable)]
    keep_rows = allowed.any(axis=1)
    rows, allowed = rows[keep_rows], allowed[keep_rows]
    if rows.size == 0:
        return
    # A mentor never needs more slots than it has candidates.
    slots_per_mentor = np.minimum(round_.remaining[usable], allowed.sum(axis=0))
    keep_mentors = slots_per_mentor > 0
    usable, allowed, slots_per_mentor = usable[keep_mentors], allowed[:, keep_mentors], slots_per_mentor[keep_mentors]
    slot_column = np.repeat(np.arange(usable.size), slots_per_mentor)

    big = float(rows.size + 1)  # more than any total of scores in 0..1
    gain = np.where(allowed, -(big + round_.pool.scores[np.ix_(rows, usable)]), 0.0)
    cost = gain[:, slot_column]
    del gain
    from scipy.optimize import linear_sum_assignment  # only here: scipy.optimize takes ~0.3 s to import

    chosen_rows, chosen_slots = linear_sum_assignment(cost)
    del cost
    for r, s in zip(chosen_rows.tolist(), chosen_slots.tolist(), strict=True):
        c = int(slot_column[s])
        if allowed[r, c]:
            round_.assigned[int(rows[r])] = int(usable[c])
            round_.remaining[usable[c]] -= 1


CANDIDATES = 8
"""Best-scoring feasible mentors per mentee in the first pruned graph."""
MENTOR_CANDIDATES = 8
"""Best-scoring feasible mentees per mentor, added to the first pruned graph."""
VIOLATIONS_ADDED = 16
"""Violated pairs per mentee added to the graph for the next solve (the worst first)."""
ROUNDS = 12
"""Pruned solves (each adding the pairs the previous certificate found violated) before the full solve."""
NEAR = 0.02
"""Pairs within ``NEAR`` (in score) of breaking their dual constraint join the graph too: the next solve
then rarely finds new violations (3 solves instead of 4 on a 5,000-mentee pool). Any value is correct."""
EXACT = 2.0**52
"""Integers up to this are exact in float64 (and so are their sums and differences)."""


def _block(matrix: npt.NDArray[G], rows: Indices, usable: Indices, a: int, b: int) -> npt.NDArray[G]:
    """``matrix[rows[a:b]][:, usable]``, without copying when both are plain ranges."""
    r = rows[a:b]
    part = matrix[r[0] : r[-1] + 1] if r[-1] - r[0] == r.size - 1 else matrix[r]
    return part if usable.size == matrix.shape[1] else part[:, usable]


def _solve_pruned(round_: _Round, rows: Indices, usable: Indices, candidates: int = CANDIDATES) -> bool:
    """The round's optimum from a sparse candidate graph, or False (nothing assigned) when not certified.

    In whole units (every score of the pool is a whole multiple of ``1 / unit``: :func:`score_unit`, checked
    on every pair), the problem is a maximum-weight b-matching: an allowed pair (i, j) weighs
    ``BIG + w[i, j]`` with ``w = score x unit`` and ``BIG`` more than any total of ``w``; mentor ``j`` takes
    at most ``remaining[j]`` mentees. Its LP (integral) has the dual: prices ``u[i] >= 0`` per mentee and
    ``v[j] >= 0`` per mentor with ``u[i] + v[j] >= BIG + w[i, j]`` for every allowed pair, minimising
    ``sum(u) + sum(remaining x v)``. The graph keeps each mentee's ``candidates`` best pairs; its optimum
    (:func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`) comes with duals (the least mentor
    prices, from shortest paths) that satisfy complementary slackness with it. If those duals are feasible
    for **every** allowed pair of the whole pool, the pruned optimum is the optimum of the whole pool (weak
    duality: no assignment weighs more than the duals' objective, which equals the pruned optimum's weight).
    All of it is integer arithmetic (below 2**52 in float64), so the check is exact. Pairs that break a dual
    constraint join the graph and it is solved again, at most ``ROUNDS`` times.
    """
    pool = round_.pool
    unit = float(pool.unit)
    big = float(rows.size + 1) * unit
    if 8.0 * (rows.size + 2) * (big + 2 * unit) >= EXACT:
        return False
    remaining = round_.remaining[usable]
    cand_rows, cand_cols = _top_candidates(pool.scores, round_.allowed, rows, usable, candidates, MENTOR_CANDIDATES)
    for attempt in range(ROUNDS):
        weights = np.rint(pool.scores[rows[cand_rows], usable[cand_cols]] * unit)
        mentor_of = _solve_sparse(rows.size, usable.size, remaining, cand_rows, cand_cols, weights, unit, big)
        prices = _least_prices(usable.size, remaining, cand_rows, cand_cols, weights, mentor_of, big)
        if prices is None:
            return False
        found = _violations(
            round_, rows, usable, mentor_of, prices, unit, big, VIOLATIONS_ADDED, NEAR * unit, check=attempt == 0
        )
        if found is None:
            return False
        extra_rows, extra_cols, violated = found
        if not violated:
            for r, c in enumerate(mentor_of.tolist()):
                if c >= 0:
                    round_.assigned[int(rows[r])] = int(usable[c])
                    round_.remaining[usable[c]] -= 1
            return True
        pairs = np.unique(np.concatenate([cand_rows * usable.size + cand_cols, extra_rows * usable.size + extra_cols]))
        cand_rows, cand_cols = pairs // usable.size, pairs % usable.size
    return False


SAMPLE = 256
"""Mentors (mentees) sampled to estimate each mentee's (mentor's) k-th best score."""


def _kth_best(values: Matrix, k: int) -> Matrix:
    """Each row's ``k``-th largest value (``-inf`` when the row has fewer than ``k``)."""
    if k > values.shape[1]:
        return np.full(values.shape[0], -np.inf)
    kth: Matrix = np.partition(values, values.shape[1] - k, axis=1)[:, values.shape[1] - k]
    return kth


def _sample(size: int) -> Indices:
    sample: Indices = np.unique(np.linspace(0, size - 1, min(size, SAMPLE)).astype(np.intp))
    return sample


def _top_candidates(
    scores: Matrix, allowed: Mask, rows: Indices, usable: Indices, k: int, k_mentor: int
) -> tuple[Indices, Indices]:
    """(row, column) positions, in ``rows`` x ``usable``, of the allowed pairs among each mentee's about
    ``k`` best mentors or each mentor's about ``k_mentor`` best mentees (any candidate set is correct: the
    certificate decides; this one is cheap). The k-th best is estimated on a sample of the other side
    (exact when that side is at most ``SAMPLE``): a score at least the sample's ``k x sample / all``-th best."""
    n_rows, n_cols = rows.size, usable.size
    columns, lines = _sample(n_cols), _sample(n_rows)
    rank = max(1, round(k * columns.size / n_cols))
    sampled = np.where(allowed[np.ix_(rows[lines], usable)], scores[np.ix_(rows[lines], usable)], -np.inf)
    mentor_rank = max(1, round(k_mentor * lines.size / n_rows))
    mentor_bar = _kth_best(np.ascontiguousarray(sampled.T), mentor_rank) if k_mentor > 0 else np.full(n_cols, np.inf)
    mentor_bar[~np.isfinite(mentor_bar)] = -np.inf if k_mentor > 0 else np.inf
    found_rows, found_cols = [], []
    for a, b in row_blocks(n_rows):
        masked = np.where(_block(allowed, rows, usable, a, b), _block(scores, rows, usable, a, b), -np.inf)
        bar = _kth_best(masked[:, columns], rank)
        chosen = masked >= bar[:, None]
        chosen |= masked >= mentor_bar[None, :]
        chosen &= np.isfinite(masked)
        heavy = np.flatnonzero(np.count_nonzero(chosen, axis=1) > 4 * k)
        if heavy.size:  # many ties at the bar: the exact k best of those rows only
            exact = masked[heavy]
            chosen[heavy] = exact >= _kth_best(exact, min(k, n_cols))[:, None]
            chosen[heavy] &= np.isfinite(exact)
        r, c = np.nonzero(chosen)
        found_rows.append(r + a)
        found_cols.append(c)
    return np.concatenate(found_rows).astype(np.intp), np.concatenate(found_cols).astype(np.intp)


def _solve_sparse(
    n_rows: int,
    n_mentors: int,
    remaining: npt.NDArray[np.int64],
    cand_rows: Indices,
    cand_cols: Indices,
    weights: Matrix,
    unit: float,
    big: float,
) -> Indices:
    """The optimum over the candidate pairs: ``mentor_of[r]`` = the column of mentee ``r``, or -1.

    Mentees x (mentor slots + one "unmatched" column per mentee): a pair costs ``2 unit - w`` (positive),
    staying unmatched ``BIG + 2 unit``; each mentee takes exactly one column, so this is the weight
    ``BIG + w`` per pair, negated and shifted by the same constant per mentee."""
    per_mentor = np.bincount(cand_cols, minlength=n_mentors)
    slots = np.minimum(remaining, per_mentor)
    first_slot = np.cumsum(slots) - slots
    n_slots = int(slots.sum())
    repeat = slots[cand_cols]
    edge_rows = np.repeat(cand_rows, repeat)
    offsets = np.arange(edge_rows.size) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    edge_cols = np.repeat(first_slot[cand_cols], repeat) + offsets
    edge_cost = np.repeat(2.0 * unit - weights, repeat)
    graph = sparse.csr_matrix(
        (
            np.concatenate([edge_cost, np.full(n_rows, big + 2.0 * unit)]),
            (np.concatenate([edge_rows, np.arange(n_rows)]), np.concatenate([edge_cols, n_slots + np.arange(n_rows)])),
        ),
        shape=(n_rows, n_slots + n_rows),
    )
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)
    slot_mentor = np.repeat(np.arange(n_mentors), slots)
    mentor_of = np.full(n_rows, -1, dtype=np.intp)
    real = matched_cols < n_slots
    mentor_of[matched_rows[real]] = slot_mentor[matched_cols[real]]
    return mentor_of


def _least_prices(
    n_mentors: int,
    remaining: npt.NDArray[np.int64],
    cand_rows: Indices,
    cand_cols: Indices,
    weights: Matrix,
    mentor_of: Indices,
    big: float,
) -> Matrix | None:
    """The least mentor prices ``v`` that, with ``u[i] = BIG + w[i, mentor_of[i]] - v[mentor_of[i]]``
    (0 when unmatched), are dual feasible on the candidate pairs and complementary to ``mentor_of``; None
    when there are none (the candidate solve was not optimal: never expected).

    The dual constraints are difference constraints ``v[b] - v[a] <= c`` (over the mentors and a node ``z``
    with ``v[z] = 0``): their least solution is minus the shortest distances from ``z`` along edges
    ``b -> a`` of length ``c``."""
    z = n_mentors
    matched = mentor_of >= 0
    own_pair = matched[cand_rows] & (mentor_of[cand_rows] == cand_cols)
    own = np.zeros(mentor_of.size)
    own[cand_rows[own_pair]] = weights[own_pair]
    m = mentor_of[cand_rows]
    other = matched[cand_rows] & ~own_pair
    loose = ~matched[cand_rows]
    load = np.bincount(mentor_of[matched], minlength=n_mentors)
    mentors = np.arange(n_mentors)
    not_full = mentors[load < remaining]
    matched_rows = np.flatnonzero(matched)
    sources = np.concatenate([
        m[other],                       # v[m] - v[j] <= w[i, m] - w[i, j]
        np.full(int(loose.sum()), z),   # v[z] - v[j] <= -(BIG + w[i, j])  (i unmatched: v[j] >= BIG + w)
        mentor_of[matched_rows],        # v[m] - v[z] <= BIG + w[i, m]      (u[i] >= 0)
        np.full(n_mentors, z),          # v[z] - v[j] <= 0                  (v[j] >= 0)
        not_full,                       # v[j] - v[z] <= 0                  (a mentor with a free slot)
    ])  # fmt: skip
    targets = np.concatenate([
        cand_cols[other], cand_cols[loose], np.full(matched_rows.size, z), mentors, np.full(not_full.size, z)
    ])  # fmt: skip
    lengths = np.concatenate([
        own[cand_rows[other]] - weights[other],
        -(big + weights[loose]),
        big + own[matched_rows],
        np.zeros(n_mentors),
        np.zeros(not_full.size),
    ])  # fmt: skip
    # One edge per (source, target), the tightest (a sparse matrix would add duplicates up).
    order = np.lexsort((lengths, targets, sources))
    sources, targets, lengths = sources[order], targets[order], lengths[order]
    first = np.ones(sources.size, dtype=bool)
    first[1:] = (sources[1:] != sources[:-1]) | (targets[1:] != targets[:-1])
    distances = _shortest_distances(z + 1, sources[first], targets[first], lengths[first], z)
    if distances is None or distances[z] != 0.0:
        return None
    prices: Matrix = -distances[:z]
    return prices


def _shortest_distances(nodes: int, sources: Indices, targets: Indices, lengths: Matrix, origin: int) -> Matrix | None:
    """Bellman-Ford from ``origin``, a whole pass over the edges at a time (vectorised); None when a
    negative cycle is reachable (still improving after ``nodes`` passes)."""
    order = np.argsort(targets, kind="stable")
    sources, targets, lengths = sources[order], targets[order], lengths[order]
    starts = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])
    heads = targets[starts]
    distances = np.full(nodes, np.inf)
    distances[origin] = 0.0
    for _ in range(nodes + 1):
        reached = np.minimum.reduceat(distances[sources] + lengths, starts)
        better = reached < distances[heads]
        if not better.any():
            return distances
        distances[heads[better]] = reached[better]
    return None


def _violations(
    round_: _Round,
    rows: Indices,
    usable: Indices,
    mentor_of: Indices,
    prices: Matrix,
    unit: float,
    big: float,
    k: int,
    near: float,
    check: bool,
) -> tuple[Indices, Indices, bool] | None:
    """Allowed pairs of the whole pool whose dual constraint ``u[i] + v[j] >= BIG + w[i, j]`` fails or is
    within ``near`` (units) of failing: at most the ``k`` worst per mentee; and whether any fails (integers:
    exact; only that decides the certificate). With ``check``, None if a score is not a whole multiple of
    ``1 / unit`` (within 1e-6)."""
    scores, allowed = round_.pool.scores, round_.allowed
    matched = mentor_of >= 0
    at = np.maximum(mentor_of, 0)
    # profit[i] = u[i] - BIG: what mentee i keeps over BIG (-BIG when unmatched: u[i] = 0).
    own = np.rint(scores[rows, usable[at]] * unit)
    profit = np.where(matched, own - prices[at], -big)
    found_rows, found_cols = [], []
    violated = False
    for a, b in row_blocks(rows.size):
        scaled = _block(scores, rows, usable, a, b) * unit
        excess = np.rint(scaled)
        if check:
            scaled -= excess
            if np.max(np.abs(scaled), initial=0.0) > 1e-6:
                return None
        excess -= profit[a:b, None]
        excess -= prices[None, :]
        excess[~_block(allowed, rows, usable, a, b)] = -np.inf
        worst = excess.max(axis=1, initial=-np.inf)
        violated = violated or bool((worst > 0.5).any())
        bad_rows = np.flatnonzero(worst > 0.5 - near)
        if bad_rows.size == 0:
            continue
        bad = excess[bad_rows]
        hot = bad > 0.5 - near
        many = np.count_nonzero(hot, axis=1) > k
        # A row with at most k such pairs gives them all (what its k worst are, filtered); only the others
        # need the k worst picked out (every matched row has one: its own pair, at 0).
        r, c = np.nonzero(hot[~many])
        found_rows.append(bad_rows[~many][r] + a)
        found_cols.append(c)
        if many.any():
            rows_many, crowded = bad_rows[many], bad[many]
            kk = min(k, crowded.shape[1])
            top = np.argpartition(crowded, crowded.shape[1] - kk, axis=1)[:, crowded.shape[1] - kk :]
            keep = np.take_along_axis(crowded, top, axis=1) > 0.5 - near
            r, _ = np.nonzero(keep)
            found_rows.append(rows_many[r] + a)
            found_cols.append(top[keep])
    if not found_rows:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), violated
    return np.concatenate(found_rows).astype(np.intp), np.concatenate(found_cols).astype(np.intp), violated


def _solve_greedy(round_: _Round) -> None:
    scores = round_.pool.scores
    for i in round_.open_rows.tolist():
        candidates = round_.allowed[i] & (round_.remaining > 0)
        if not candidates.any():
            continue
        j = int(np.argmax(np.where(candidates, scores[i], -np.inf)))  # ties: the lowest mentor id
        round_.assigned[i] = j
        round_.remaining[j] -= 1


# ---------------------------------------------------------------------------------------------- results


def _count(n: int, total: int, noun: str = "mentor") -> str:
    if n == total:
        return f"the one {noun}" if total == 1 else f"any {noun}"
    return f"{n} of {total} {noun}s"


def _unmatched_reasons(round_: _Round, i: int) -> tuple[str, ...]:
    """Why mentee ``i`` got no mentor: a headline, then how many mentors each constraint ruled out (each
    mentor counted once, under the first of: excluded, conflict, language, already full)."""
    pool = round_.pool
    total = len(pool.mentors)
    if total == 0:
        return ("no mentors in the pool",)
    left = np.ones(total, dtype=bool)
    excluded = pool.excluded[i] & left
    left &= ~excluded
    conflicted = pool.conflicted[i] & left
    left &= ~conflicted
    silent = ~pool.speaks[i] & left
    left &= ~silent
    full = (pool.free <= 0) & left
    left &= ~full
    taken = int(left.sum())  # compatible with free capacity, yet every slot went to other mentees (or pins)
    details = []
    if n := int(excluded.sum()):
        details.append(f"excluded by a coordinator from {_count(n, total)}")
    if n := int(conflicted.sum()):
        details.append(f"conflict of interest with {pool.mentees[i].institution_id} declared by {_count(n, total)}")
    if n := int(silent.sum()):
        spoken = words(list(pool.mentee_features[i].languages.values())) or "no language given"
        details.append(f"no shared language with {_count(n, total)} (mentee speaks {spoken})")
    if n := int(full.sum()):
        details.append(f"{n} otherwise compatible mentor{'s are' if n > 1 else ' is'} already full")
    if taken == 1:
        headline = "the one compatible mentor with free capacity went to another mentee"
    elif taken:
        headline = (
            f"{'both' if taken == 2 else f'all {taken}'} compatible mentors with free capacity went to other mentees"
        )
    elif full.any():
        headline = "all compatible mentors are full"
    else:
        headline = "no compatible mentor"
    return (headline, *details)


def _top3(pool: _Pool, allowed_at_start: Mask, pairs: Sequence[tuple[int, int]]) -> int:
    """How many of ``pairs`` give the mentee one of its ``TOP`` best feasible mentors (ties count): fewer
    than ``TOP`` feasible mentors score strictly more than the one chosen."""
    if not pairs:
        return 0
    rows = np.array([i for i, _ in pairs], dtype=np.intp)
    columns = np.array([j for _, j in pairs], dtype=np.intp)
    chosen = pool.scores[rows, columns]
    every = np.arange(pool.scores.shape[1])
    count = 0
    for a, b in row_blocks(rows.size):
        better = _block(pool.scores, rows, every, a, b) > chosen[a:b, None]
        better &= _block(allowed_at_start, rows, every, a, b)
        count += int(np.sum(np.count_nonzero(better, axis=1) < TOP))
    return count


def _result(round_: _Round) -> MatchingResult:
    pool = round_.pool
    proposals, unmatched = [], []
    for i, mentee in enumerate(pool.mentees):
        if i in round_.assigned:
            j = round_.assigned[i]
            value, reasons = score_features(pool.mentee_features[i], pool.mentor_features[j])
            pinned = i in round_.pinned
            if pinned:
                reasons = (PINNED, *reasons)
            proposals.append(
                Proposal(
                    mentee_id=mentee.mentee_id,
                    mentor_id=pool.mentors[j].mentor_id,
                    score=value,
                    reasons=reasons,
                    pinned=pinned,
                )
            )
        elif i in round_.refused:
            unmatched.append(Unmatched(mentee_id=mentee.mentee_id, reasons=(round_.refused[i],)))
        else:
            unmatched.append(Unmatched(mentee_id=mentee.mentee_id, reasons=_unmatched_reasons(round_, i)))
    allowed_at_start = pool.allowed & (pool.free > 0)[None, :]
    top = _top3(pool, allowed_at_start, sorted(round_.assigned.items()))
    total = sum(p.score for p in proposals)
    summary = MatchingSummary(
        matched=len(proposals),
        unmatched=len(unmatched),
        mean_score=total / len(proposals) if proposals else 0.0,
        top3_share=top / len(proposals) if proposals else 0.0,
        total_score=total,
    )
    return MatchingResult(proposals=tuple(proposals), unmatched=tuple(unmatched), summary=summary)


def match(inp: MatchingInput) -> MatchingResult:
    """The best proposals for the whole round: pins first, then as many mentees matched as possible, and
    among those assignments the highest total score. Unmatched mentees come with the reasons why."""
    round_ = _apply_pins(_Pool.of(inp), inp)
    _solve_optimal(round_)
    return _result(round_)


def greedy_match(inp: MatchingInput) -> MatchingResult:
    """A baseline for comparison: pins first, then each mentee in id order takes its best-scoring feasible
    mentor that still has a free slot (ties: the lowest mentor id)."""
    round_ = _apply_pins(_Pool.of(inp), inp)
    _solve_greedy(round_)
    return _result(round_)

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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from domain.matching.models import MatchingInput, MatchingResult, MatchingSummary, Proposal, Unmatched
from domain.matching.scoring import (
    Mask,
    Matrix,
    MenteeFeatures,
    MentorFeatures,
    conflicts,
    languages_shared,
    score_features,
    score_matrix,
)
from domain.matching.text import words
from domain.people import MenteeProfile, MentorProfile

Indices = npt.NDArray[np.intp]

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
        )

    @property
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
    rows = round_.open_rows
    usable = np.flatnonzero(round_.remaining > 0)
    if rows.size == 0 or usable.size == 0:
        return
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
    chosen_rows, chosen_slots = linear_sum_assignment(cost)
    del cost
    for r, s in zip(chosen_rows.tolist(), chosen_slots.tolist(), strict=True):
        c = int(slot_column[s])
        if allowed[r, c]:
            round_.assigned[int(rows[r])] = int(usable[c])
            round_.remaining[usable[c]] -= 1


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
    """How many of ``pairs`` give the mentee one of its ``TOP`` best feasible mentors (ties count)."""
    if not pairs:
        return 0
    rows = np.array([i for i, _ in pairs], dtype=np.intp)
    columns = np.array([j for _, j in pairs], dtype=np.intp)
    candidates = np.where(allowed_at_start[rows], pool.scores[rows], -np.inf)
    k = min(TOP, candidates.shape[1])
    threshold = -np.partition(-candidates, k - 1, axis=1)[:, k - 1]
    chosen = pool.scores[rows, columns]
    return int(np.sum(chosen >= threshold))


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

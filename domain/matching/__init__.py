"""Matching mentees to mentors for a round of the programme: pure computation (numpy and scipy), no I/O.

- :func:`match`: the optimal proposals for a whole pool (most mentees matched, then the highest total score);
- :func:`greedy_match`: a baseline, each mentee in turn taking its best free mentor;
- :func:`score`: one pair's score in 0..1 with its reasons in words (weights in :mod:`.scoring`);
- :func:`feasible`: why a pair may not be proposed (exclusion, conflict, language, capacity), or None.

Not imported by :mod:`domain` itself: workflows must call it from an activity, never in workflow code.
"""

from domain.matching.models import (
    Exclusion,
    MatchingInput,
    MatchingResult,
    MatchingSummary,
    Pin,
    Proposal,
    Unmatched,
)
from domain.matching.scoring import WEIGHTS, score
from domain.matching.solver import feasible, greedy_match, match

__all__ = [
    "WEIGHTS",
    "Exclusion",
    "MatchingInput",
    "MatchingResult",
    "MatchingSummary",
    "Pin",
    "Proposal",
    "Unmatched",
    "feasible",
    "greedy_match",
    "match",
    "score",
]

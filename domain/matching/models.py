"""The inputs and results of a matching round (frozen pydantic models)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from pydantic import Field, model_validator

from domain.frozen import Frozen
from domain.people import Id, MenteeProfile, MentorProfile


class Pin(Frozen):
    """A coordinator's decision: this mentee gets this mentor (if the hard constraints allow it)."""

    mentee_id: Id
    mentor_id: Id


class Exclusion(Frozen):
    """A coordinator's decision: never pair this mentee with this mentor."""

    mentee_id: Id
    mentor_id: Id


def _duplicates(ids: list[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


class MatchingInput(Frozen):
    """One round: who is waiting, who can mentor, and the coordinators' pins and exclusions.

    ``mentor_load`` counts the slots a mentor already uses (e.g. partnerships from earlier rounds); a
    mentor's free capacity is ``capacity - mentor_load``. Ids of unknown mentors there are ignored, and so
    are exclusions that name unknown people. A pin must name a mentee of this round (at most one pin each);
    a pin naming an unknown mentor is refused like any other invalid pin (see :func:`match`).
    """

    mentees: list[MenteeProfile] = []
    mentors: list[MentorProfile] = []
    pins: list[Pin] = []
    exclusions: list[Exclusion] = []
    mentor_load: dict[str, Annotated[int, Field(ge=0)]] = {}

    @model_validator(mode="after")
    def _consistent(self) -> MatchingInput:
        problems = []
        if dup := _duplicates([m.mentee_id for m in self.mentees]):
            problems.append(f"mentees listed more than once: {_some(dup)}")
        if dup := _duplicates([m.mentor_id for m in self.mentors]):
            problems.append(f"mentors listed more than once: {_some(dup)}")
        if dup := _duplicates([p.mentee_id for p in self.pins]):
            problems.append(f"mentees pinned more than once: {_some(dup)}")
        known = {m.mentee_id for m in self.mentees}
        if unknown := sorted({p.mentee_id for p in self.pins} - known):
            problems.append(f"pins for mentees not in this round: {_some(unknown)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _some(ids: list[str], shown: int = 10) -> str:
    """A few of ``ids`` and how many more: a message stays short however many there are."""
    more = len(ids) - shown
    return ", ".join(ids[:shown]) + (f" and {more} more" if more > 0 else "")


class Proposal(Frozen):
    mentee_id: str
    mentor_id: str
    score: float
    """0..1, see :func:`domain.matching.score`."""
    reasons: tuple[str, ...]
    """Why this pair fits, in words (what the match_proposed signal carries)."""
    pinned: bool = False


class Unmatched(Frozen):
    mentee_id: str
    reasons: tuple[str, ...]
    """Why no mentor was proposed, in words (e.g. ``no shared language with 3 mentors``)."""


class MatchingSummary(Frozen):
    matched: int
    unmatched: int
    mean_score: float
    """Mean score of the proposals (0 when there are none)."""
    top3_share: float
    """Share of matched mentees whose mentor is among their three best-scoring feasible mentors (ties count)."""
    total_score: float


class MatchingResult(Frozen):
    proposals: tuple[Proposal, ...]
    """Ordered by mentee id."""
    unmatched: tuple[Unmatched, ...]
    """Ordered by mentee id."""
    summary: MatchingSummary

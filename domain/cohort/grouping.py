"""Subject groups: participants grouped by a shared interest, at most ``max_size`` a group (20 in EntryPoint),
and the gatherings a cohort plan starts (its own, and the subject groups of its matched partnerships)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from domain.cohort.lifecycle import CohortPlan
from domain.frozen import Frozen
from domain.gathering.plan import SUBJECT_GROUP_SIZE, GatheringPlan
from domain.partnership.commands import GatheringKind
from domain.partnership.state import MATCHED_STAGES, PartnershipState


class Group(Frozen):
    subject: str
    members: tuple[str, ...]


def _key(interest: str) -> str:
    return " ".join(interest.lower().split())


def plan_groups(
    interests: Mapping[str, Sequence[str]], max_size: int = SUBJECT_GROUP_SIZE, min_size: int = 3
) -> list[Group]:
    """Put every participant in one group on an interest they share with others; deterministic.

    The most widely shared interests become subjects first; a subject with more takers than ``max_size``
    is split into parts of even size. Participants with no interest shared by ``min_size`` people go to
    an "open topics" group (split the same way).
    """
    if max_size < 1 or min_size < 1:
        raise ValueError("group sizes must be positive")
    labels: dict[str, str] = {}
    for person in sorted(interests):
        for interest in interests[person]:
            labels.setdefault(_key(interest), interest.strip())
    remaining = {p: {_key(i) for i in interests[p] if i.strip()} for p in sorted(interests)}
    groups: list[Group] = []
    while True:
        counts = Counter(i for wanted in remaining.values() for i in wanted)
        candidates = [(n, i) for i, n in counts.items() if n >= min_size]
        if not candidates:
            break
        _count, subject = min(candidates, key=lambda item: (-item[0], item[1]))
        members = sorted(p for p, wanted in remaining.items() if subject in wanted)
        groups.extend(_split(labels[subject], members, max_size))
        for p in members:
            del remaining[p]
    rest = sorted(remaining)
    if rest:
        groups.extend(_split("open topics", rest, max_size))
    return groups


def _split(subject: str, members: list[str], max_size: int) -> list[Group]:
    parts = -(-len(members) // max_size)
    if parts == 1:
        return [Group(subject=subject, members=tuple(members))]
    size = -(-len(members) // parts)
    return [
        Group(subject=f"{subject} ({n + 1}/{parts})", members=tuple(members[n * size : (n + 1) * size]))
        for n in range(parts)
    ]


def gathering_plans(plan: CohortPlan, states: Sequence[PartnershipState]) -> list[GatheringPlan]:
    """The gatherings ``plan`` starts: its own, then (when it sets ``group_subjects_at``) one subject group
    meeting per group of matched partnerships sharing an interest, ``group-01`` ... with the members invited."""
    plans = [
        GatheringPlan(
            cohort_id=plan.cohort_id,
            gathering_id=g.gathering_id,
            kind=g.kind,
            subject=g.subject,
            starts_at=g.starts_at,
            duration_hours=g.hours,
            place=g.place,
            capacity=g.capacity,
            **_timing(plan),
        )
        for g in plan.gatherings
    ]
    if plan.group_subjects_at is None:
        return plans
    interests = {
        s.partnership_id: list(s.mentee.interests) or [s.mentee.field]
        for s in states
        if s.mentee is not None and s.stage in MATCHED_STAGES
    }
    for number, group in enumerate(plan_groups(interests), start=1):
        plans.append(
            GatheringPlan(
                cohort_id=plan.cohort_id,
                gathering_id=f"group-{number:02d}",
                kind=GatheringKind.GROUP,
                subject=group.subject,
                starts_at=plan.group_subjects_at,
                duration_hours=plan.group_hours,
                place="to be announced",
                capacity=SUBJECT_GROUP_SIZE,
                invitees=group.members,
                **_timing(plan),
            )
        )
    return plans


def _timing(plan: CohortPlan) -> dict[str, Any]:
    """The plan's gathering timing overrides (a demo's fast clock), for each GatheringPlan."""
    timing: dict[str, Any] = {}
    if plan.attendance_grace is not None:
        timing["attendance_grace"] = plan.attendance_grace
    if plan.gathering_length is not None:
        timing["length"] = plan.gathering_length
    return timing

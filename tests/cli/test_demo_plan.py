"""The demo cohort's fast clock reaches its gatherings: they close before the cohort does, and the details count
them in good English."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.cohort import gathering_plans
from domain.gathering.plan import GatheringPlan
from domain.partnership.commands import GatheringKind
from tests.domain.builders import active
from workers.cohorts import _planned
from workers.demo import plan


def test_demo_gatherings_close_before_the_demo_cohort_closes() -> None:
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    cohort = plan("demo-0800", now)
    assert cohort.group_subjects_at is not None
    cohort_closes = cohort.programme_end + cohort.review_window
    matched = active().state.replace(partnership_id="partnership-demo-0800-m1")
    gatherings = gathering_plans(cohort, [matched])
    assert {g.kind for g in gatherings} == {GatheringKind.COLLECTIVE, GatheringKind.GROUP}, "planned and a group"
    for gathering in gatherings:
        assert gathering.closes_at < cohort_closes, gathering.gathering_id
        assert gathering.duration_hours >= 2  # the hours credited are the real ones; only the clock is fast


def test_a_gathering_without_the_demo_clock_keeps_its_hours_and_a_week_for_attendance() -> None:
    starts = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    gathering = GatheringPlan(
        cohort_id="c",
        gathering_id="g",
        kind="collective",
        subject="s",
        starts_at=starts,
        duration_hours=3,
        place="p",
        capacity=100,
    )
    assert (gathering.ends_at - starts).total_seconds() == 3 * 3600
    assert (gathering.closes_at - gathering.ends_at).days == 7


def test_the_cohort_details_count_gatherings_in_the_singular_and_the_plural() -> None:
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    one = plan("demo-0800", now)
    assert _planned(one) == "1 planned gathering and subject groups"
    two = one.model_copy(update={"gatherings": one.gatherings * 2, "group_subjects_at": None})
    assert _planned(two) == "2 planned gatherings"

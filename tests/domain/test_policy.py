from datetime import timedelta

import pytest
from pydantic import ValidationError

from domain import DegreeLevel, Policy

DURATIONS = [
    "signing_deadline",
    "signing_reminder",
    "meeting_cadence",
    "lapse_grace",
    "escalation_after",
    "programme_length",
    "review_window",
    "review_reminder",
]


def test_defaults_follow_the_programme() -> None:
    policy = Policy()
    assert policy.programme_length == timedelta(days=182)
    assert policy.meeting_cadence == timedelta(days=30)
    assert (policy.target_hours_min, policy.target_hours_max) == (16.0, 24.0)
    assert policy.eligible_degree_levels == (DegreeLevel.BACHELOR, DegreeLevel.MASTER, DegreeLevel.PHD)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("P30D", timedelta(days=30)),
        ("PT10S", timedelta(seconds=10)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("PT1.5S", timedelta(seconds=1.5)),
        (3600, timedelta(hours=1)),
        (2.5, timedelta(seconds=2.5)),
        (timedelta(days=40), timedelta(days=40)),
    ],
)
def test_durations_accept_iso_8601_and_seconds(raw: object, expected: timedelta) -> None:
    assert Policy.model_validate({"meeting_cadence": raw}).meeting_cadence == expected


@pytest.mark.parametrize("name", DURATIONS)
@pytest.mark.parametrize("raw", [0, -1, "PT0S", "-P1D", -0.5])
def test_zero_and_negative_durations_are_rejected(name: str, raw: object) -> None:
    with pytest.raises(ValidationError, match="positive duration"):
        Policy.model_validate({name: raw})


def test_nonsense_duration_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate({"meeting_cadence": "thirty days"})


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"signing_reminder": "P14D", "signing_deadline": "P14D"}, "signing_reminder must come before"),
        ({"signing_reminder": "P20D", "signing_deadline": "P14D"}, "signing_reminder must come before"),
        ({"lapse_grace": "P21D", "escalation_after": "P21D"}, "lapse_grace must be shorter"),
        ({"lapse_grace": "P30D"}, "lapse_grace must be shorter"),
        ({"review_reminder": "P14D"}, "review_reminder must come before"),
        ({"target_hours_min": 30}, "target_hours_min must not exceed"),
    ],
)
def test_ordering_is_checked(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Policy.model_validate(fields)


def test_hours_must_not_be_negative() -> None:
    with pytest.raises(ValidationError):
        Policy(target_hours_min=-1)


def test_degree_levels_are_deduplicated_in_canonical_order_and_never_empty() -> None:
    policy = Policy(eligible_degree_levels=(DegreeLevel.PHD, DegreeLevel.MASTER, DegreeLevel.PHD))
    assert policy.eligible_degree_levels == (DegreeLevel.MASTER, DegreeLevel.PHD)
    with pytest.raises(ValidationError, match="at least one degree level"):
        Policy(eligible_degree_levels=())


def test_with_overrides_replaces_fields_and_validates_the_whole() -> None:
    base = Policy()
    changed = base.with_overrides({"lapse_grace": "P3D", "meeting_cadence": 14 * 86400, "target_hours_max": 30})
    assert changed.lapse_grace == timedelta(days=3)
    assert changed.meeting_cadence == timedelta(days=14)
    assert changed.target_hours_max == 30
    assert changed.escalation_after == base.escalation_after
    assert base.lapse_grace == timedelta(days=7), "the original is untouched"


@pytest.mark.parametrize("overrides", [None, {}])
def test_with_no_overrides_is_the_same_policy(overrides: dict[str, object] | None) -> None:
    base = Policy()
    assert base.with_overrides(overrides) is base


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"lapse_grace": "P30D"}, "lapse_grace must be shorter"),
        ({"review_window": "PT0S"}, "positive duration"),
        ({"no_such_field": 1}, "no_such_field"),
    ],
)
def test_with_overrides_rejects_bad_results(overrides: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Policy().with_overrides(overrides)


def test_policy_is_frozen() -> None:
    with pytest.raises(ValidationError):
        Policy().meeting_cadence = timedelta(days=1)  # type: ignore[misc]


def test_fast_policy_is_one_day_per_unit() -> None:
    real, fast = Policy(), Policy.fast()
    for name in DURATIONS:
        assert getattr(fast, name) == getattr(real, name) / timedelta(days=1) * timedelta(seconds=1), name
    assert fast.signing_deadline == timedelta(seconds=14)
    assert fast.programme_length == timedelta(seconds=182)


def test_fast_policy_with_another_unit_keeps_the_other_fields() -> None:
    fast = Policy.fast(timedelta(minutes=1))
    assert fast.meeting_cadence == timedelta(minutes=30)
    assert fast.escalation_after == timedelta(minutes=21)
    assert (fast.target_hours_min, fast.target_hours_max) == (16.0, 24.0)
    assert fast.eligible_degree_levels == Policy().eligible_degree_levels


def test_policy_round_trips_through_json() -> None:
    policy = Policy.fast().with_overrides({"eligible_degree_levels": ["phd", "master"]})
    assert Policy.model_validate_json(policy.model_dump_json()) == policy

"""Scoring one pair: the parts, their weights, and the reasons in words."""

from __future__ import annotations

import random

import pytest

from domain import DegreeLevel, Sector
from domain.matching import WEIGHTS, score
from domain.matching.scoring import MenteeFeatures, MentorFeatures, score_matrix
from domain.matching.text import language_key, phrase, tokens
from tests.matching.builders import mentee, mentor


def test_the_weights_sum_to_one() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_a_perfect_pair_scores_one_and_says_why() -> None:
    e = mentee(
        "s-1",
        degree_level=DegreeLevel.PHD,
        field="Data Science",
        interests=("Start-ups", "AI"),
        languages=("fi", "en"),
        goals=("a job in machine learning research",),
        preferred_sector=Sector.PRIVATE,
    )
    r = mentor(
        "m-1",
        expertise=("data science", "machine learning research"),
        interests=("startups", "ai"),
        languages=("en", "fi"),
    )
    value, reasons = score(e, r)
    assert value == pytest.approx(1.0)
    assert reasons == (
        "shared field: Data Science",
        "both speak Finnish and English",
        "sector preference: private",
        "shared interests: Start-ups, AI",
        "goals match: machine, research",
        "research experience for a PhD mentee",
    )


def test_nothing_in_common_scores_zero_apart_from_neutral_parts() -> None:
    e = mentee("s-1", field="law", interests=("chess",), goals=("become a judge",), preferred_sector=Sector.PUBLIC)
    r = mentor("m-1", expertise=("welding",), interests=("sailing",), sector=Sector.PRIVATE)
    value, reasons = score(e, r)
    assert value == pytest.approx(WEIGHTS["degree"] * 0.5)  # a Master's mentee: degree level is neutral
    assert reasons == ("both speak English",)


def test_a_related_field_earns_part_of_the_field_weight() -> None:
    exact, _ = score(mentee("s-1", field="data science"), mentor("m-1", expertise=("data science",)))
    related, reasons = score(mentee("s-1", field="data science"), mentor("m-1", expertise=("data engineering", "law")))
    unrelated, _ = score(mentee("s-1", field="data science"), mentor("m-1", expertise=("law",)))
    assert exact - unrelated == pytest.approx(WEIGHTS["field"])
    assert related - unrelated == pytest.approx(WEIGHTS["field"] * 0.6 * 0.5)  # one of two words
    assert "related field: data science ~ data engineering" in reasons


def test_interests_are_compared_as_phrases_jaccard() -> None:
    e = mentee("s-1", interests=("start-ups", "AI", "music"))
    with_two, reasons = score(e, mentor("m-1", interests=("Startups", "ai", "golf")))
    without, _ = score(e, mentor("m-1", interests=("golf",)))
    assert with_two - without == pytest.approx(WEIGHTS["interests"] * 2 / 4)
    assert "shared interests: start-ups, AI" in reasons


def test_the_preferred_sector_counts_and_no_preference_is_neutral() -> None:
    public = mentor("m-1", sector=Sector.PUBLIC)
    wanted, reasons = score(mentee("s-1", preferred_sector=Sector.PUBLIC), public)
    other, _ = score(mentee("s-1", preferred_sector=Sector.THIRD), public)
    neutral, _ = score(mentee("s-1"), public)
    assert wanted - other == pytest.approx(WEIGHTS["sector"])
    assert neutral - other == pytest.approx(WEIGHTS["sector"] / 2)
    assert "sector preference: public" in reasons


def test_phd_mentees_are_drawn_to_research() -> None:
    phd = mentee("s-1", degree_level=DegreeLevel.PHD)
    research, reasons = score(phd, mentor("m-1", expertise=("data science", "R&D")))
    plain, _ = score(phd, mentor("m-1", expertise=("data science",)))
    assert research - plain == pytest.approx(WEIGHTS["degree"])
    assert "research experience for a PhD mentee" in reasons
    master = mentee("s-2")
    assert score(master, mentor("m-1", expertise=("data science", "R&D")))[0] == score(master, mentor("m-1"))[0]


def test_goals_match_words_of_expertise_and_interests_ignoring_common_words() -> None:
    e = mentee("s-1", goals=("find a job in product management", "learn about fintech"))
    one, _ = score(e, mentor("m-1", expertise=("data science", "product design")))
    two, reasons = score(e, mentor("m-1", expertise=("data science", "product management")))
    three, _ = score(e, mentor("m-1", expertise=("data science", "product management"), interests=("fintech",)))
    none, _ = score(e, mentor("m-1", expertise=("data science", "job coaching")))  # "job" is too common
    assert one - none == pytest.approx(WEIGHTS["goals"] / 2)
    assert two - none == pytest.approx(WEIGHTS["goals"])
    assert three == pytest.approx(two)  # capped: two shared words already earn the whole goals part
    assert "goals match: management, product" in reasons


@pytest.mark.parametrize(
    ("mentee_languages", "mentor_languages", "reason"),
    [
        (("fi",), ("fi", "en"), "both speak Finnish"),
        (("Finnish", "sv"), ("suomi", "SV"), "both speak Finnish and Swedish"),
        (("en", "fi", "sv"), ("sv", "fi", "en"), "both speak English, Finnish and Swedish"),
        (("et",), ("et",), "both speak et"),
    ],
)
def test_shared_languages_are_named(
    mentee_languages: tuple[str, ...], mentor_languages: tuple[str, ...], reason: str
) -> None:
    _, reasons = score(mentee("s-1", languages=mentee_languages), mentor("m-1", languages=mentor_languages))
    assert reason in reasons


def test_text_normalisation() -> None:
    assert phrase("  Start-ups ") == phrase("startups") == "startups"
    assert phrase("Data   Science!") == "data science"
    assert tokens("A job in R&D and C++") == {"r&d", "c++"}
    assert language_key(" FI ") == language_key("Finnish") == "fi"
    assert language_key("de") == "de"


def test_the_pool_matrix_scores_exactly_as_one_pair_does() -> None:
    rng = random.Random(7)
    words = ["data science", "law", "AI", "start-ups", "research", "product management", "design", "climate"]
    mentees = [
        mentee(
            f"s-{i}",
            degree_level=rng.choice(list(DegreeLevel)),
            field=rng.choice([*words, "x"]),
            interests=tuple(rng.sample(words, rng.randint(0, 3))),
            goals=tuple(rng.sample(words, rng.randint(0, 2))),
            preferred_sector=rng.choice([None, *Sector]),
        )
        for i in range(40)
    ]
    mentors = [
        mentor(
            f"m-{j}",
            sector=rng.choice(list(Sector)),
            expertise=tuple(rng.sample(words, rng.randint(0, 3))),
            interests=tuple(rng.sample(words, rng.randint(0, 3))),
        )
        for j in range(30)
    ]
    matrix = score_matrix([MenteeFeatures.of(e) for e in mentees], [MentorFeatures.of(r) for r in mentors])
    for i, e in enumerate(mentees):
        for j, r in enumerate(mentors):
            value = score(e, r)[0]
            assert 0.0 <= value <= 1.0
            assert matrix[i, j] == value

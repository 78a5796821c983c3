"""Small profiles for matching tests: only what a test is about needs saying."""

from __future__ import annotations

from typing import Any

from domain import DegreeLevel, MenteeProfile, MentorProfile, Sector


def mentee(mentee_id: str, **overrides: Any) -> MenteeProfile:
    values: dict[str, Any] = {
        "mentee_id": mentee_id,
        "degree_level": DegreeLevel.MASTER,
        "institution_id": "uni-helsinki",
        "field": "data science",
        "languages": ("en",),
    }
    return MenteeProfile(**(values | overrides))


def mentor(mentor_id: str, **overrides: Any) -> MentorProfile:
    values: dict[str, Any] = {
        "mentor_id": mentor_id,
        "organisation_id": "org-nokia",
        "sector": Sector.PRIVATE,
        "expertise": ("data science",),
        "languages": ("en",),
        "capacity": 1,
    }
    return MentorProfile(**(values | overrides))

"""People and places: mentee and mentor profiles, partner institutions, contacts.

Profiles carry only opaque ids and programme facts. Names and e-mail addresses live in
:class:`Contact`, which the records store keeps apart from the event data (the people registry).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

from domain.frozen import Frozen
from domain.limits import Line, Lines, at_most

Id = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
"""An opaque identifier: never a name or an e-mail address."""


class DegreeLevel(StrEnum):
    BACHELOR = "bachelor"
    MASTER = "master"
    PHD = "phd"


class Role(StrEnum):
    """What a person is to the programme (the people registry's role; a notice's recipient)."""

    MENTEE = "mentee"
    MENTOR = "mentor"
    COORDINATOR = "coordinator"


class Sector(StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"
    THIRD = "third"


class Language(StrEnum):
    """A language the programme writes to people in (the notifications): ``preferred_language``."""

    EN = "en"
    FI = "fi"
    SV = "sv"


DEFAULT_LANGUAGE = Language.EN
"""The language of a person who never said which they prefer."""


class Contact(Frozen):
    """Personal contact data. Stored in the people registry only, never in events or logs."""

    name: Line
    email: EmailStr | None = None
    preferred_language: Language | None = None
    """The language notifications are written in (en, fi or sv); None: never given, so English. Not
    personal data in the registry's sense, but kept out of ids, search attributes and logs all the same."""

    @property
    def language(self) -> Language:
        """The language to write to this person in: ``preferred_language``, or English."""
        return self.preferred_language or DEFAULT_LANGUAGE


class MenteeProfile(Frozen):
    mentee_id: Id
    degree_level: DegreeLevel
    year_of_study: int | None = Field(default=None, ge=1, le=12)
    institution_id: Id
    field: Line
    interests: Lines = ()
    languages: Lines = ()
    goals: Lines = ()
    preferred_sector: Sector | None = None


class MentorProfile(Frozen):
    mentor_id: Id
    organisation_id: Id
    sector: Sector
    expertise: Lines = ()
    interests: Lines = ()
    languages: Lines = ()
    capacity: int = Field(default=1, ge=1, le=3)
    conflicts: Annotated[tuple[Id, ...], at_most("ID_LIST_ITEMS")] = ()
    """Institution or organisation ids the mentor declares a conflict of interest with."""


class Institution(Frozen):
    institution_id: Id
    name: Line
    partner: bool = True

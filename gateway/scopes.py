"""Token scopes, and what a token's scopes allow.

``institution:<institution_id>``  submit and read the applications (partnerships) of its own students only
``participant:<partnership_id>``  a participant portal for one partnership: meetings, diary, withdrawal, review
``esign``                         the e-signature service: agreement signatures
``calendar``                      the calendar service: meetings held, gathering registration and attendance
``coordinator``                   interventions, matching proposals, cohort and gathering actions, reading all
``ops:read``                      read-only lists and statuses
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ID = r"[A-Za-z0-9_.:-]{1,64}"
_PARTNERSHIP_ID = r"[A-Za-z0-9_.:-]{1,128}"
PLAIN_SCOPES = ("esign", "calendar", "coordinator", "ops:read")
_PATTERNS = (
    re.compile(rf"^institution:(?P<institution>{_ID})$"),
    re.compile(rf"^participant:(?P<participant>{_PARTNERSHIP_ID})$"),
)


def parse_scope(scope: str) -> str:
    """The scope as given when it is one of the known forms; ValueError with the forms otherwise."""
    if scope in PLAIN_SCOPES or any(p.match(scope) for p in _PATTERNS):
        return scope
    raise ValueError(
        f"unknown scope {scope!r}: use institution:<institution_id>, participant:<partnership_id>, "
        + ", ".join(PLAIN_SCOPES)
    )


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (never its secret) and its scopes."""

    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def key(self) -> str:
        """What idempotency keys and rate limits are counted per."""
        return f"token:{self.name}"

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def any(self, *scopes: str) -> bool:
        return any(s in self.scopes for s in scopes)

    @property
    def institutions(self) -> frozenset[str]:
        return frozenset(s.split(":", 1)[1] for s in self.scopes if s.startswith("institution:"))

    @property
    def participant_of(self) -> frozenset[str]:
        return frozenset(s.split(":", 1)[1] for s in self.scopes if s.startswith("participant:"))

    @property
    def reads_everything(self) -> bool:
        return self.any("coordinator", "ops:read")

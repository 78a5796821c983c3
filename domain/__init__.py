"""The pure domain of EntryPoint Engine: models, commands, events and lifecycle rules.

No Temporal, no SQLAlchemy, no clock, no I/O: every function here takes ``now`` when it needs time.
"""

from domain.errors import DomainRejection
from domain.people import Contact, DegreeLevel, Institution, Language, MenteeProfile, MentorProfile, Sector
from domain.policy import Policy

__all__ = [
    "Contact",
    "DegreeLevel",
    "DomainRejection",
    "Institution",
    "Language",
    "MenteeProfile",
    "MentorProfile",
    "Policy",
    "Sector",
]

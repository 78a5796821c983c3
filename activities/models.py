"""The inputs and outputs of the activities: one model each, shared with the workflows that call them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contract.cohort import PinSpec
from domain.gathering.events import Event as GatheringEvent
from domain.partnership.commands import GatheringKind
from domain.partnership.events import Event
from domain.people import Contact, Institution


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class RegisterApplication(_Model):
    partnership_id: str
    cohort_id: str
    mentee_id: str
    institution_id: str
    contact: Contact | None = None


class ApplicationFacts(_Model):
    """What screening needs, looked up in the records database."""

    institution: Institution | None


class RecordEvents(_Model):
    partnership_id: str
    expected_version: int
    events: list[Event]


class DeliverNotifications(_Model):
    partnership_id: str


class Delivered(_Model):
    sent: int
    undeliverable: int
    pending: int


class Recorded(_Model):
    version: int
    duplicate: bool
    outbox_keys: list[str]
    delivered: Delivered | None = None
    """What ``record_and_deliver`` sent of the partnership's pending notices (None from ``record_events``, when
    the events queued none, or when delivery failed)."""
    delivery_failed: str | None = None
    """Why ``record_and_deliver`` could not deliver (the error's type only): the notices stay pending and the
    outbox sweep sends them."""


class VerifyAttendance(_Model):
    """Check a ``gathering_attended`` against the Gathering's record (issue 15, finding 6)."""

    partnership_id: str
    cohort_id: str
    gathering_id: str


class AttendanceFacts(_Model):
    """What the Gathering's record says: the kind and the hours credited, or why nothing is (``refused``)."""

    kind: GatheringKind | None = None
    hours: float | None = None
    refused: str | None = None


class CheckMentor(_Model):
    """Check a ``match_proposed`` against the mentor pool (issue 11): the mentor named must be in it."""

    partnership_id: str
    cohort_id: str | None
    mentor_id: str


class MentorFacts(_Model):
    """Why the mentor cannot be matched (``refused``, in a coordinator's words), or None: in the pool."""

    refused: str | None = None


# ------------------------------------------------------------------------------------------------- cohort


class RegisterCohort(_Model):
    cohort_id: str
    coordinator_id: str | None = None



class MatchingRoundRequest(_Model):
    cohort_id: str
    number: int
    pins: tuple[PinSpec, ...] = ()
    exclusions: tuple[PinSpec, ...] = ()


class DeliverMatches(_Model):
    cohort_id: str
    round_id: str


class MatchesDelivered(_Model):
    delivered: int
    already: int
    skipped: int


class CohortReportRequest(_Model):
    cohort_id: str


# ------------------------------------------------------------------------------------------------- gathering


class RecordGatheringEvents(_Model):
    """A gathering's new events, to keep (and the notices they cause, to send)."""

    gathering_key: str
    """The Gathering workflow id."""
    cohort_id: str
    expected_version: int
    events: list[GatheringEvent]


class GatheringRecorded(_Model):
    version: int
    notices: int


class AttendeeHours(_Model):
    registrant_id: str
    hours: float


class DeliverAttendance(_Model):
    """Tell each attendee's partnership of the hours: ``gathering_attended`` to ``partnership-…``."""

    gathering_key: str
    gathering_id: str
    kind: GatheringKind
    attendees: list[AttendeeHours]


class AttendanceDeliveryReport(_Model):
    signalled: list[str]
    """Attendees whose partnership was sent ``gathering_attended`` (it counts a gathering once)."""
    skipped: dict[str, str]
    """Attendees whose partnership could not be told, with the reason."""

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.skipped.values():
            counts[reason] = counts.get(reason, 0) + 1
        return counts

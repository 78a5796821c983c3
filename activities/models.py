"""The inputs and outputs of the activities: one model each, shared with the workflows that call them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

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


class Recorded(_Model):
    version: int
    duplicate: bool
    outbox_keys: list[str]


class DeliverNotifications(_Model):
    partnership_id: str


class Delivered(_Model):
    sent: int
    undeliverable: int
    pending: int

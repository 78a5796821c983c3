"""The records database: the event log, read models, people registry and outbox (SQLAlchemy Core).

The migration scripts in ``migrations/versions`` create exactly this schema; a test compares them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from activities.records.sqltypes import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

PID = 128
"""Length of a partnership id column."""
ID = 64
"""Length of any other id column (see ``domain.people.Id``)."""


# ---------------------------------------------------------------------------------------------- log

events = Table(
    "events",
    metadata,
    Column("partnership_id", String(PID), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("type", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("digest", String(64), nullable=False),
    CheckConstraint("version >= 1", name="version_positive"),
)

# ---------------------------------------------------------------------------------------------- read models

partnerships = Table(
    "partnerships",
    metadata,
    Column("id", String(PID), primary_key=True),
    Column("cohort_id", String(ID), nullable=True, index=True),
    Column("stage", String(32), nullable=True, index=True),
    Column("mentee_id", String(ID), nullable=True, index=True),
    Column("mentor_id", String(ID), nullable=True, index=True),
    Column("institution_id", String(ID), nullable=True),
    Column("meetings_held", Integer, nullable=False),
    Column("last_meeting_at", UTCDateTime(), nullable=True),
    Column("next_meeting_due", UTCDateTime(), nullable=True),
    Column("diary_entries", Integer, nullable=False),
    Column("gatherings_attended", Integer, nullable=False),
    Column("total_hours", Double, nullable=False),
    Column("attention", String(32), nullable=True, index=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("state", JSON, nullable=False),
)

meetings = Table(
    "meetings",
    metadata,
    Column("partnership_id", String(PID), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("held_on", UTCDateTime(), nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("topics", JSON, nullable=False),
    Column("notes", Text, nullable=True),
    ForeignKeyConstraint(["partnership_id"], ["partnerships.id"], ondelete="CASCADE"),
)

diary_entries = Table(
    "diary_entries",
    metadata,
    Column("partnership_id", String(PID), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("reflection", Text, nullable=False),
    Column("goals", JSON, nullable=False),
    Column("actions", JSON, nullable=False),
    ForeignKeyConstraint(["partnership_id"], ["partnerships.id"], ondelete="CASCADE"),
)

agreements = Table(
    "agreements",
    metadata,
    Column("partnership_id", String(PID), primary_key=True),
    Column("mentor_id", String(ID), nullable=True),
    Column("topics", JSON, nullable=False),
    Column("meeting_cadence_seconds", Double, nullable=False),
    Column("confidentiality", Boolean, nullable=False),
    Column("signing_due", UTCDateTime(), nullable=False),
    Column("mentee_signed_at", UTCDateTime(), nullable=True),
    Column("mentor_signed_at", UTCDateTime(), nullable=True),
    Column("starts_on", UTCDateTime(), nullable=True),
    Column("ends_on", UTCDateTime(), nullable=True),
    ForeignKeyConstraint(["partnership_id"], ["partnerships.id"], ondelete="CASCADE"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("partnership_id", String(PID), primary_key=True),
    Column("party", String(16), primary_key=True),
    Column("rating", Integer, nullable=False),
    Column("outcome", String(64), nullable=True),
    Column("comments", Text, nullable=True),
    Column("submitted_at", UTCDateTime(), nullable=False),
    ForeignKeyConstraint(["partnership_id"], ["partnerships.id"], ondelete="CASCADE"),
)

gatherings_attended = Table(
    "gatherings_attended",
    metadata,
    Column("partnership_id", String(PID), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("gathering_id", String(ID), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("hours", Double, nullable=False),
    ForeignKeyConstraint(["partnership_id"], ["partnerships.id"], ondelete="CASCADE"),
)

READ_MODEL_CHILDREN = (meetings, diary_entries, agreements, reviews, gatherings_attended)
"""Read-model tables that hang off ``partnerships`` (deleted before it, rebuilt after it)."""

# ---------------------------------------------------------------------------------------------- people and places

people = Table(
    "people",
    metadata,
    Column("person_id", String(ID), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("name", Text, nullable=True),  # encrypted under the person's data key (see datakeys.py)
    Column("email", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("updated_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("erased_at", UTCDateTime(), nullable=True),
    Column("preferred_language", String(8), nullable=True),  # en | fi | sv; NULL: never given (English)
    CheckConstraint("role IN ('mentee', 'mentor', 'coordinator')", name="role"),
    CheckConstraint("preferred_language IN ('en', 'fi', 'sv')", name="preferred_language"),
)
"""People are keyed by role and id: a mentee whose id equals a mentor's is another person (migration 0007)."""

people_audit = Table(
    "people_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", String(ID), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("actor", String(ID), nullable=False),
    Column("reason", String(200), nullable=True),
    Column("at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Index(None, "person_id", "role"),
)
"""Every change to a person's record: what changed (field names, never values), by whom and why."""

institutions = Table(
    "institutions",
    metadata,
    Column("institution_id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("partner", Boolean, nullable=False),
)

cohorts = Table(
    "cohorts",
    metadata,
    Column("cohort_id", String(ID), primary_key=True),
    Column("coordinator_id", String(ID), nullable=True),
)

# ---------------------------------------------------------------------------------------------- outbox

outbox = Table(
    "outbox",
    metadata,
    Column("idempotency_key", String(PID + 40), primary_key=True),
    Column("partnership_id", String(PID), nullable=False),
    Column("event_version", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("template", String(100), nullable=False),
    Column("recipient_role", String(16), nullable=False),
    Column("recipient_id", String(ID), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("message_id", String(998), nullable=True),
    Column("context", JSON, nullable=True),
    ForeignKeyConstraint(["partnership_id", "event_version"], ["events.partnership_id", "events.version"]),
    CheckConstraint("status IN ('pending', 'sent', 'undeliverable')", name="status"),
    Index(None, "status", "created_at"),  # the sweep over every partnership: pending ones, oldest first
    # One partnership's pending messages (each delivery, after each command): as many rows as it has, however
    # many the whole outbox holds. Also serves every other query by partnership (its prefix).
    Index(None, "partnership_id", "status", "created_at"),
)
"""One row per notice. ``context`` is what the notice is rendered with, written with it (see ``outbox.rows_for``):
``{"state": <the partnership right after the event>, "event": <the event>}``; NULL in rows from before 0009."""

# ---------------------------------------------------------------------------------------------- mentor pool

mentors = Table(
    "mentors",
    metadata,
    Column("mentor_id", String(ID), primary_key=True),
    Column("organisation_id", String(ID), nullable=False),
    Column("sector", String(16), nullable=False),
    Column("expertise", JSON, nullable=False),
    Column("interests", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("conflicts", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("updated_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("withdrawn_at", UTCDateTime(), nullable=True),
    CheckConstraint("capacity BETWEEN 1 AND 3", name="capacity"),
    CheckConstraint("sector IN ('private', 'public', 'third')", name="sector"),
)
"""The mentor pool: profiles only (names and e-mail addresses are in ``people``)."""

mentor_availability = Table(
    "mentor_availability",
    metadata,
    Column("mentor_id", String(ID), primary_key=True),
    Column("cohort_id", String(ID), primary_key=True, index=True),
    ForeignKeyConstraint(["mentor_id"], ["mentors.mentor_id"], ondelete="CASCADE"),
)
"""Which cohorts a mentor is available for."""

# ---------------------------------------------------------------------------------------------- cohorts

matching_rounds = Table(
    "matching_rounds",
    metadata,
    Column("round_id", String(PID), primary_key=True),
    Column("cohort_id", String(ID), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("result", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("updated_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
)
"""Each matching round's proposals and unmatched mentees (kept here, not in the cohort's history). Each mentee's
reasons are sealed under their partnership's data key (``cohorts.save_round``)."""

cohort_reports = Table(
    "cohort_reports",
    metadata,
    Column("cohort_id", String(ID), primary_key=True),
    Column("report", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
)
"""The closing report of each cohort, as the Cohort workflow wrote it."""

gathering_events = Table(
    "gathering_events",
    metadata,
    Column("gathering_key", String(PID), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("cohort_id", String(ID), nullable=False, index=True),
    Column("type", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
)
"""Each gathering's events (registrations, waitlist, attendance): its permanent record. Ids, and the engine's own
notes; a cancellation's reason is sealed under the keyring (``sealing.KeyringSealer``)."""

# ---------------------------------------------------------------------------------------------- gateway

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("name", String(ID), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("revoked_at", UTCDateTime(), nullable=True),
)
"""The integration gateway's bearer tokens: a name, its scopes and the SHA-256 of its secret (never the secret)."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(100), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("headers", JSON, nullable=True),
    Column("body", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("locked_until", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
    CheckConstraint("state IN ('in_flight', 'done')", name="state"),
)
"""The gateway's Idempotency-Key records: the first response to each (token or webhook provider, key)."""

gathering_outbox = Table(
    "gathering_outbox",
    metadata,
    Column("idempotency_key", String(PID + 40), primary_key=True),
    Column("gathering_key", String(PID), nullable=False, index=True),
    Column("event_version", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("template", String(100), nullable=False),
    # Who is told, as the gathering knows them (a partnership id, ``{partnership_id}:mentor``); None: the coordinator.
    Column("registrant_id", String(160), nullable=True),
    Column("recipient_role", String(16), nullable=False),
    Column("recipient_id", String(ID), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("message_id", String(998), nullable=True),
    ForeignKeyConstraint(
        ["gathering_key", "event_version"], ["gathering_events.gathering_key", "gathering_events.version"]
    ),
    CheckConstraint("status IN ('pending', 'sent', 'undeliverable')", name="status"),
    Index(None, "status", "created_at"),
)
"""The gatherings' notices (reminders, places offered from the waitlist, cancellations, attendance requests):
one row per (gathering, event, recipient), written with the events, delivered like the partnerships' outbox."""

# ---------------------------------------------------------------------------------------------- calendar

calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("feed_id", String(32), primary_key=True),
    Column("partnership_id", String(PID), nullable=False, index=True),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_by", String(ID), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("revoked_at", UTCDateTime(), nullable=True),
)
"""Each partnership's ICS feed URLs: the SHA-256 of the secret in the URL (never the secret), who made it (a
token's name or ``cli``) and when it was revoked. One active feed per partnership; a new one revokes the old."""

calendar_events = Table(
    "calendar_events",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("partnership_id", String(PID), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("body", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("locked_until", UTCDateTime(), nullable=False),
    CheckConstraint("state IN ('in_flight', 'done')", name="state"),
)
"""The calendar provider's event ids that logged a meeting, kept for good: the same event id reported again
(a redelivery, a second sync) replays the first answer and logs no second meeting."""

# ---------------------------------------------------------------------------------------------- data protection

data_keys = Table(
    "data_keys",
    metadata,
    Column("subject_id", String(PID + 32), primary_key=True),
    Column("wrapping_key_id", String(ID), nullable=True),
    Column("wrapped", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("destroyed_at", UTCDateTime(), nullable=True),
)
"""One AES-256 data key per subject (``person:<id>``, ``partnership:<workflow id>``), wrapped by the keyring.
Erasure destroys it (``wrapped`` NULL, ``destroyed_at`` set): whatever was encrypted under it is gone."""

erasures = Table(
    "erasures",
    metadata,
    Column("person_id", String(ID), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("partnerships", JSON, nullable=False),
    Column("executions_deleted", Integer, nullable=False),
    Column("erased_at", UTCDateTime(), nullable=False),
)
"""``person_erased`` records: who (id), when, why (a case reference), which partnerships. No personal data."""

"""Initial schema: event log, read models, people registry, institutions, cohorts, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PID = sa.String(length=128)
ID = sa.String(length=64)
NOW = sa.text("CURRENT_TIMESTAMP")


def _at(name: str, nullable: bool = True, **kw: object) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)  # type: ignore[arg-type]


def _partnership_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["partnership_id"],
        ["partnerships.id"],
        name=op.f(f"fk_{table}_partnership_id_partnerships"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("partnership_id", PID, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _at("occurred_at", nullable=False),
        _at("recorded_at", nullable=False, server_default=NOW),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_events_version_positive")),
        sa.PrimaryKeyConstraint("partnership_id", "version", name=op.f("pk_events")),
    )
    op.create_table(
        "partnerships",
        sa.Column("id", PID, nullable=False),
        sa.Column("cohort_id", ID, nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("mentee_id", ID, nullable=True),
        sa.Column("mentor_id", ID, nullable=True),
        sa.Column("institution_id", ID, nullable=True),
        sa.Column("meetings_held", sa.Integer(), nullable=False),
        _at("last_meeting_at"),
        _at("next_meeting_due"),
        sa.Column("diary_entries", sa.Integer(), nullable=False),
        sa.Column("gatherings_attended", sa.Integer(), nullable=False),
        sa.Column("total_hours", sa.Double(), nullable=False),
        sa.Column("attention", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _at("updated_at", nullable=False, server_default=NOW),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnerships")),
    )
    for column in ("attention", "cohort_id", "mentee_id", "mentor_id", "stage"):
        op.create_index(op.f(f"ix_partnerships_{column}"), "partnerships", [column], unique=False)
    op.create_table(
        "meetings",
        sa.Column("partnership_id", PID, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        _at("held_on", nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        _partnership_fk("meetings"),
        sa.PrimaryKeyConstraint("partnership_id", "version", name=op.f("pk_meetings")),
    )
    op.create_table(
        "diary_entries",
        sa.Column("partnership_id", PID, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        _at("at", nullable=False),
        sa.Column("reflection", sa.Text(), nullable=False),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        _partnership_fk("diary_entries"),
        sa.PrimaryKeyConstraint("partnership_id", "version", name=op.f("pk_diary_entries")),
    )
    op.create_table(
        "agreements",
        sa.Column("partnership_id", PID, nullable=False),
        sa.Column("mentor_id", ID, nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("meeting_cadence_seconds", sa.Double(), nullable=False),
        sa.Column("confidentiality", sa.Boolean(), nullable=False),
        _at("signing_due", nullable=False),
        _at("mentee_signed_at"),
        _at("mentor_signed_at"),
        _at("starts_on"),
        _at("ends_on"),
        _partnership_fk("agreements"),
        sa.PrimaryKeyConstraint("partnership_id", name=op.f("pk_agreements")),
    )
    op.create_table(
        "reviews",
        sa.Column("partnership_id", PID, nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        _at("submitted_at", nullable=False),
        _partnership_fk("reviews"),
        sa.PrimaryKeyConstraint("partnership_id", "party", name=op.f("pk_reviews")),
    )
    op.create_table(
        "gatherings_attended",
        sa.Column("partnership_id", PID, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("gathering_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        _partnership_fk("gatherings_attended"),
        sa.PrimaryKeyConstraint("partnership_id", "version", name=op.f("pk_gatherings_attended")),
    )
    op.create_table(
        "people",
        sa.Column("person_id", ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        _at("created_at", nullable=False, server_default=NOW),
        _at("updated_at", nullable=False, server_default=NOW),
        _at("erased_at"),
        sa.CheckConstraint("role IN ('mentee', 'mentor', 'coordinator')", name=op.f("ck_people_role")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_people")),
    )
    op.create_table(
        "institutions",
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("partner", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("institution_id", name=op.f("pk_institutions")),
    )
    op.create_table(
        "cohorts",
        sa.Column("cohort_id", ID, nullable=False),
        sa.Column("coordinator_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("cohort_id", name=op.f("pk_cohorts")),
    )
    op.create_table(
        "outbox",
        sa.Column("idempotency_key", sa.String(length=168), nullable=False),
        sa.Column("partnership_id", PID, nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("recipient_role", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("created_at", nullable=False, server_default=NOW),
        _at("sent_at"),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'undeliverable')", name=op.f("ck_outbox_status")),
        sa.ForeignKeyConstraint(
            ["partnership_id", "event_version"],
            ["events.partnership_id", "events.version"],
            name=op.f("fk_outbox_partnership_id_events"),
        ),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_partnership_id"), "outbox", ["partnership_id"], unique=False)
    op.create_index(op.f("ix_outbox_status_created_at"), "outbox", ["status", "created_at"], unique=False)


def downgrade() -> None:
    for table in (
        "outbox",
        "cohorts",
        "institutions",
        "people",
        "gatherings_attended",
        "reviews",
        "agreements",
        "diary_entries",
        "meetings",
        "partnerships",
        "events",
    ):
        op.drop_table(table)

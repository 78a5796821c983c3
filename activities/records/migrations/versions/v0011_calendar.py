"""Calendar: the partnerships' ICS feed URLs (hashed secrets) and the calendar provider's event ids.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("feed_id", sa.String(length=32), nullable=False),
        sa.Column("partnership_id", sa.String(length=128), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("feed_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_calendar_feeds_secret_sha256")),
    )
    op.create_index(op.f("ix_calendar_feeds_partnership_id"), "calendar_feeds", ["partnership_id"], unique=False)
    op.create_table(
        "calendar_events",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("partnership_id", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('in_flight', 'done')", name=op.f("ck_calendar_events_state")),
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_calendar_events")),
    )


def downgrade() -> None:
    op.drop_table("calendar_events")
    op.drop_index(op.f("ix_calendar_feeds_partnership_id"), table_name="calendar_feeds")
    op.drop_table("calendar_feeds")

"""Gatherings: their event logs (registrations, waitlist, attendance) kept as the permanent record.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gathering_events",
        sa.Column("gathering_key", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
        sa.PrimaryKeyConstraint("gathering_key", "version", name=op.f("pk_gathering_events")),
    )
    op.create_index(op.f("ix_gathering_events_cohort_id"), "gathering_events", ["cohort_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gathering_events_cohort_id"), table_name="gathering_events")
    op.drop_table("gathering_events")

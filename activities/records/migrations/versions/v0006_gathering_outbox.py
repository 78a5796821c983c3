"""Gatherings' notices go through an outbox of their own (one row per gathering, event and recipient).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gathering_outbox",
        sa.Column("idempotency_key", sa.String(length=168), nullable=False),
        sa.Column("gathering_key", sa.String(length=128), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("registrant_id", sa.String(length=160), nullable=True),
        sa.Column("recipient_role", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'undeliverable')", name=op.f("ck_gathering_outbox_status")),
        sa.ForeignKeyConstraint(
            ["gathering_key", "event_version"],
            ["gathering_events.gathering_key", "gathering_events.version"],
            name=op.f("fk_gathering_outbox_gathering_key_gathering_events"),
        ),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_gathering_outbox")),
    )
    op.create_index(op.f("ix_gathering_outbox_gathering_key"), "gathering_outbox", ["gathering_key"], unique=False)
    op.create_index(
        op.f("ix_gathering_outbox_status_created_at"), "gathering_outbox", ["status", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_gathering_outbox_status_created_at"), table_name="gathering_outbox")
    op.drop_index(op.f("ix_gathering_outbox_gathering_key"), table_name="gathering_outbox")
    op.drop_table("gathering_outbox")

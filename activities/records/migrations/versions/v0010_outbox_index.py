"""The outbox indexed by (partnership, status, created_at): one partnership's pending messages without
scanning every pending message (the (status, created_at) index did, on each delivery after a command).
It replaces the index on partnership_id alone (its prefix).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_outbox_partnership_id_status_created_at"),
        "outbox",
        ["partnership_id", "status", "created_at"],
        unique=False,
    )
    op.drop_index(op.f("ix_outbox_partnership_id"), table_name="outbox")


def downgrade() -> None:
    op.create_index(op.f("ix_outbox_partnership_id"), "outbox", ["partnership_id"], unique=False)
    op.drop_index(op.f("ix_outbox_partnership_id_status_created_at"), table_name="outbox")

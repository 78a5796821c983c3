"""Cohorts: matching rounds and closing reports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "matching_rounds",
        sa.Column("round_id", sa.String(length=128), nullable=False),
        sa.Column("cohort_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_matching_rounds")),
    )
    op.create_index(op.f("ix_matching_rounds_cohort_id"), "matching_rounds", ["cohort_id"], unique=False)
    op.create_table(
        "cohort_reports",
        sa.Column("cohort_id", sa.String(length=64), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("cohort_id", name=op.f("pk_cohort_reports")),
    )


def downgrade() -> None:
    op.drop_table("cohort_reports")
    op.drop_index(op.f("ix_matching_rounds_cohort_id"), table_name="matching_rounds")
    op.drop_table("matching_rounds")

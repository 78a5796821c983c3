"""Mentor pool: mentor profiles and their availability per cohort.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
NOW = sa.text("CURRENT_TIMESTAMP")


def _at(name: str, nullable: bool = True, **kw: object) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    # New tables only: plain CREATE TABLE works on SQLite and PostgreSQL alike (no batch copy needed).
    op.create_table(
        "mentors",
        sa.Column("mentor_id", ID, nullable=False),
        sa.Column("organisation_id", ID, nullable=False),
        sa.Column("sector", sa.String(length=16), nullable=False),
        sa.Column("expertise", sa.JSON(), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        _at("created_at", nullable=False, server_default=NOW),
        _at("updated_at", nullable=False, server_default=NOW),
        _at("withdrawn_at"),
        sa.CheckConstraint("capacity BETWEEN 1 AND 3", name=op.f("ck_mentors_capacity")),
        sa.CheckConstraint("sector IN ('private', 'public', 'third')", name=op.f("ck_mentors_sector")),
        sa.PrimaryKeyConstraint("mentor_id", name=op.f("pk_mentors")),
    )
    op.create_table(
        "mentor_availability",
        sa.Column("mentor_id", ID, nullable=False),
        sa.Column("cohort_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["mentors.mentor_id"],
            name=op.f("fk_mentor_availability_mentor_id_mentors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mentor_id", "cohort_id", name=op.f("pk_mentor_availability")),
    )
    op.create_index(op.f("ix_mentor_availability_cohort_id"), "mentor_availability", ["cohort_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mentor_availability_cohort_id"), table_name="mentor_availability")
    op.drop_table("mentor_availability")
    op.drop_table("mentors")

"""Data keys for crypto-shredding: one per person and one per partnership, wrapped by the keyring; erasures.

People's names and e-mail addresses are stored encrypted under the person's data key from now on
(longer than their plaintext: the columns become TEXT). Rows written before stay readable as they are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("subject_id", sa.String(length=160), nullable=False),
        sa.Column("wrapping_key_id", sa.String(length=64), nullable=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_data_keys")),
    )
    op.create_table(
        "erasures",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("partnerships", sa.JSON(), nullable=False),
        sa.Column("executions_deleted", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_erasures")),
    )
    with op.batch_alter_table("people") as batch:
        batch.alter_column("name", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True)
        batch.alter_column("email", existing_type=sa.String(length=320), type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.alter_column("email", existing_type=sa.Text(), type_=sa.String(length=320), existing_nullable=True)
        batch.alter_column("name", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True)
    op.drop_table("erasures")
    op.drop_table("data_keys")

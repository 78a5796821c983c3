"""The people registry keeps each person's preferred language (en, fi, sv): notifications are written in it.

NULL means never given: English. Stored in plain text (it is not personal data in the registry's sense),
checked to be one of the programme's languages.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("preferred_language", sa.String(length=8), nullable=True))
        batch.create_check_constraint(
            op.f("ck_people_preferred_language"), "preferred_language IN ('en', 'fi', 'sv')"
        )


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_constraint(op.f("ck_people_preferred_language"), type_="check")
        batch.drop_column("preferred_language")

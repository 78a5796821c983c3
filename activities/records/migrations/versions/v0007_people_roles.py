"""People keyed by role and id; an audit record of every change to a person's record.

A mentee whose id equals a mentor's id is another person: an application can no longer overwrite a
mentor's contact (issue 15, finding 1). Existing rows keep their one role.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)


def upgrade() -> None:
    # batch mode: SQLite cannot change a primary key in place (the table is copied); PostgreSQL alters it.
    with op.batch_alter_table("people", recreate="auto") as batch:
        batch.drop_constraint("pk_people", type_="primary")
        batch.create_primary_key("pk_people", ["person_id", "role"])
    op.create_table(
        "people_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("actor", ID, nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_audit")),
    )
    op.create_index(op.f("ix_people_audit_person_id_role"), "people_audit", ["person_id", "role"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_people_audit_person_id_role"), table_name="people_audit")
    op.drop_table("people_audit")
    # Going back to one record per id keeps, for an id held in several roles, the earliest registered (on a tie
    # a mentor's, then a coordinator's record, over a mentee's: never the one an application could have made).
    rank = "CASE {t}.role WHEN 'mentor' THEN 0 WHEN 'coordinator' THEN 1 ELSE 2 END"
    op.execute(
        "DELETE FROM people WHERE EXISTS (SELECT 1 FROM people AS p WHERE p.person_id = people.person_id "
        "AND (p.created_at < people.created_at OR (p.created_at = people.created_at AND "
        f"{rank.format(t='p')} < {rank.format(t='people')})))"
    )
    with op.batch_alter_table("people", recreate="auto") as batch:
        batch.drop_constraint("pk_people", type_="primary")
        batch.create_primary_key("pk_people", ["person_id"])

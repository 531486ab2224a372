"""Set-aside updates: an update a bug failed is kept, to be replayed after a fix.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

One row per update whose handling raised something other than a storage outage (or met an
outage past the stated bound). For a press, a poll answer or a bare command it keeps the
update without anything she wrote, so ``closer set-aside replay`` can run it again; for a
message with text it keeps no text at all. A new table only: nothing to rebuild on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "set_aside_updates",
        sa.Column(
            "update_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("error_type", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("replay", sa.Text(), nullable=True),
        sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_set_aside_updates")),
    )
    op.create_index(op.f("ix_set_aside_updates_chat_id"), "set_aside_updates", ["chat_id"])
    op.create_index(
        op.f("ix_set_aside_updates_set_aside_at"), "set_aside_updates", ["set_aside_at"]
    )


def downgrade() -> None:
    op.drop_table("set_aside_updates")

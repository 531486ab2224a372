"""Handled updates: each update takes effect once, by Telegram's update_id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

One row per update that took effect, written in the same transaction as the effect, so a
second delivery of the same update (a retry, a crash before the confirmation, a worker racing
another) changes nothing. No user data; rows are kept for eight days (``bot.storage.handled``).
A new table only: nothing to rebuild on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handled_updates",
        # On SQLite the rowid itself ("INTEGER PRIMARY KEY"): one B-tree, not a table and an index.
        sa.Column(
            "update_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_handled_updates")),
    )
    op.create_index(op.f("ix_handled_updates_handled_at"), "handled_updates", ["handled_at"])


def downgrade() -> None:
    op.drop_table("handled_updates")

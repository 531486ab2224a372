"""Outbox: which rows the planner owns, and how many sends of a row had an unknown outcome.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

``planned`` marks the rows ``scheduler.planner`` keeps (each active user's next slot nudge and
next check-in); snoozes and direct sends are other rows. ``ambiguous_count`` counts attempts
that may or may not have reached the user (a timeout, or a lease that expired in a crash).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("planned", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("ambiguous_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("ambiguous_count")
        batch.drop_column("planned")

"""Typed-answer state on users; the /log question message on conversation logs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("awaiting", sa.String(length=64), nullable=True))
    with op.batch_alter_table("conversation_logs") as batch:
        batch.add_column(sa.Column("request_message_id", sa.BigInteger(), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_conversation_logs_user_id_request_message_id"),
            ["user_id", "request_message_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation_logs") as batch:
        batch.drop_constraint(
            op.f("uq_conversation_logs_user_id_request_message_id"), type_="unique"
        )
        batch.drop_column("request_message_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("awaiting")

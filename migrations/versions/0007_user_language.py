"""Her language: the one Closer writes to her in.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``users.language``: "en", "es" or "ru", chosen at /start from Telegram's language_code and hers
to change with /language. NULL for everyone who started before Closer spoke other languages:
they keep English until they choose. A nullable column: nothing to rebuild on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")

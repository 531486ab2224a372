"""Outbox: timers she starts (the listening timer) are rows too, of kind "timer".

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

A timer is one row a minute (``scheduler.timers``), due on the schedule's clock and kept across
a restart. Only the kind's check constraint changes; a downgrade drops the timers still stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS_BEFORE = "kind IN ('item', 'poll', 'text')"
_KINDS_AFTER = "kind IN ('item', 'poll', 'text', 'timer')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_kind"), sa.text(_KINDS_AFTER))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM outbox WHERE kind = 'timer'"))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_kind"), sa.text(_KINDS_BEFORE))

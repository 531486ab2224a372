"""Initial schema: users, settings, progress, outbox, logs, polls, poll answers, bot state.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Hand-checked: literal values are frozen here on purpose (a migration must not change when the
models do); constraint names follow the naming convention in bot/storage/models.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_id() -> sa.Column[int]:
    return sa.Column("user_id", sa.Integer(), nullable=False)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def _outbox_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["outbox_id"], ["outbox.id"], name=op.f(f"fk_{table}_outbox_id_outbox"), ondelete="SET NULL"
    )


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _int(name: str, default: int) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text(str(default)), nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        _when("created_at", nullable=False),
        _when("blocked_at"),
        sa.Column("onboarding_step", sa.String(length=32), nullable=True),
        _int("ignored_streak", 0),
        sa.Column("backoff_active", sa.Boolean(), server_default=sa.false(), nullable=False),
        _when("backoff_prompted_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_users_telegram_id")),
    )
    op.create_table(
        "user_settings",
        _user_id(),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        _int("nudge_minute", 1140),
        sa.Column("pace", sa.String(length=16), server_default="steady", nullable=False),
        _int("quiet_start_minute", 1290),
        _int("quiet_end_minute", 480),
        _int("checkin_weekday", 6),
        _when("paused_until"),
        _when("updated_at", nullable=False),
        sa.CheckConstraint(
            "pace IN ('gentle', 'steady', 'daily')", name=op.f("ck_user_settings_pace")
        ),
        sa.CheckConstraint(
            "nudge_minute >= 0 AND nudge_minute < 1440", name=op.f("ck_user_settings_nudge")
        ),
        sa.CheckConstraint(
            "quiet_start_minute >= 0 AND quiet_start_minute < 1440",
            name=op.f("ck_user_settings_quiet_start"),
        ),
        sa.CheckConstraint(
            "quiet_end_minute >= 0 AND quiet_end_minute < 1440",
            name=op.f("ck_user_settings_quiet_end"),
        ),
        sa.CheckConstraint(
            "checkin_weekday >= 0 AND checkin_weekday <= 6",
            name=op.f("ck_user_settings_checkin_weekday"),
        ),
        _user_fk("user_settings"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_settings")),
    )
    op.create_table(
        "item_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        _user_id(),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        _int("box", 1),
        _when("due_at"),
        _when("first_sent_at"),
        _when("last_sent_at"),
        sa.Column("last_outcome", sa.String(length=16), nullable=True),
        _int("tries", 0),
        _int("times_sent", 0),
        sa.CheckConstraint("box >= 1 AND box <= 6", name=op.f("ck_item_progress_box")),
        _user_fk("item_progress"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_progress")),
        sa.UniqueConstraint("user_id", "item_id", name=op.f("uq_item_progress_user_id_item_id")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        _user_id(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=True),
        _when("due_at", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        _when("lease_until"),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        _int("attempts", 0),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        _when("sent_at"),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("response", sa.String(length=16), nullable=True),
        _when("responded_at"),
        _when("created_at", nullable=False),
        sa.CheckConstraint("kind IN ('item', 'poll', 'text')", name=op.f("ck_outbox_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'ambiguous', 'failed', 'cancelled')",
            name=op.f("ck_outbox_status"),
        ),
        _user_fk("outbox"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_status_due_at", "outbox", ["status", "due_at"])
    op.create_index(op.f("ix_outbox_user_id"), "outbox", ["user_id"])
    op.create_table(
        "conversation_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        _user_id(),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        _when("created_at", nullable=False),
        sa.CheckConstraint(
            "outcome IN ('went_well', 'mixed', 'hard')", name=op.f("ck_conversation_logs_outcome")
        ),
        sa.CheckConstraint("source IN ('nudge', 'log')", name=op.f("ck_conversation_logs_source")),
        _outbox_fk("conversation_logs"),
        _user_fk("conversation_logs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_logs")),
    )
    op.create_index(op.f("ix_conversation_logs_user_id"), "conversation_logs", ["user_id"])
    op.create_index(op.f("ix_conversation_logs_outbox_id"), "conversation_logs", ["outbox_id"])
    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), nullable=False),
        _user_id(),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("telegram_poll_id", sa.String(length=64), nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        _when("sent_at", nullable=False),
        _outbox_fk("polls"),
        _user_fk("polls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
        sa.UniqueConstraint("telegram_poll_id", name=op.f("uq_polls_telegram_poll_id")),
    )
    op.create_index(op.f("ix_polls_user_id"), "polls", ["user_id"])
    op.create_index(op.f("ix_polls_outbox_id"), "polls", ["outbox_id"])
    op.create_table(
        "poll_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        _user_id(),
        sa.Column("option_ids", sa.JSON(), nullable=False),
        _when("answered_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["polls.id"],
            name=op.f("fk_poll_answers_poll_id_polls"),
            ondelete="CASCADE",
        ),
        _user_fk("poll_answers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_answers")),
    )
    op.create_index(op.f("ix_poll_answers_poll_id"), "poll_answers", ["poll_id"])
    op.create_index(op.f("ix_poll_answers_user_id"), "poll_answers", ["user_id"])
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        _when("lease_until"),
        _when("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bot_state")),
    )


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "bot_state",
        "poll_answers",
        "polls",
        "conversation_logs",
        "outbox",
        "item_progress",
        "user_settings",
        "users",
    ):
        op.drop_table(table)

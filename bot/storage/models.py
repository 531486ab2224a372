"""The database schema as typed SQLAlchemy 2 models, the same on SQLite and PostgreSQL.

Every table that holds a user's data has a ``user_id`` column, so /forget and /export can walk the
metadata generically (see ``bot.storage.repositories.erase_user``). Times are stored as UTC and
always come back as timezone-aware UTC ``datetime``s (``UTCDateTime``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from scheduler.policy import (
    DEFAULT_CHECKIN_WEEKDAY,
    DEFAULT_QUIET_END_MINUTE,
    DEFAULT_QUIET_START_MINUTE,
    FIRST_BOX,
    LAST_BOX,
    PACES,
    TRIED_OUTCOMES,
)

NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OUTBOX_KINDS: Final = ("item", "poll", "text", "timer")
OUTBOX_STATUSES: Final = ("pending", "sending", "sent", "ambiguous", "failed", "cancelled")
LOG_SOURCES: Final = ("nudge", "log")

MINUTES_PER_DAY: Final = 24 * 60
DEFAULT_TIMEZONE: Final = "UTC"
DEFAULT_NUDGE_MINUTE: Final = 19 * 60
DEFAULT_PACE: Final = "steady"


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the default for every timestamp column)."""
    return datetime.now(UTC)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that only accepts aware datetimes and always returns aware UTC.

    PostgreSQL stores it as ``timestamp with time zone``; SQLite has no time zone support, so the
    value is stored there as naive UTC text and marked UTC again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime(timezone=False))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store aware datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base; its metadata names every constraint by NAMING_CONVENTION."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def _user_fk() -> Any:
    return ForeignKey("users.id", ondelete="CASCADE")


class User(Base):
    """A person who started the bot, with the schedule state that belongs to them."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_at: Mapped[datetime | None]
    # None means onboarding is finished.
    onboarding_step: Mapped[str | None] = mapped_column(String(32))
    ignored_streak: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    backoff_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    backoff_prompted_at: Mapped[datetime | None]
    # What a typed message answers right now ("tz", "tm", "qh", "note:<log id>"); None: nothing.
    awaiting: Mapped[str | None] = mapped_column(String(64))
    # The language Closer writes to her in ("en", "es", "ru"); None: English (she started
    # before Closer spoke others, and has not chosen).
    language: Mapped[str | None] = mapped_column(String(8))


class UserSettings(Base):
    """A user's preferences: time zone, nudge time, pace, quiet hours, check-in day, pause."""

    __tablename__ = "user_settings"
    __table_args__ = (
        CheckConstraint(f"pace IN ({_in(PACES)})", name="pace"),
        CheckConstraint(f"nudge_minute >= 0 AND nudge_minute < {MINUTES_PER_DAY}", name="nudge"),
        CheckConstraint(
            f"quiet_start_minute >= 0 AND quiet_start_minute < {MINUTES_PER_DAY}",
            name="quiet_start",
        ),
        CheckConstraint(
            f"quiet_end_minute >= 0 AND quiet_end_minute < {MINUTES_PER_DAY}", name="quiet_end"
        ),
        CheckConstraint("checkin_weekday >= 0 AND checkin_weekday <= 6", name="checkin_weekday"),
    )

    user_id: Mapped[int] = mapped_column(_user_fk(), primary_key=True)
    timezone: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_TIMEZONE, server_default=DEFAULT_TIMEZONE
    )
    # Minutes after local midnight.
    nudge_minute: Mapped[int] = mapped_column(
        default=DEFAULT_NUDGE_MINUTE, server_default=text(str(DEFAULT_NUDGE_MINUTE))
    )
    pace: Mapped[str] = mapped_column(String(16), default=DEFAULT_PACE, server_default=DEFAULT_PACE)
    quiet_start_minute: Mapped[int] = mapped_column(
        default=DEFAULT_QUIET_START_MINUTE, server_default=text(str(DEFAULT_QUIET_START_MINUTE))
    )
    quiet_end_minute: Mapped[int] = mapped_column(
        default=DEFAULT_QUIET_END_MINUTE, server_default=text(str(DEFAULT_QUIET_END_MINUTE))
    )
    checkin_weekday: Mapped[int] = mapped_column(
        default=DEFAULT_CHECKIN_WEEKDAY, server_default=text(str(DEFAULT_CHECKIN_WEEKDAY))
    )
    paused_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ItemProgress(Base):
    """Where one user stands with one content item: its Leitner box and when it is due."""

    __tablename__ = "item_progress"
    __table_args__ = (
        UniqueConstraint("user_id", "item_id"),
        CheckConstraint(f"box >= {FIRST_BOX} AND box <= {LAST_BOX}", name="box"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed through the unique constraint, which leads with user_id.
    user_id: Mapped[int] = mapped_column(_user_fk())
    item_id: Mapped[str] = mapped_column(String(64))
    box: Mapped[int] = mapped_column(default=FIRST_BOX, server_default=text(str(FIRST_BOX)))
    due_at: Mapped[datetime | None]
    first_sent_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    tries: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    times_sent: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class OutboxMessage(Base):
    """One nudge to deliver: claimed with a lease, marked sent with Telegram's message id."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(OUTBOX_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({_in(OUTBOX_STATUSES)})", name="status"),
        Index("ix_outbox_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(_user_fk(), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Sends of this row whose outcome is unknown (a timeout, or a lease lost in a crash).
    ambiguous_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # True for the rows scheduler.planner keeps: a user's next slot nudge and next check-in.
    planned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    response: Mapped[str | None] = mapped_column(String(16))
    responded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationLog(Base):
    """How a real conversation went, logged by the user from a nudge or with /log."""

    __tablename__ = "conversation_logs"
    __table_args__ = (
        CheckConstraint(f"outcome IN ({_in(TRIED_OUTCOMES)})", name="outcome"),
        CheckConstraint(f"source IN ({_in(LOG_SOURCES)})", name="source"),
        # One log per /log question message: a replayed press cannot log twice.
        UniqueConstraint("user_id", "request_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(_user_fk(), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str | None] = mapped_column(String(64))
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    # The /log question message this answers (None for logs from nudge buttons).
    request_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Poll(Base):
    """A check-in poll sent to a user, found again by Telegram's poll id when answers arrive."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(_user_fk(), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    telegram_poll_id: Mapped[str] = mapped_column(String(64), unique=True)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL"), index=True
    )
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollAnswer(Base):
    """Every answer to a poll, kept in order; an empty ``option_ids`` list is a retracted vote."""

    __tablename__ = "poll_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(_user_fk(), index=True)
    option_ids: Mapped[list[int]] = mapped_column(JSON)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class BotState(Base):
    """Process-wide state, no user data (``bot.storage.bot_state``): the dispatcher's and the
    poller's leases (``owner`` holds it ``until``) and Telegram's flood wait (nothing is sent
    ``until``)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    owner: Mapped[str | None] = mapped_column(String(64))
    # The column keeps its first name: renaming it would make an upgrade stop every worker
    # (an old worker still reads "lease_until"); the name says leases only, the value is
    # either a lease's end or the flood wait's.
    until: Mapped[datetime | None] = mapped_column("lease_until", key="until")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HandledUpdate(Base):
    """An update Closer has taken effect for, by Telegram's ``update_id`` (one bot token per
    database), written in the same transaction as the effect: a second delivery of it changes
    nothing (``bot.storage.handled``, which also says how long a row is kept). No user data."""

    __tablename__ = "handled_updates"

    # On SQLite "INTEGER PRIMARY KEY", the rowid itself: one B-tree instead of a table and an
    # index, the cheaper insert every update's first write makes.
    update_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    handled_at: Mapped[datetime] = mapped_column(index=True)


class SetAsideUpdate(Base):
    """An update a bug failed, kept to be replayed after a fix (``bot.storage.set_aside``).

    ``replay`` is the update as JSON without anything she wrote (a press, a poll answer, a bare
    command); None for a message with text: she was asked to send it again. ``chat_id`` is
    hers, so /forget deletes her rows."""

    __tablename__ = "set_aside_updates"

    update_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(32))
    error_type: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(16))  # "bug" or "outage" (past the bound)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    replay: Mapped[str | None] = mapped_column(Text)
    set_aside_at: Mapped[datetime] = mapped_column(index=True)
    replayed_at: Mapped[datetime | None]


metadata: Final = Base.metadata

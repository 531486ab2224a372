"""Repositories: small data-access objects over one Session. They never commit.

The caller owns the transaction (``with db.transaction(write=True) as session``). Reads come back as
frozen dataclasses, not ORM rows, so nothing outside the transaction can lazy-load or mutate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypedDict, Unpack, cast

from sqlalchemy import Connection, CursorResult, Table, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.callbacks import Awaiting
from bot.storage.db import Repository
from bot.storage.models import User, UserSettings, metadata, utcnow
from scheduler.policy import PACES, Pace, register_tap


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """A user as handlers see it."""

    id: int
    telegram_id: int
    chat_id: int
    created_at: datetime
    blocked_at: datetime | None
    onboarding_step: str | None
    ignored_streak: int
    backoff_active: bool
    backoff_prompted_at: datetime | None
    awaiting: Awaiting | None = None  # what the next typed message answers (see models.User)
    language: str | None = None  # None: English (see models.User)

    @property
    def onboarded(self) -> bool:
        """True once onboarding is finished."""
        return self.onboarding_step is None

    @classmethod
    def of(cls, row: Any) -> UserSnapshot:
        """Copy a ``users`` row (an ORM object or a Core row)."""
        return cls(
            id=row.id,
            telegram_id=row.telegram_id,
            chat_id=row.chat_id,
            created_at=row.created_at,
            blocked_at=row.blocked_at,
            onboarding_step=row.onboarding_step,
            ignored_streak=row.ignored_streak,
            backoff_active=row.backoff_active,
            backoff_prompted_at=row.backoff_prompted_at,
            awaiting=Awaiting.parse(row.awaiting),
            language=row.language,
        )


@dataclass(frozen=True, slots=True)
class SettingsSnapshot:
    """A user's settings as handlers and the scheduler see them."""

    user_id: int
    timezone: str
    nudge_minute: int
    pace: Pace
    quiet_start_minute: int
    quiet_end_minute: int
    checkin_weekday: int
    paused_until: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> SettingsSnapshot:
        """Copy a ``user_settings`` row (an ORM object or a Core row)."""
        if row.pace not in PACES:
            raise ValueError(f"unknown pace {row.pace!r}")
        return cls(
            user_id=row.user_id,
            timezone=row.timezone,
            nudge_minute=row.nudge_minute,
            pace=cast(Pace, row.pace),
            quiet_start_minute=row.quiet_start_minute,
            quiet_end_minute=row.quiet_end_minute,
            checkin_weekday=row.checkin_weekday,
            paused_until=row.paused_until,
            updated_at=row.updated_at,
        )


class SettingsChanges(TypedDict, total=False):
    """The settings a user can change; pass only the ones that change."""

    timezone: str
    nudge_minute: int
    pace: Pace
    quiet_start_minute: int
    quiet_end_minute: int
    checkin_weekday: int
    paused_until: datetime | None


class UserNotFound(LookupError):
    """No user with that id."""


ScheduleChanged = Callable[[int], None]
"""Told the id of a user whose schedule inputs changed (the unit of work replans them)."""


def _ignore(_user_id: int) -> None:
    return None


_USERS: Final[Table] = metadata.tables["users"]
_SETTINGS: Final[Table] = metadata.tables["user_settings"]
_BY_TELEGRAM_ID = select(_USERS).where(_USERS.c.telegram_id == bindparam("b_telegram_id"))
_SETTINGS_OF = select(_SETTINGS).where(_SETTINGS.c.user_id == bindparam("b_user"))
_UPDATE_USER = update(_USERS).where(_USERS.c.id == bindparam("b_user"))


def user_by_telegram_id(connection: Connection, telegram_id: int) -> UserSnapshot | None:
    """The user with this Telegram id, if any (one statement per update, kept cheap)."""
    row = connection.execute(_BY_TELEGRAM_ID, {"b_telegram_id": telegram_id}).first()
    return None if row is None else UserSnapshot.of(row)


def settings_of(connection: Connection, user_id: int) -> SettingsSnapshot:
    """The user's settings; raises UserNotFound if there is no such user."""
    row = connection.execute(_SETTINGS_OF, {"b_user": user_id}).first()
    if row is None:
        raise UserNotFound(user_id)
    return SettingsSnapshot.of(row)


def update_user(connection: Connection, /, user_id: int, **values: Any) -> None:
    """Change these columns of the user's row; raises UserNotFound if there is none."""
    if connection.execute(_UPDATE_USER, {"b_user": user_id, **values}).rowcount == 0:
        raise UserNotFound(user_id)


_SCHEDULE_STATE = (
    select(_USERS.c.ignored_streak, _USERS.c.backoff_active)
    .where(_USERS.c.id == bindparam("b_user"))
    .with_for_update()
)


def record_tap(connection: Connection, user_id: int) -> bool:
    """A tap on anything the bot sent: the ignored streak and the back-off end (the spacing
    policy's ``register_tap``). Decided on the row as it is now, locked on PostgreSQL, not on
    a snapshot read earlier: the dispatcher may have started a back-off since.

    True when the back-off switched, a schedule input: the user's plan must be brought in line
    (``UserRepository.record_tap`` does it; a caller running this alone must too).
    """
    row = connection.execute(_SCHEDULE_STATE, {"b_user": user_id}).first()
    if row is None:
        raise UserNotFound(user_id)
    streak, backoff = register_tap(row.ignored_streak)
    if (row.ignored_streak, bool(row.backoff_active)) == (streak, backoff):
        return False
    update_user(connection, user_id, ignored_streak=streak, backoff_active=backoff)
    return bool(row.backoff_active) != backoff


class UserRepository(Repository):
    """Users and their settings.

    Every method that changes a schedule input (settings, pause, onboarding finished, blocked,
    the back-off) tells ``schedule_changed``, so the unit of work brings the user's planned
    outbox rows in line before it commits (``bot.storage.uow``).
    """

    def __init__(self, session: Session, schedule_changed: ScheduleChanged = _ignore) -> None:
        super().__init__(session)
        self._schedule_changed = schedule_changed

    def get(self, user_id: int) -> UserSnapshot | None:
        """The user with this internal id, if any."""
        row = self._session.get(User, user_id)
        return None if row is None else UserSnapshot.of(row)

    def get_by_telegram_id(self, telegram_id: int) -> UserSnapshot | None:
        """The user with this Telegram id, if any (a Core query: one per update, kept cheap)."""
        return user_by_telegram_id(self._conn(), telegram_id)

    def get_or_create(
        self, telegram_id: int, chat_id: int, *, now: datetime | None = None
    ) -> tuple[UserSnapshot, bool]:
        """The user with this Telegram id, created with default settings if new.

        Returns ``(user, created)``. Safe when two updates race to create the same user: the
        loser's insert is rolled back to a savepoint and the winner's row is returned.
        """
        row = self._row_by_telegram_id(telegram_id)
        if row is None:
            try:
                with self._session.begin_nested():
                    row = User(telegram_id=telegram_id, chat_id=chat_id, created_at=now or utcnow())
                    self._session.add(row)
                    self._session.flush()
                    self._session.add(UserSettings(user_id=row.id))
                    self._session.flush()
                return UserSnapshot.of(row), True
            except IntegrityError:
                row = self._row_by_telegram_id(telegram_id)
                if row is None:
                    raise
        if row.chat_id != chat_id:
            row.chat_id = chat_id
            self._session.flush()
        return UserSnapshot.of(row), False

    def set_onboarding_step(self, user_id: int, step: str | None) -> None:
        """Record where onboarding stands (None: finished)."""
        self._update_user(user_id, onboarding_step=step)
        self._schedule_changed(user_id)

    def set_blocked(self, user_id: int, blocked_at: datetime | None) -> None:
        """Mark the user as having blocked the bot (None: reachable again)."""
        self._update_user(user_id, blocked_at=blocked_at)
        self._schedule_changed(user_id)

    def set_language(self, user_id: int, language: str) -> None:
        """The language Closer writes to her in from now on."""
        self._update_user(user_id, language=language)

    def set_awaiting(self, user_id: int, awaiting: str | None) -> None:
        """Record what the user's next typed message answers (None: nothing in particular)."""
        self._update_user(user_id, awaiting=awaiting)

    def record_tap(self, user_id: int) -> None:
        """A tap: the ignored streak and the back-off end (replanned if the back-off was on)."""
        if record_tap(self._conn(), user_id):
            self._schedule_changed(user_id)

    def get_settings(self, user_id: int) -> SettingsSnapshot:
        """The user's settings; raises UserNotFound if there is no such user."""
        return settings_of(self._conn(), user_id)

    def update_settings(self, user_id: int, **changes: Unpack[SettingsChanges]) -> SettingsSnapshot:
        """Change only the given settings and return them all."""
        row = self._session.get(UserSettings, user_id)
        if row is None:
            raise UserNotFound(user_id)
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        self._session.flush()
        self._schedule_changed(user_id)
        return SettingsSnapshot.of(row)

    def _row_by_telegram_id(self, telegram_id: int) -> User | None:
        result = self._session.execute(select(User).where(User.telegram_id == telegram_id))
        return result.scalar_one_or_none()

    def _update_user(self, user_id: int, **values: Any) -> None:
        update_user(self._conn(), user_id, **values)


def user_tables() -> list[Table]:
    """Every table holding a user's rows (a ``user_id`` column), children before parents."""
    return [table for table in reversed(metadata.sorted_tables) if "user_id" in table.c]


def erase_user(session: Session, user_id: int) -> dict[str, int]:
    """Delete every row of this user from every table; returns rows deleted per table.

    Explicit deletes rather than relying on ON DELETE CASCADE, so the counts are known and a
    table whose foreign key was forgotten is still emptied of this user's rows. Core deletes
    bypass the identity map: do not use ORM objects of this user loaded earlier in the session.
    """
    users = metadata.tables[User.__tablename__]
    counts: dict[str, int] = {}
    for table in user_tables():
        result = session.execute(delete(table).where(table.c.user_id == user_id))
        counts[table.name] = cast(CursorResult[Any], result).rowcount
    result = session.execute(delete(users).where(users.c.id == user_id))
    counts[users.name] = cast(CursorResult[Any], result).rowcount
    return counts


def export_user(
    session: Session, user_id: int, *, times_as_text: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """Every row of this user, per table (``users`` first), as JSON-serialisable dicts.

    Times are ISO 8601 strings in UTC (with their ``+00:00``); ``times_as_text=False`` keeps
    them as aware ``datetime``s, for a caller that shows them in her zone (the /export file).
    """
    users = metadata.tables[User.__tablename__]
    tables = [(users, users.c.id), *((table, table.c.user_id) for table in user_tables())]
    export: dict[str, list[dict[str, Any]]] = {}
    for table, owner in tables:
        statement = select(table).where(owner == user_id).order_by(*table.primary_key.columns)
        rows = (session.execute(statement)).mappings().all()
        export[table.name] = [_jsonable(dict(row)) if times_as_text else dict(row) for row in rows]
    return export


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in row.items()
    }

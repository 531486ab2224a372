"""Models and repositories on both dialects: UTC times, defaults, users and settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from bot.storage.db import Database
from bot.storage.models import (
    DEFAULT_NUDGE_MINUTE,
    DEFAULT_PACE,
    DEFAULT_TIMEZONE,
    OutboxMessage,
    User,
    UserSettings,
    UTCDateTime,
    metadata,
)
from bot.storage.repositories import (
    SettingsSnapshot,
    UserNotFound,
    UserRepository,
    UserSnapshot,
)
from scheduler.policy import (
    DEFAULT_CHECKIN_WEEKDAY,
    DEFAULT_QUIET_END_MINUTE,
    DEFAULT_QUIET_START_MINUTE,
)

KOLKATA = timezone(timedelta(hours=5, minutes=30))


async def test_datetimes_round_trip_as_aware_utc(migrated_any_db: Database) -> None:
    local = datetime(2026, 3, 29, 2, 30, 15, 123456, tzinfo=KOLKATA)
    async with migrated_any_db.transaction(write=True) as session:
        user, _ = await session.run_sync(lambda s: UserRepository(s).get_or_create(7, 7))
        session.add(OutboxMessage(user_id=user.id, kind="text", due_at=local))
    async with migrated_any_db.transaction(write=False) as session:
        due_orm = await session.scalar(select(OutboxMessage.due_at))
        due_core = (await session.execute(select(metadata.tables["outbox"].c.due_at))).scalar_one()
        created = await session.scalar(select(User.created_at))
    for value in (due_orm, due_core):
        assert value == local
        assert value is not None and value.tzinfo is UTC
    assert created is not None and created.tzinfo is UTC


async def test_naive_datetimes_are_refused(migrated_any_db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with migrated_any_db.transaction(write=True) as session:
            user, _ = await session.run_sync(lambda s: UserRepository(s).get_or_create(7, 7))
            session.add(OutboxMessage(user_id=user.id, kind="text", due_at=datetime(2026, 1, 1)))


async def test_server_defaults_match_model_defaults(migrated_any_db: Database) -> None:
    # Plain SQL, so the models' Python-side defaults cannot fill in what the migration lacks.
    now = bindparam("now", datetime.now(UTC), type_=UTCDateTime())
    async with migrated_any_db.transaction(write=True) as session:
        await session.execute(
            text(
                "INSERT INTO users (id, telegram_id, chat_id, created_at) VALUES (1, 1, 1, :now)"
            ).bindparams(now)
        )
        await session.execute(
            text("INSERT INTO user_settings (user_id, updated_at) VALUES (1, :now)").bindparams(now)
        )
    async with migrated_any_db.transaction(write=False) as session:
        user = await session.run_sync(lambda s: UserRepository(s).get(1))
        settings = await session.run_sync(lambda s: UserRepository(s).get_settings(1))
    assert user is not None
    assert (user.ignored_streak, user.backoff_active, user.onboarding_step) == (0, False, None)
    assert settings.timezone == DEFAULT_TIMEZONE
    assert settings.nudge_minute == DEFAULT_NUDGE_MINUTE
    assert settings.pace == DEFAULT_PACE
    assert settings.quiet_start_minute == DEFAULT_QUIET_START_MINUTE
    assert settings.quiet_end_minute == DEFAULT_QUIET_END_MINUTE
    assert settings.checkin_weekday == DEFAULT_CHECKIN_WEEKDAY


async def test_get_or_create_creates_once_with_default_settings(migrated_any_db: Database) -> None:
    def work(session: Session) -> tuple[UserSnapshot, bool, UserSnapshot, bool, SettingsSnapshot]:
        users = UserRepository(session)
        first, created_first = users.get_or_create(123456789012, 55)
        again, created_again = users.get_or_create(123456789012, 56)
        return first, created_first, again, created_again, users.get_settings(first.id)

    async with migrated_any_db.transaction(write=True) as session:
        first, created_first, again, created_again, settings = await session.run_sync(work)
    assert (created_first, created_again) == (True, False)
    assert again.id == first.id
    assert again.chat_id == 56
    assert first.telegram_id == 123456789012
    assert first.onboarded
    assert settings.pace == "steady"


async def test_racing_get_or_create_makes_one_user(migrated_any_db: Database) -> None:
    async def start() -> tuple[int, bool]:
        async with migrated_any_db.transaction(write=True) as session:
            user, created = await session.run_sync(
                lambda s: UserRepository(s).get_or_create(99, 99)
            )
            await asyncio.sleep(0.01)  # keep the transaction open while the others try
            return user.id, created

    results = await asyncio.gather(*(start() for _ in range(5)))
    assert len({user_id for user_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    async with migrated_any_db.transaction(write=False) as session:
        assert len((await session.execute(select(User))).all()) == 1


async def test_update_settings_changes_only_what_is_given(migrated_any_db: Database) -> None:
    until = datetime(2026, 12, 1, tzinfo=UTC)

    def work(session: Session) -> tuple[UserSnapshot, SettingsSnapshot, SettingsSnapshot]:
        users = UserRepository(session)
        user, _ = users.get_or_create(5, 5)
        before = users.get_settings(user.id)
        after = users.update_settings(
            user.id, pace="daily", timezone="Europe/Berlin", paused_until=until
        )
        return user, before, after

    async with migrated_any_db.transaction(write=True) as session:
        user, before, after = await session.run_sync(work)
    assert (after.pace, after.timezone, after.paused_until) == ("daily", "Europe/Berlin", until)
    assert after.nudge_minute == before.nudge_minute
    assert after.updated_at >= before.updated_at
    async with migrated_any_db.transaction(write=True) as session:
        cleared = await session.run_sync(
            lambda s: UserRepository(s).update_settings(user.id, paused_until=None)
        )
    assert cleared.paused_until is None
    assert cleared.pace == "daily"


async def test_settings_check_constraints_hold(migrated_any_db: Database) -> None:
    with pytest.raises(Exception, match=r"(?i)check"):
        async with migrated_any_db.transaction(write=True) as session:
            user, _ = await session.run_sync(lambda s: UserRepository(s).get_or_create(5, 5))
            await session.execute(
                text("UPDATE user_settings SET pace = 'hurried' WHERE user_id = :id"),
                {"id": user.id},
            )


async def test_unknown_user_raises_user_not_found(migrated_any_db: Database) -> None:
    def work(session: Session) -> None:
        users = UserRepository(session)
        assert users.get(404) is None
        with pytest.raises(UserNotFound):
            users.get_settings(404)
        with pytest.raises(UserNotFound):
            users.set_blocked(404, datetime.now(UTC))

    async with migrated_any_db.transaction(write=True) as session:
        await session.run_sync(work)


async def test_deleting_a_user_cascades_on_both_dialects(migrated_any_db: Database) -> None:
    async with migrated_any_db.transaction(write=True) as session:
        user, _ = await session.run_sync(lambda s: UserRepository(s).get_or_create(8, 8))
        await session.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
    async with migrated_any_db.transaction(write=False) as session:
        assert (await session.execute(select(UserSettings))).all() == []

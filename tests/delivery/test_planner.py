"""The planner: one planned item row and one planned check-in per active user, idempotently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.storage.db import Database
from bot.storage.models import OutboxMessage, User, UserSettings
from bot.storage.planning import replan_user
from scheduler.policy import next_checkin
from tests.delivery.seeding import seed_users

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday


async def planned(db: Database) -> list[tuple[str, str, datetime]]:
    async with db.transaction(write=False) as session:
        rows = await session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.due_at)
            .where(OutboxMessage.planned.is_(True), OutboxMessage.status == "pending")
            .order_by(OutboxMessage.kind)
        )
        return [(kind, status, due) for kind, status, due in rows]


async def replan(db: Database, user_id: int, now: datetime = NOW) -> None:
    async with db.transaction(write=True) as session:
        await session.run_sync(lambda s: replan_user(s.connection(), user_id, now))


async def test_replanning_twice_changes_nothing(migrated_db: Database) -> None:
    ((user_id, _),) = await seed_users(migrated_db, 1, nudge_minute=9 * 60, now=NOW)
    await replan(migrated_db, user_id)
    first = await planned(migrated_db)
    await replan(migrated_db, user_id)
    await replan(migrated_db, user_id, NOW + timedelta(minutes=30))
    assert await planned(migrated_db) == first
    assert [kind for kind, _, _ in first] == ["item", "poll"]
    item_due, poll_due = first[0][2], first[1][2]
    assert item_due.date() == NOW.date() and abs(item_due - NOW.replace(hour=9)) <= timedelta(
        minutes=10
    ), "today's 09:00 slot (a steady Monday), give or take jitter"
    assert poll_due.weekday() == 6


async def test_a_pause_moves_rows_past_it_and_resume_brings_them_back(
    migrated_db: Database,
) -> None:
    ((user_id, _),) = await seed_users(migrated_db, 1, now=NOW)
    await replan(migrated_db, user_id)
    before = await planned(migrated_db)
    until = NOW + timedelta(days=10)
    async with migrated_db.transaction(write=True) as session:
        await session.execute(
            update(UserSettings).where(UserSettings.user_id == user_id).values(paused_until=until)
        )
    await replan(migrated_db, user_id)
    assert all(due >= until for _, _, due in await planned(migrated_db))
    async with migrated_db.transaction(write=True) as session:
        await session.execute(
            update(UserSettings).where(UserSettings.user_id == user_id).values(paused_until=None)
        )
    await replan(migrated_db, user_id)
    assert await planned(migrated_db) == before


async def test_blocked_or_unfinished_users_get_no_planned_rows(migrated_db: Database) -> None:
    (first, _), (second, _) = await seed_users(migrated_db, 2, now=NOW)
    await replan(migrated_db, first)
    await replan(migrated_db, second)
    async with migrated_db.transaction(write=True) as session:
        await session.execute(update(User).where(User.id == first).values(blocked_at=NOW))
        await session.execute(update(User).where(User.id == second).values(onboarding_step="pace"))
    await replan(migrated_db, first)
    await replan(migrated_db, second)
    assert await planned(migrated_db) == []


async def test_the_check_in_row_is_the_policys_next_check_in(migrated_db: Database) -> None:
    from scheduler.policy import ScheduleSettings

    ((user_id, _),) = await seed_users(migrated_db, 1, timezone="Asia/Tokyo", now=NOW)
    await replan(migrated_db, user_id)
    expected = next_checkin(
        ScheduleSettings(timezone="Asia/Tokyo", nudge_minute=12 * 60, pace="steady"),
        NOW,
        seed=user_id,
    )
    assert ("poll", "pending", expected) in await planned(migrated_db)


async def test_a_direct_send_is_recorded_like_the_dispatchers_and_plans_the_next_day(
    migrated_db: Database,
) -> None:
    from bot.storage.models import ItemProgress
    from bot.storage.planning import record_item_delivery
    from bot.storage.progress import NudgeRepository

    ((user_id, _),) = await seed_users(migrated_db, 1, nudge_minute=9 * 60, now=NOW)
    # What send_item_now does before sending:
    async with migrated_db.transaction(write=True) as session:
        outbox_id = await session.run_sync(
            lambda s: NudgeRepository(s).add(
                user_id, item_id="step-one", due_at=NOW, status="sending"
            )
        )
    async with migrated_db.transaction(write=True) as session:
        await session.run_sync(
            lambda s: record_item_delivery(
                s.connection(),
                user_id=user_id,
                outbox_id=outbox_id,
                item_id="step-one",
                message_id=77,
                now=NOW,
            )
        )
    async with migrated_db.transaction(write=False) as session:
        row = await session.get(OutboxMessage, outbox_id)
        progress = await session.scalar(select(ItemProgress))
    assert row is not None and row.status == "sent" and row.telegram_message_id == 77
    assert progress is not None and progress.times_sent == 1 and progress.last_sent_at == NOW
    item_due = [due for kind, _, due in await planned(migrated_db) if kind == "item"]
    assert len(item_due) == 1 and item_due[0].date() > NOW.date(), "not a second nudge today"

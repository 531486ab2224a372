"""Rows straight into the database, for tests that need many users or many due nudges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from bot.storage.db import Database
from bot.storage.models import OutboxMessage, User, UserSettings


async def seed_users(
    db: Database,
    count: int,
    *,
    first_telegram_id: int = 10_000,
    timezone: str = "UTC",
    nudge_minute: int = 12 * 60,
    now: datetime,
) -> list[tuple[int, int]]:
    """``count`` onboarded users (chat id = Telegram id); their (user id, Telegram id)."""
    telegram_ids = list(range(first_telegram_id, first_telegram_id + count))
    async with db.transaction(write=True) as session:
        await session.execute(
            insert(User),
            [
                {"telegram_id": t, "chat_id": t, "created_at": now, "onboarding_step": None}
                for t in telegram_ids
            ],
        )
        users = (
            await session.execute(
                select(User.id, User.telegram_id).where(User.telegram_id.in_(telegram_ids))
            )
        ).all()
        await session.execute(
            insert(UserSettings),
            [
                {
                    "user_id": user_id,
                    "timezone": timezone,
                    "nudge_minute": nudge_minute,
                    "updated_at": now,
                }
                for user_id, _ in users
            ],
        )
    return sorted((user_id, telegram_id) for user_id, telegram_id in users)


async def seed_due(
    db: Database,
    user_ids: list[int],
    due_at: datetime,
    *,
    per_user: int = 1,
    planned: bool = True,
    item_id: str | None = None,
) -> list[int]:
    """``per_user`` pending item rows for each user, due at ``due_at``; their ids."""
    rows = [
        {
            "user_id": user_id,
            "kind": "item",
            "item_id": item_id,
            "due_at": due_at,
            "status": "pending",
            "planned": planned,
            "created_at": due_at,
        }
        for user_id in user_ids
        for _ in range(per_user)
    ]
    async with db.transaction(write=True) as session:
        await session.execute(insert(OutboxMessage), rows)
        pending = select(OutboxMessage.id).where(OutboxMessage.status == "pending")
        return sorted(await session.scalars(pending))


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now, so no seeded nudge is in quiet hours."""
    offset = 12 - now.hour
    if offset > 12:
        offset -= 24
    if offset < -12:
        offset += 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-5 is UTC+5

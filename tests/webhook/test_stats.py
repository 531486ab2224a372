"""The operator's aggregates (/stats and the outbox lag of /metrics), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bot.handlers.operators import render_stats
from bot.storage.db import Database
from bot.storage.models import OutboxMessage, Poll, PollAnswer, User, UserSettings
from bot.storage.stats import Window, oldest_due_age, operator_stats

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _seed(db: Database) -> None:
    def ago(**kw: float) -> datetime:
        return NOW - timedelta(**kw)

    users: list[dict[str, Any]] = [
        {"id": 1, "onboarding_step": "tz"},  # onboarding
        {"id": 2, "onboarding_step": None},  # active
        {"id": 3, "onboarding_step": None},  # paused until tomorrow
        {"id": 4, "onboarding_step": None, "blocked_at": ago(days=1)},  # blocked
        {"id": 5, "onboarding_step": None},  # a pause that ended: active
        {"id": 6, "onboarding_step": "tm", "blocked_at": ago(days=2)},  # blocked first
    ]
    async with db.transaction(write=True) as session:
        await session.execute(
            insert(User),
            [{"telegram_id": 100 + u["id"], "chat_id": 100 + u["id"], **u} for u in users],
        )
        await session.execute(
            insert(UserSettings),
            [
                {"user_id": 2},
                {"user_id": 3, "paused_until": NOW + timedelta(days=1)},
                {"user_id": 5, "paused_until": ago(hours=1)},
            ],
        )

        def row(status: str, due: datetime, **extra: object) -> dict[str, object]:
            return {"user_id": 2, "kind": "item", "item_id": "x", "due_at": due, **extra} | {
                "status": status
            }

        await session.execute(
            insert(OutboxMessage),
            [
                row("sent", ago(hours=2), sent_at=ago(hours=2), response="tried"),
                row("sent", ago(hours=3), sent_at=ago(hours=3)),
                row("sent", ago(days=3), sent_at=ago(days=3), response="skipped"),
                row("sent", ago(days=10), sent_at=ago(days=10), response="tried"),  # too old
                row("pending", ago(seconds=90)),  # due 90 s ago: the lag
                row("pending", NOW + timedelta(hours=1)),  # not due yet
                row("sent", ago(hours=1), sent_at=ago(hours=1)) | {"kind": "poll"},  # no nudge
            ],
        )
        await session.execute(
            insert(Poll),
            [
                {"id": 1, "user_id": 2, "question_id": "q", "telegram_poll_id": "p1",
                 "sent_at": ago(days=1)},
                {"id": 2, "user_id": 2, "question_id": "q", "telegram_poll_id": "p2",
                 "sent_at": ago(days=2)},
                {"id": 3, "user_id": 2, "question_id": "q", "telegram_poll_id": "p3",
                 "sent_at": ago(days=1)},
                {"id": 4, "user_id": 2, "question_id": "q", "telegram_poll_id": "p4",
                 "sent_at": ago(days=9)},
            ],
        )  # fmt: skip
        await session.execute(
            insert(PollAnswer),
            [
                {"poll_id": 1, "user_id": 2, "option_ids": [0], "answered_at": ago(hours=20)},
                {"poll_id": 2, "user_id": 2, "option_ids": [1], "answered_at": ago(hours=40)},
                {"poll_id": 2, "user_id": 2, "option_ids": [], "answered_at": ago(hours=39)},
                {"poll_id": 4, "user_id": 2, "option_ids": [2], "answered_at": ago(days=8)},
            ],
        )


async def test_operator_stats_count_states_windows_checkins_and_lag(
    migrated_any_db: Database,
) -> None:
    await _seed(migrated_any_db)
    stats = await operator_stats(migrated_any_db, NOW)
    assert (stats.onboarding, stats.active, stats.paused, stats.blocked) == (1, 2, 1, 2)
    assert stats.nudges_day == Window(sent=2, answered=1)
    assert stats.nudges_week == Window(sent=3, answered=2)
    # polls 1-3 were sent this week; 1 answered, 2 retracted, 3 never answered
    assert (stats.checkins_sent_week, stats.checkins_answered_week) == (3, 1)
    assert stats.outbox_lag_seconds == 90.0
    text = render_stats(stats)
    assert "Users: 6 (onboarding 1, active 2, paused 1, blocked 2)" in text
    assert "Nudges, last day: 2 sent, 1/2 (50%) answered" in text
    assert "Check-ins, last week: 1/3 (33%) answered" in text
    assert "Outbox lag: 90 s" in text


async def test_no_due_row_means_no_lag(migrated_any_db: Database) -> None:
    assert await oldest_due_age(migrated_any_db, NOW) == 0.0
    stats = await operator_stats(migrated_any_db, NOW)
    assert stats.users == 0
    assert "0/0" in render_stats(stats)

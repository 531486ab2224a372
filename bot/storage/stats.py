"""Aggregate queries for operators (/stats, /metrics): counts only, never a user's data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, and_, case, cast, func, select

from bot.storage.db import Database
from bot.storage.models import OutboxMessage, Poll, PollAnswer, User, UserSettings

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Window:
    """Nudges sent in a window and how many of them were answered (a button pressed)."""

    sent: int
    answered: int


@dataclass(frozen=True, slots=True)
class OperatorStats:
    """What /stats shows: aggregates only."""

    onboarding: int
    active: int
    paused: int
    blocked: int
    nudges_day: Window
    nudges_week: Window
    checkins_sent_week: int
    checkins_answered_week: int
    outbox_lag_seconds: float

    @property
    def users(self) -> int:
        return self.onboarding + self.active + self.paused + self.blocked


async def database_answers(db: Database) -> None:
    """A trivial query; raises when the database does not answer."""
    await db.ping()  # on a read connection: no write lock taken


async def oldest_due_age(db: Database, now: datetime) -> float:
    """Seconds since the oldest due, still pending outbox row was due (0.0 when none is)."""
    oldest: datetime | None = await db.run_read(
        lambda conn: conn.scalar(
            select(func.min(OutboxMessage.due_at)).where(
                OutboxMessage.status == "pending", OutboxMessage.due_at <= now
            )
        )
    )
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # func.min bypasses the column type on some drivers
        oldest = oldest.replace(tzinfo=UTC)
    return max((now - oldest).total_seconds(), 0.0)


async def operator_stats(db: Database, now: datetime) -> OperatorStats:
    """Users by state, nudges sent and answered in the last day and week, check-in completion
    over the last week, and the outbox lag."""
    blocked = User.blocked_at.is_not(None)
    onboarding = and_(~blocked, User.onboarding_step.is_not(None))
    paused = and_(
        ~blocked,
        User.onboarding_step.is_(None),
        UserSettings.paused_until.is_not(None),
        UserSettings.paused_until > now,
    )

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def read(conn: Connection) -> tuple[Any, list[Window], Any, Any]:
        users = (
            conn.execute(
                select(
                    func.count(User.id),
                    count(blocked),
                    count(onboarding),
                    count(paused),
                ).outerjoin(UserSettings, UserSettings.user_id == User.id)
            )
        ).one()
        windows = []
        for span in (DAY, WEEK):
            since = now - span
            row = (
                conn.execute(
                    select(
                        func.count(OutboxMessage.id),
                        count(OutboxMessage.response.is_not(None)),
                    ).where(
                        OutboxMessage.kind == "item",
                        OutboxMessage.sent_at.is_not(None),
                        OutboxMessage.sent_at >= since,
                    )
                )
            ).one()
            windows.append(Window(int(row[0]), int(row[1])))
        since = now - WEEK
        sent_polls = conn.scalar(select(func.count(Poll.id)).where(Poll.sent_at >= since))
        # A poll is answered when its latest answer is a vote (an empty list is a retraction).
        latest = (
            select(func.max(PollAnswer.id))
            .join(Poll, Poll.id == PollAnswer.poll_id)
            .where(Poll.sent_at >= since)
            .group_by(PollAnswer.poll_id)
        )
        answered_polls = conn.scalar(
            select(func.count(PollAnswer.id)).where(
                PollAnswer.id.in_(latest), cast(PollAnswer.option_ids, String) != "[]"
            )
        )
        return users, windows, sent_polls, answered_polls

    users, windows, sent_polls, answered_polls = await db.run_read(read)
    total, n_blocked, n_onboarding, n_paused = (int(v) for v in users)
    return OperatorStats(
        onboarding=n_onboarding,
        active=total - n_blocked - n_onboarding - n_paused,
        paused=n_paused,
        blocked=n_blocked,
        nudges_day=windows[0],
        nudges_week=windows[1],
        checkins_sent_week=int(sent_polls or 0),
        checkins_answered_week=int(answered_polls or 0),
        outbox_lag_seconds=await oldest_due_age(db, now),
    )

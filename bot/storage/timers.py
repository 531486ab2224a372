"""Timers she starts, as outbox rows (``scheduler.timers``): stored, replaced, nothing committed.

The dispatcher sends them like any other row (``bot.delivery`` edits the timer's message), so a
timer keeps running across a restart and runs on the schedule's clock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update

from bot.storage.db import Repository
from bot.storage.models import OutboxMessage
from scheduler.timers import TIMER_KIND, timer_ticks


class TimerRepository(Repository):
    """Her timers, in one transaction."""

    def start(self, user_id: int, message_id: int, now: datetime, minutes: int) -> int:
        """Start a ``minutes``-long timer on her message ``message_id``, replacing any timer of
        hers still running (one at a time); returns how many rows it takes."""
        self._session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.kind == TIMER_KIND,
                OutboxMessage.status == "pending",
            )
            .values(status="cancelled", last_error="replaced by a new timer")
        )
        ticks = timer_ticks(message_id, minutes, now)
        self._session.execute(
            insert(OutboxMessage),
            [
                {
                    "user_id": user_id,
                    "kind": TIMER_KIND,
                    "item_id": None,
                    "payload": tick.payload,
                    "due_at": tick.due_at,
                    "status": "pending",
                    "planned": False,
                    "created_at": now,
                }
                for tick in ticks
            ],
        )
        return len(ticks)

"""Timers she starts (the five-minute listening timer): outbox rows on the schedule's clock.

A timer is one outbox row per minute of ``kind="timer"`` whose payload says which message it
edits and how many minutes are left then (0: the timer is done). The rows live in the database
like nudges, so a restart keeps them, and they are due on the same clock as everything else, so
in a sped-up run (``closer try``) a five-minute timer takes five of its minutes.

Pure functions: what rows a timer needs, and which claimed timer rows go now. A timer row is not
a nudge: quiet hours, a pause, the one-nudge-a-day rule and onboarding do not hold it back (she
started it herself, in the moment); only a user who is gone or blocked the bot gets nothing.
When the dispatcher finds several rows of one timer due at once (after a restart), only the
latest goes: the message shows where the timer is now, not the minutes it missed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from scheduler.ports import ClaimedRow
from scheduler.sending import Delivery

TIMER_KIND: Final = "timer"
MINUTE: Final = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TimerTick:
    """One row of a timer: when it is due and its payload."""

    due_at: datetime
    payload: dict[str, int]


def timer_ticks(message_id: int, minutes: int, now: datetime) -> list[TimerTick]:
    """The rows of a ``minutes``-long timer started at ``now`` on message ``message_id``: one a
    minute, the last (``left`` 0) when it is done."""
    if minutes < 1:
        raise ValueError(f"a timer runs at least a minute, got {minutes}")
    return [
        TimerTick(now + minute * MINUTE, {"message_id": message_id, "left": minutes - minute})
        for minute in range(1, minutes + 1)
    ]


def timer_message(payload: Any) -> tuple[int, int] | None:
    """``(message id, minutes left)`` of a timer row's payload; None if it is not one."""
    if not isinstance(payload, Mapping):
        return None
    message_id, left = payload.get("message_id"), payload.get("left")
    if not isinstance(message_id, int) or not isinstance(left, int) or left < 0:
        return None
    return message_id, left


@dataclass
class TimerDecision:
    """Which claimed timer rows go now, and which are cancelled (gone, blocked, superseded)."""

    deliveries: list[Delivery] = field(default_factory=list)
    cancels: list[int] = field(default_factory=list)


def settle_timers(
    rows: Sequence[ClaimedRow], chat_ids: Mapping[int, int], blocked: Collection[int]
) -> TimerDecision:
    """Decide, for timer rows just leased, which go now.

    ``chat_ids`` has every user who still exists; ``blocked`` the users who blocked the bot.
    Of the rows of one timer (one user's message), only the one with the fewest minutes left
    goes; a row with a broken payload is cancelled.
    """
    decision = TimerDecision()
    latest: dict[tuple[int, int], ClaimedRow] = {}
    for row in rows:
        shown = timer_message(row.payload)
        if row.user_id not in chat_ids or row.user_id in blocked or shown is None:
            decision.cancels.append(row.id)
            continue
        key = (row.user_id, shown[0])
        kept = latest.get(key)
        if kept is None:
            latest[key] = row
            continue
        kept_shown = timer_message(kept.payload)
        assert kept_shown is not None
        if shown[1] < kept_shown[1]:
            decision.cancels.append(kept.id)
            latest[key] = row
        else:
            decision.cancels.append(row.id)
    for row in latest.values():
        decision.deliveries.append(
            Delivery(
                outbox_id=row.id,
                user_id=row.user_id,
                chat_id=chat_ids[row.user_id],
                kind=row.kind,
                item_id=None,
                payload=row.payload,
                due_at=row.due_at,
                attempts=row.attempts,
                planned=row.planned,
            )
        )
    return decision

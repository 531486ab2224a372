"""What a request in words needs read: her hour, her settings, her step, her open nudge.

``bot.hearing.requests`` hears the request; these read what answering it needs and return it
(each None when Closer keeps nothing of hers: the request is then met as free text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from bot.storage.progress import NudgeSnapshot
from bot.storage.repositories import SettingsSnapshot, UserSnapshot
from bot.storage.uow import Transactions, Tx
from bot.usecases.common import Who, sender
from scheduler.policy import CatalogItem, unlocked_steps

EVENING_FROM: Final = 18  # from this local hour (to MORNING_FROM), a goodbye is a good night
MORNING_FROM: Final = 5


async def is_night(runner: Transactions, who: Who) -> bool | None:
    """Whether it is evening or night where she is (a goodbye is then a good night)."""

    def read(tx: Tx) -> bool | None:
        user = sender(tx, who)
        if user is None:
            return None
        hour = tx.now.astimezone(ZoneInfo(tx.users.get_settings(user.id).timezone)).hour
        return hour >= EVENING_FROM or hour < MORNING_FROM

    return await runner.read(read)


async def her_settings(runner: Transactions, who: Who) -> SettingsSnapshot | None:
    """Her settings (asked to change the time: the settings menu shows them)."""

    def read(tx: Tx) -> SettingsSnapshot | None:
        user = sender(tx, who)
        return None if user is None else tx.users.get_settings(user.id)

    return await runner.read(read)


async def current_step(runner: Transactions, who: Who, items: Sequence[CatalogItem]) -> int | None:
    """The step she is on: the last one unlocked (1 before any)."""

    def read(tx: Tx) -> int | None:
        user = sender(tx, who)
        if user is None:
            return None
        unlocked = unlocked_steps(items, tx.progress.states(user.id), tx.now)
        return max(unlocked, default=1)

    return await runner.read(read)


@dataclass(frozen=True, slots=True)
class SnoozeView:
    """What "remind me later" needs: her, her settings, her latest nudges (newest first), when
    the next one is due, and the moment read."""

    user: UserSnapshot
    settings: SettingsSnapshot
    recent: tuple[NudgeSnapshot, ...]
    next_due: datetime | None
    now: datetime

    @property
    def paused(self) -> bool:
        until = self.settings.paused_until
        return until is not None and until > self.now


async def snooze_view(runner: Transactions, who: Who) -> SnoozeView | None:
    """Her latest nudges and the next one due, to snooze the open one or say when it comes."""

    def read(tx: Tx) -> SnoozeView | None:
        user = sender(tx, who)
        if user is None:
            return None
        return SnoozeView(
            user,
            tx.users.get_settings(user.id),
            tuple(tx.nudges.latest_sent(user.id)),
            tx.nudges.next_due(user.id),
            tx.now,
        )

    return await runner.read(read)

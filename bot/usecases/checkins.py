"""The weekly check-in as the bot sends it: her week, and what a retry already sent. The polls
the dispatcher sends are stored with its record of the batch (``SqlDispatchStore.record``);
``sent`` stores those sent outside it (the baseline), in one transaction after the sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.storage.checkins import SentPoll
from bot.storage.repositories import UserSnapshot
from bot.storage.uow import Transactions
from scheduler.sending import Receipt


def local_week_number(moment: datetime, timezone: str) -> int:
    """The ISO week number of ``moment`` on her calendar (her zone), not UTC's."""
    return moment.astimezone(ZoneInfo(timezone)).isocalendar().week


async def week_of(runner: Transactions, user_id: int, moment: datetime) -> int:
    """The ISO week number of ``moment`` in her zone, read from her settings."""
    settings = await runner.read(lambda tx: tx.users.get_settings(user_id))
    return local_week_number(moment, settings.timezone)


async def already_sent(
    runner: Transactions, user_id: int, outbox_id: int
) -> tuple[UserSnapshot | None, Sequence[SentPoll]]:
    """Before a check-in row goes out: her (None if erased) and the polls a failed attempt
    already sent for it."""
    return await runner.read(lambda tx: (tx.users.get(user_id), tx.checkins.sent_for(outbox_id)))


async def sent(runner: Transactions, user_id: int, receipt: Receipt, *, sent_at: datetime) -> None:
    """After polls sent outside the dispatcher: those that went out (found again by their poll
    id when answered), also when a send failed part-way."""
    if receipt:
        await runner.write(lambda tx: tx.checkins.sent(user_id, receipt, sent_at))

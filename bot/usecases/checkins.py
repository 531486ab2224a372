"""The weekly check-in as the bot sends it: her week, what a retry already sent, and the polls
stored once they went out (one transaction after the sends, none between them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.storage.checkins import SentPoll
from bot.storage.repositories import UserSnapshot
from bot.storage.uow import Transactions, Tx


@dataclass(frozen=True, slots=True)
class PollSent:
    """A poll that reached her chat: which question, Telegram's poll id and message id."""

    question_id: str
    poll_id: str
    message_id: int


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


async def sent(
    runner: Transactions,
    user_id: int,
    polls: Sequence[PollSent],
    *,
    outbox_id: int | None = None,
    intro_message_id: int | None = None,
    week: int | None = None,
    sent_at: datetime,
) -> None:
    """After the sends: the polls that went out (found again by their poll id when answered)
    and, for a check-in row, its intro, so that a retry sends only what is missing."""

    def store(tx: Tx) -> None:
        if outbox_id is not None and intro_message_id is not None and week is not None:
            tx.checkins.note_intro(outbox_id, intro_message_id, week)
        for poll in polls:
            tx.checkins.add_poll(
                user_id,
                question_id=poll.question_id,
                telegram_poll_id=poll.poll_id,
                telegram_message_id=poll.message_id,
                outbox_id=outbox_id,
                sent_at=sent_at,
            )

    if polls or intro_message_id is not None:
        await runner.write(store)

"""Check-in polls as they were sent, and the answers that come back.

Like every repository here, nothing in this module commits; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.storage.db import Repository
from bot.storage.models import OutboxMessage, Poll, PollAnswer, User


@dataclass(frozen=True, slots=True)
class SentPoll:
    """A poll of a check-in already sent (a retry skips it)."""

    question_id: str
    telegram_message_id: int | None
    sent_at: datetime


class CheckinRepository(Repository):
    """Polls and poll answers of one transaction."""

    def note_intro(self, outbox_id: int, intro_message_id: int, week: int) -> None:
        """The check-in's intro went out: noted on its outbox row, so a retry skips it."""
        self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(payload={"intro_message_id": intro_message_id, "week": week})
        )

    def add_poll(
        self,
        user_id: int,
        *,
        question_id: str,
        telegram_poll_id: str,
        telegram_message_id: int,
        outbox_id: int | None,
        sent_at: datetime,
    ) -> None:
        """A poll that just went out, found again by Telegram's poll id when answered."""
        self._session.add(
            Poll(
                user_id=user_id,
                question_id=question_id,
                telegram_poll_id=telegram_poll_id,
                telegram_message_id=telegram_message_id,
                outbox_id=outbox_id,
                sent_at=sent_at,
            )
        )
        self._session.flush()

    def sent_for(self, outbox_id: int) -> Sequence[SentPoll]:
        """The polls already sent for a check-in's outbox row, in order."""
        rows = self._session.execute(
            select(Poll.question_id, Poll.telegram_message_id, Poll.sent_at)
            .where(Poll.outbox_id == outbox_id)
            .order_by(Poll.id)
        )
        return [SentPoll(*row) for row in rows]

    def add_answer(
        self, telegram_poll_id: str, telegram_user_id: int, option_ids: Sequence[int], now: datetime
    ) -> tuple[int, int] | None:
        """Store an answer to one of this Telegram user's own polls: ``(user id, poll id)``,
        or None (someone else's poll, or one Closer does not know) and nothing is stored."""
        row: Any = (
            self._session.execute(
                select(Poll.id, Poll.user_id)
                .join(User, User.id == Poll.user_id)
                .where(
                    Poll.telegram_poll_id == telegram_poll_id, User.telegram_id == telegram_user_id
                )
            )
        ).first()
        if row is None:
            return None
        self._session.add(
            PollAnswer(
                poll_id=row.id, user_id=row.user_id, option_ids=list(option_ids), answered_at=now
            )
        )
        self._session.flush()
        return int(row.user_id), int(row.id)

"""Check-in polls as they were sent, and the answers that come back.

Like every repository here, nothing in this module commits; the caller owns the transaction.
``store_sent`` is the Core function both the dispatcher's record (``SqlDispatchStore``) and
``CheckinRepository.sent`` write sent polls with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, bindparam, insert, select, update

from bot.storage.db import Repository
from bot.storage.models import Poll, PollAnswer, User, metadata
from scheduler.sending import Receipt

POLLS: Final = metadata.tables["polls"]
OUTBOX: Final = metadata.tables["outbox"]


@dataclass(frozen=True, slots=True)
class SentPoll:
    """A poll of a check-in already sent (a retry skips it)."""

    question_id: str
    telegram_message_id: int | None
    sent_at: datetime


def store_sent(
    conn: Connection, went_out: Sequence[tuple[int, int | None, Receipt]], sent_at: datetime
) -> None:
    """What sends put in her chat, ``(user id, outbox id or None, receipt)``: the polls, found
    again by Telegram's poll id when answered, and a check-in row's intro with its week on the
    row's ``payload``, so that a retry of the row sends only what is missing."""
    intros = [
        {
            "b_id": outbox_id,
            "b_payload": {"intro_message_id": r.intro.message_id, "week": r.intro.week},
        }
        for _, outbox_id, r in went_out
        if outbox_id is not None and r.intro is not None
    ]
    if intros:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"))
            .values(payload=bindparam("b_payload", type_=OUTBOX.c.payload.type)),
            intros,
        )
    polls = [
        {
            "user_id": user_id,
            "question_id": poll.question_id,
            "telegram_poll_id": poll.poll_id,
            "telegram_message_id": poll.message_id,
            "outbox_id": outbox_id,
            "sent_at": sent_at,
        }
        for user_id, outbox_id, receipt in went_out
        for poll in receipt.polls
    ]
    if polls:
        conn.execute(insert(POLLS), polls)


class CheckinRepository(Repository):
    """Polls and poll answers of one transaction."""

    def sent(self, user_id: int, receipt: Receipt, sent_at: datetime) -> None:
        """Polls sent outside the dispatcher (the baseline): see ``store_sent``."""
        store_sent(self._conn(), [(user_id, None, receipt)], sent_at)

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

"""The journal: conversations the user logged (from a nudge or with /log) and their notes.

Like every repository here, nothing in this module commits; the unit of work owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.db import Repository
from bot.storage.models import ConversationLog, ItemProgress, metadata


@dataclass(frozen=True, slots=True)
class LogSnapshot:
    """A logged conversation as handlers see it."""

    id: int
    user_id: int
    outcome: str
    item_id: str | None
    created_at: datetime


def _snapshot(row: ConversationLog) -> LogSnapshot:
    return LogSnapshot(row.id, row.user_id, row.outcome, row.item_id, row.created_at)


def _log_row(log_id: int, user_id: int) -> Any:
    return update(ConversationLog).where(
        ConversationLog.id == log_id, ConversationLog.user_id == user_id
    )


_INSERT_LOG = insert(metadata.tables["conversation_logs"])


def insert_log(
    connection: Connection,
    user_id: int,
    *,
    outcome: str,
    source: str,
    item_id: str | None,
    outbox_id: int | None,
    now: datetime,
) -> int:
    """A logged conversation not tied to a /log question (from a nudge): one INSERT; its id."""
    result = connection.execute(
        _INSERT_LOG,
        {
            "user_id": user_id,
            "outcome": outcome,
            "source": source,
            "item_id": item_id,
            "outbox_id": outbox_id,
            "created_at": now,
        },
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class JournalRepository(Repository):
    """Conversation logs of one transaction."""

    def add(
        self,
        user_id: int,
        *,
        outcome: str,
        source: str,
        now: datetime,
        item_id: str | None = None,
        outbox_id: int | None = None,
        request_message_id: int | None = None,
    ) -> int | None:
        """A new log; its id, or None when this /log question message already has one."""
        if request_message_id is None:  # from a nudge: one INSERT, no ORM flush
            return insert_log(
                self._conn(),
                user_id,
                outcome=outcome,
                source=source,
                item_id=item_id,
                outbox_id=outbox_id,
                now=now,
            )
        if self._by_question(user_id, request_message_id) is not None:
            return None
        row = ConversationLog(
            user_id=user_id,
            outcome=outcome,
            source=source,
            item_id=item_id,
            outbox_id=outbox_id,
            request_message_id=request_message_id,
            created_at=now,
        )
        try:
            with self._session.begin_nested():
                self._session.add(row)
                self._session.flush()
        except IntegrityError:  # the same press raced in from another process
            return None
        return row.id

    def _by_question(self, user_id: int, message_id: int) -> int | None:
        found: int | None = self._session.scalar(
            select(ConversationLog.id).where(
                ConversationLog.user_id == user_id,
                ConversationLog.request_message_id == message_id,
            )
        )
        return found

    def own(self, log_id: int, user_id: int, message_id: int) -> LogSnapshot | None:
        """The log a /log button belongs to: this user's, asked in this very message."""
        row = self._session.scalar(
            select(ConversationLog).where(
                ConversationLog.id == log_id,
                ConversationLog.user_id == user_id,
                ConversationLog.request_message_id == message_id,
            )
        )
        return None if row is None else _snapshot(row)

    def get(self, log_id: int, user_id: int) -> LogSnapshot | None:
        """This user's log with this id, if any."""
        row = self._session.scalar(
            select(ConversationLog).where(
                ConversationLog.id == log_id, ConversationLog.user_id == user_id
            )
        )
        return None if row is None else _snapshot(row)

    def set_item(self, log_id: int, user_id: int, item_id: str) -> bool:
        """Which step or tip the conversation leaned on, once: False if already set."""
        result = self._session.execute(
            _log_row(log_id, user_id)
            .where(ConversationLog.item_id.is_(None))
            .values(item_id=item_id)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    def set_note(self, log_id: int, user_id: int, note: str) -> bool:
        """Store the note (never logged); False if the log is gone."""
        result = self._session.execute(_log_row(log_id, user_id).values(note=note))
        return cast(CursorResult[Any], result).rowcount == 1

    def recently_sent_items(self, user_id: int, limit: int) -> Sequence[str]:
        """Items most recently sent to this user, newest first."""
        return (
            self._session.scalars(
                select(ItemProgress.item_id)
                .where(ItemProgress.user_id == user_id, ItemProgress.last_sent_at.is_not(None))
                .order_by(ItemProgress.last_sent_at.desc())
                .limit(limit)
            )
        ).all()

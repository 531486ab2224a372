"""What the reports read: her logs, her check-in answers, and everything stored about her.

Rows come back as the plain records of ``bot.reports.records``; like every repository here,
nothing in this module commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from bot.reports.records import (
    ItemProgressRecord,
    LogRecord,
    PollAnswerRecord,
    UserRecord,
    UserSettingsRecord,
)
from bot.storage.db import Repository
from bot.storage.models import (
    ConversationLog,
    ItemProgress,
    OutboxMessage,
    Poll,
    PollAnswer,
)
from bot.storage.repositories import SettingsSnapshot, UserSnapshot, export_user

LOOKED_BACK = "looked_back"
"""``outbox.response`` of a check-in whose look back was sent (claimed once)."""

# Tables the export shows in their own readable sections; every other table of hers goes to
# "other" as it is stored, so the export stays complete as the schema grows.
_SHOWN = frozenset({"users", "user_settings", "item_progress", "conversation_logs", "poll_answers"})


def settings_record(settings: SettingsSnapshot) -> UserSettingsRecord:
    return UserSettingsRecord(
        timezone=settings.timezone,
        nudge_minute=settings.nudge_minute,
        pace=settings.pace,
        quiet_start_minute=settings.quiet_start_minute,
        quiet_end_minute=settings.quiet_end_minute,
        checkin_weekday=settings.checkin_weekday,
        paused_until=settings.paused_until,
    )


class ReportRepository(Repository):
    """Her history as plain records, in one transaction."""

    def logs(self, user_id: int) -> list[LogRecord]:
        """Her logged conversations, oldest first."""
        rows = self._session.execute(
            select(
                ConversationLog.created_at,
                ConversationLog.outcome,
                ConversationLog.item_id,
                ConversationLog.note,
                ConversationLog.source,
            )
            .where(ConversationLog.user_id == user_id)
            .order_by(ConversationLog.created_at, ConversationLog.id)
        )
        return [
            LogRecord(logged_at=at, outcome=outcome, item_id=item, note=note, source=source)
            for at, outcome, item, note, source in rows
        ]

    def answers(self, user_id: int) -> list[PollAnswerRecord]:
        """Her answers to her own check-in polls, in the order they came."""
        rows = self._session.execute(
            select(
                Poll.id,
                Poll.question_id,
                Poll.sent_at,
                PollAnswer.option_ids,
                PollAnswer.answered_at,
            )
            .join(PollAnswer, PollAnswer.poll_id == Poll.id)
            .where(Poll.user_id == user_id, PollAnswer.user_id == user_id)
            .order_by(PollAnswer.answered_at, PollAnswer.id)
        )
        return [
            PollAnswerRecord(
                sent_poll_id=poll_id,
                question_id=question,
                sent_at=sent_at,
                option_ids=tuple(option_ids or ()),
                answered_at=answered_at,
            )
            for poll_id, question, sent_at, option_ids, answered_at in rows
        ]

    def user_record(self, user: UserSnapshot, settings: SettingsSnapshot) -> UserRecord:
        """Everything stored about her, for /export."""
        progress = [
            ItemProgressRecord(
                item_id=row.item_id,
                box=row.box,
                due_at=row.due_at,
                first_sent_at=row.first_sent_at,
                last_sent_at=row.last_sent_at,
                last_outcome=row.last_outcome,
                tries=row.tries,
                times_sent=row.times_sent,
            )
            for row in self._session.scalars(
                select(ItemProgress)
                .where(ItemProgress.user_id == user.id)
                .order_by(ItemProgress.id)
            )
        ]
        tables = export_user(self._session, user.id, times_as_text=False)
        return UserRecord(
            telegram_id=user.telegram_id,
            joined_at=user.created_at,
            settings=settings_record(settings),
            progress=progress,
            logs=self.logs(user.id),
            answers=self.answers(user.id),
            other={name: rows for name, rows in tables.items() if name not in _SHOWN},
        )

    def has_polls(self, user_id: int, question_ids: Sequence[str]) -> bool:
        """Whether any of these questions was already sent to her (the baseline goes once)."""
        found = self._session.scalar(
            select(Poll.id)
            .where(Poll.user_id == user_id, Poll.question_id.in_(list(question_ids)))
            .limit(1)
        )
        return found is not None

    def checkin_of_poll(self, user_id: int, poll_id: int) -> int | None:
        """The check-in (outbox row) a poll of hers belongs to, if it came with one."""
        outbox_id: int | None = self._session.scalar(
            select(Poll.outbox_id).where(Poll.id == poll_id, Poll.user_id == user_id)
        )
        return outbox_id

    def checkin_sent_at(self, user_id: int, outbox_id: int) -> datetime | None:
        """When this check-in of hers went out (its first poll): the week it belongs to."""
        sent: datetime | None = self._session.scalar(
            select(func.min(Poll.sent_at)).where(
                Poll.outbox_id == outbox_id, Poll.user_id == user_id
            )
        )
        return sent

    def checkin_complete(self, user_id: int, outbox_id: int) -> bool:
        """Whether every poll of this check-in has an answer from her (a vote, not a retraction
        only: an answer row of any kind counts as answered)."""
        polls: Sequence[int] = (
            self._session.scalars(
                select(Poll.id).where(Poll.outbox_id == outbox_id, Poll.user_id == user_id)
            )
        ).all()
        if not polls:
            return False
        answered = set(
            (
                self._session.scalars(
                    select(PollAnswer.poll_id).where(
                        PollAnswer.poll_id.in_(polls), PollAnswer.user_id == user_id
                    )
                )
            ).all()
        )
        return answered >= set(polls)

    def claim_look_back(self, outbox_id: int, now: Any) -> bool:
        """Claim the check-in's look back once (a conditional UPDATE): False if already sent."""
        result = self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, OutboxMessage.response.is_(None))
            .values(response=LOOKED_BACK, responded_at=now)
        )
        return cast(CursorResult[Any], result).rowcount == 1

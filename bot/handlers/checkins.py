"""Weekly check-in polls: sent as native, non-anonymous polls; answers stored as they come.

A poll answer is stored only when the poll was sent to that very user; anything else (someone
else's poll, an unknown poll) is ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import Bot, Update

from bot.context import CloserContext
from bot.logs import get_logger
from bot.render.progress import look_back_text
from bot.reports.questions import weekly_questions
from bot.services import Services
from bot.storage.repositories import UserSnapshot
from bot.storage.uow import Tx
from bot.usecases import progress
from bot.usecases.common import Who
from content import PollQuestion

log = get_logger(__name__)


def checkin_questions(services: Services, week_number: int) -> list[PollQuestion]:
    """This week's questions: the weekly measures, then one rotating question."""
    return weekly_questions(services.library.polls, week_number)


def local_week_number(moment: datetime, timezone: str) -> int:
    """The ISO week number of ``moment`` on her calendar (her zone), not UTC's."""
    return moment.astimezone(ZoneInfo(timezone)).isocalendar().week


async def her_week_number(services: Services, user: UserSnapshot, moment: datetime) -> int:
    """The ISO week number of ``moment`` in her zone, read from her settings."""
    settings = await services.tx.read(lambda tx: tx.users.get_settings(user.id))
    return local_week_number(moment, settings.timezone)


async def send_checkin(
    bot: Bot,
    services: Services,
    user: UserSnapshot,
    *,
    outbox_id: int | None = None,
    week: int | None = None,
    skip: Collection[str] = frozenset(),
    intro: bool = True,
) -> list[int]:
    """Send the intro and the week's polls to one user; returns the poll message ids.

    Sent for an outbox row (`outbox_id`), the intro is noted on the row as it goes out (its
    payload: `intro_message_id` and `week`, the ISO week on her calendar), and each poll is
    stored as it goes out. A retry
    after a failure part-way passes `intro=False`, the first attempt's `week` and the question
    ids already sent as `skip`: then only what is missing goes out.
    """
    now = services.clock()
    week = week or await her_week_number(services, user, now)
    if intro:
        message = await bot.send_message(
            user.chat_id, services.library.render_text("checkin_intro")
        )
        if outbox_id is not None:
            intro_id, row = message.message_id, outbox_id
            await services.tx.write(lambda tx: tx.checkins.note_intro(row, intro_id, week))
    questions = [q for q in checkin_questions(services, week) if q.id not in skip]
    message_ids = await send_polls(bot, services, user, questions, outbox_id=outbox_id)
    log.info("checkin_sent", user_id=user.id, polls=len(message_ids))
    return message_ids


async def send_polls(
    bot: Bot,
    services: Services,
    user: UserSnapshot,
    questions: Sequence[PollQuestion],
    *,
    outbox_id: int | None = None,
) -> list[int]:
    """Send native, non-anonymous polls, each stored as it goes out; their message ids."""
    now = services.clock()
    message_ids: list[int] = []
    for question in questions:
        # Polls go out with the bot's default parse mode (HTML): escape the texts.
        message = await bot.send_poll(
            user.chat_id,
            escape(question.question, quote=False),
            [escape(option, quote=False) for option in question.options],
            is_anonymous=False,
            allows_multiple_answers=False,
        )
        assert message.poll is not None
        await services.tx.write(
            _note_poll, user.id, question.id, message.poll.id, message.message_id, outbox_id, now
        )
        message_ids.append(message.message_id)
    return message_ids


def _note_poll(
    tx: Tx,
    user_id: int,
    question_id: str,
    poll_id: str,
    message_id: int,
    outbox_id: int | None,
    now: datetime,
) -> None:
    tx.checkins.add_poll(
        user_id,
        question_id=question_id,
        telegram_poll_id=poll_id,
        telegram_message_id=message_id,
        outbox_id=outbox_id,
        sent_at=now,
    )


async def on_poll_answer(update: Update, context: CloserContext) -> None:
    """Store an answer to one of this user's check-in polls; ignore anything else. The answer
    that completes a weekly check-in is followed by a short look back on her week."""
    poll_answer = update.poll_answer
    if poll_answer is None or poll_answer.user is None:
        return
    services = context.services
    answered = await progress.answer_poll(
        services.tx, Who(poll_answer.user.id), poll_answer.poll_id, poll_answer.option_ids
    )
    if answered is None:
        log.info("poll_answer_ignored", reason="unknown_poll_or_other_user")
        return
    log.info("poll_answered", user_id=answered.user_id, poll_id=answered.poll_id)
    if answered.look_back is not None and answered.chat_id is not None:
        await context.bot.send_message(
            answered.chat_id, look_back_text(answered.look_back, services.library)
        )
        log.info("look_back_sent", user_id=answered.user_id)

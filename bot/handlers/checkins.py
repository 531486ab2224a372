"""Answers to the weekly check-in's polls, stored as they come (the check-in itself goes out
from ``bot.outreach``).

A poll answer is stored only when the poll was sent to that very user; anything else (someone
else's poll, an unknown poll) is ignored.
"""

from __future__ import annotations

from telegram import Update

from bot.context import CloserContext
from bot.logs import get_logger
from bot.render.progress import look_back_text
from bot.usecases import progress
from bot.usecases.common import Who

log = get_logger(__name__)


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
            answered.chat_id, look_back_text(answered.look_back, context.library)
        )
        log.info("look_back_sent", user_id=answered.user_id)

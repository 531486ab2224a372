"""The one error handler: log the failure (never the message text), tell the user briefly.

By then the update was set aside (``bot.context.CloserApplication``): one that can be replayed
(a press, a bare command) is kept to finish once the bug is fixed; a message with text is not
kept, so she is asked to send it again."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.context import CloserContext
from bot.handlers.common import plain
from bot.logs import get_logger
from bot.storage.handled import HANDLING

log = get_logger(__name__)


async def on_error(update: object, context: CloserContext) -> None:
    """Log the exception with its traceback and send the user a short apology."""
    error = context.error
    user_id = (
        update.effective_user.id if isinstance(update, Update) and update.effective_user else None
    )
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("telegram_forbidden", user_id=user_id, update_id=update_id)
        return
    log.error(
        "handler_failed",
        user_id=user_id,
        update_id=update_id,
        error_type=type(error).__name__,
        exc_info=error,
    )
    if isinstance(error, NetworkError) or not isinstance(update, Update):
        return
    chat = update.effective_chat
    if chat is None or chat.type != chat.PRIVATE:
        return
    current = HANDLING.get()
    kept = current is not None and current.replayable
    library = context.library
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(
                plain(library, "kept_toast" if kept else "error_toast"), show_alert=False
            )
        return
    try:
        await context.bot.send_message(
            chat.id, library.render_text("kept_reply" if kept else "error_reply")
        )
    except TelegramError:
        log.warning("error_reply_failed", user_id=user_id)

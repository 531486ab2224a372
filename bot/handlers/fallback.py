"""What no feature answers: an unknown command, a sticker or a photo, a button no one knows.

Typed text is routed where features are composed (``bot.handlers.routing``). Texts are never
logged. Group chats get deliberate silence.
"""

from __future__ import annotations

from telegram import Update

from bot.context import CloserContext
from bot.handlers.common import answer, is_private, plain, reply, unknown_command

on_unknown_command = unknown_command


async def on_other_message(update: Update, context: CloserContext) -> None:
    """Stickers, photos, voice notes and the like, in a private chat (with a line to /safety).

    A caption that speaks of danger was answered first (``bot.handlers.hearing``)."""
    message = update.effective_message
    caption = message.caption if message is not None else None
    if caption and context.danger_in(caption).level == "danger":
        return
    if is_private(update):
        await reply(update, context.library.render_text("unsupported_message"))


async def on_stale_button(update: Update, context: CloserContext) -> None:
    """A button whose data no handler recognises (old, foreign or forged)."""
    query = update.callback_query
    if query is not None:
        await answer(query, plain(context.library, "button_stale"))

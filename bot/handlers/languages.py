"""/language and the row in /settings: which language Closer writes to her in.

A new user starts in her Telegram's language (``bot.language``); here she can choose another,
with one button per language, each named in itself. The choice takes effect at once: the
answer is already in the new language, and so is everything sent later (nudges render at send
time in her stored language).
"""

from __future__ import annotations

from telegram import Update

from bot import language
from bot.callbacks import LanguageMenu, LanguagePress, SetLanguage
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, is_private, reply, typed_press, who
from bot.keyboards import language_keyboard
from bot.usecases import setup


async def language_command(update: Update, context: CloserContext) -> None:
    """/language: the languages Closer speaks, as buttons."""
    if not is_private(update):
        return
    await reply(update, context.library.render_text("language_question"), language_keyboard())


@typed_press(LanguagePress, stale="button_stale", invalid="button_stale")
async def on_press(update: Update, context: CloserContext, press: LanguagePress) -> None:
    """The menu (from /settings), or a language chosen: stored, and said in that language."""
    query = update.callback_query
    assert query is not None
    if isinstance(press, LanguageMenu):
        await answer(query)
        await edit_or_send(
            query, context.library.render_text("language_question"), language_keyboard()
        )
        return
    assert isinstance(press, SetLanguage)
    known = await setup.set_language(context.services.tx, who(update), press.language)
    if not known:
        await answer(query, context.library.label("setup_first"))
        return
    language.CURRENT.set(press.language)
    await answer(query)
    await edit_or_send(query, context.library.render_text("language_set"), None)

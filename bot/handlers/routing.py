"""The composition point of features: where what she types goes, across features.

Feature modules do not import one another. What crosses features meets here: a typed message
goes to the question it answers (a note of ``journal``, a setting of ``setup``), to a request in
words (``requests``), or to the card that fits (``freetext``). ``bot.usecases.hearing.route_typed``
decides where; this module only calls the feature that answers. Texts are never logged.
"""

from __future__ import annotations

from telegram import Update

from bot.context import CloserContext
from bot.handlers import freetext, journal, requests, setup
from bot.handlers.common import is_private, reply, who
from bot.hearing.danger import Danger
from bot.hearing.language import detect
from bot.hearing.requests import hear_request
from bot.usecases import hearing
from bot.usecases.hearing import Goes


async def on_text(update: Update, context: CloserContext) -> None:
    """Route a typed message to the question it answers, or reply helpfully."""
    if not is_private(update):
        return
    message = update.effective_message
    assert message is not None
    # Danger was answered first (bot.handlers.hearing); nothing else answers it, but a note she
    # was asked for is still kept.
    danger = context.danger_in(message.text or "")
    sure = danger.level == "danger"
    route = await hearing.route_typed(context.services.tx, who(update), danger=sure)
    library = context.library
    if route.goes is Goes.START_HINT:
        await reply(update, library.render_text("start_hint"))
    elif route.goes is Goes.NOTE and route.log_id is not None:
        await journal.on_note(update, context, route.log_id)
    elif route.goes is Goes.SETTING and route.user is not None and route.field is not None:
        await setup.on_typed_answer(update, context, route.user, route.field)
    elif route.goes is Goes.ONBOARDING_BUTTONS:
        await reply(update, library.render_text("onboarding_buttons_hint"))
    elif route.goes is Goes.FREE_TEXT:
        await answer_free_text(update, context, danger)


async def answer_free_text(update: Update, context: CloserContext, danger: Danger) -> None:
    """A message that answers no question: a request in words is met first
    (``bot.handlers.requests``), else the reply that fits it (``bot.handlers.freetext``)."""
    message = update.effective_message
    assert message is not None
    text = message.text or ""
    hint = update.effective_user.language_code if update.effective_user else None
    language = detect(text, hint)
    heard = hear_request(text, language, context.services.locales)
    if heard is not None:
        footer = ""
        if danger.level == "worry":
            footer = "\n\n" + context.services.locales.get(heard.lang).text("worry_line")
        if await requests.answer_request(update, context, heard, footer=footer):
            return
    await freetext.answer_free_text(update, context, danger, language)

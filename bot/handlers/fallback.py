"""Typed text that is not a command, and everything else a chat can contain.

Typed text answers whatever the user was last asked (a time zone, a time, a note); otherwise
it gets a short, useful reply. Texts are never logged. Group chats get deliberate silence.
"""

from __future__ import annotations

from telegram import Update

from bot.callbacks import Field
from bot.context import CloserContext
from bot.handlers import freetext, journal, setup
from bot.handlers.common import answer, is_private, plain, reply, work

TYPED_FIELDS = {"timezone": Field.TIMEZONE, "time": Field.TIME}


async def on_text(update: Update, context: CloserContext) -> None:
    """Route a typed message to the question it answers, or reply helpfully."""
    if not is_private(update):
        return
    message = update.effective_message
    assert message is not None
    # Danger was answered first (bot.handlers.hearing); nothing else answers it, but a note she
    # was asked for is still kept.
    danger = context.danger_in(message.text or "")
    async with work(update, context, write=False) as uow:
        user = uow.user
    if user is None:
        if danger.level != "danger":
            await reply(update, context.services.library.render_text("start_hint"))
        return
    awaiting = user.awaiting
    note_of = awaiting.log_id if awaiting is not None else None
    if danger.level == "danger":
        if note_of is not None:
            await journal.on_note(update, context, note_of)
        return
    if user.onboarding_step in TYPED_FIELDS:
        await setup.on_typed_answer(update, context, user, TYPED_FIELDS[user.onboarding_step])
        return
    if user.onboarding_step is not None:
        await reply(update, context.services.library.render_text("onboarding_buttons_hint"))
        return
    field = awaiting.field if awaiting is not None else None
    if field is not None:
        await setup.on_typed_answer(update, context, user, field)
        return
    if note_of is not None:
        await journal.on_note(update, context, note_of)
        return
    await freetext.answer_free_text(update, context, danger)


async def on_unknown_command(update: Update, context: CloserContext) -> None:
    """A command Closer does not have."""
    if not is_private(update):
        return
    async with work(update, context, write=False):
        pass  # only ends a typed question left open
    await reply(update, context.services.library.render_text("unknown_command"))


async def on_other_message(update: Update, context: CloserContext) -> None:
    """Stickers, photos, voice notes and the like, in a private chat (with a line to /safety).

    A caption that speaks of danger was answered first (``bot.handlers.hearing``)."""
    message = update.effective_message
    caption = message.caption if message is not None else None
    if caption and context.danger_in(caption).level == "danger":
        return
    if is_private(update):
        await reply(update, context.services.library.render_text("unsupported_message"))


async def on_stale_button(update: Update, context: CloserContext) -> None:
    """A button whose data no handler recognises (old, foreign or forged)."""
    query = update.callback_query
    if query is not None:
        await answer(query, plain(context.services.library, "button_stale"))

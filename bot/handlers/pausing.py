"""/pause [days], /resume, and the one-off pause offer after three ignored nudges.

The pause offer is queued by the planner as a "text" outbox row (``PAUSE_OFFER_TEXT``) when the
back-off starts; the dispatcher's sender renders it with ``bot.keyboards.pause_offer_keyboard``;
its "Pause a week" button is the /pause button's own, and "Carry on" (``on_pause_offer``)
counts as a tap. The state changes are use cases (``bot.usecases.pausing``).
"""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest

from bot.callbacks import PauseOfferPress, PausePress
from bot.context import CloserContext
from bot.handlers.common import (
    answer,
    edit_or_send,
    plain,
    reply,
    typed_press,
    who,
)
from bot.keyboards import pause_keyboard
from bot.logs import get_logger
from bot.nudges import local_time_label, when_phrase
from bot.usecases import pausing
from content import Library

log = get_logger(__name__)


async def pause_command(update: Update, context: CloserContext) -> None:
    """/pause: buttons; /pause N: pause for N days."""
    args = context.args or []
    days = args[0] if args else ""
    number = int(days) if len(args) == 1 and days.isascii() and days.isdigit() else None
    if number == 0:
        number = None  # "/pause 0" is not "until I resume": only the button says that
    result = await pausing.pause(context.services.tx, who(update), number)
    library = context.library
    if result is pausing.Unpaused.UNKNOWN:
        await reply(update, library.render_text("setup_first"))
        return
    if not args:
        await reply(update, library.render_text("pause_question"), pause_keyboard(library))
        return
    if isinstance(result, pausing.Unpaused):
        await reply(update, library.render_text("pause_usage", max_days=pausing.MAX_DAYS))
        return
    await reply(update, _paused_text(library, result))


@typed_press(PausePress)
async def on_press(update: Update, context: CloserContext, press: PausePress) -> None:
    """A /pause duration button."""
    query = update.callback_query
    assert query is not None
    result = await pausing.pause(context.services.tx, who(update), press.days)
    if isinstance(result, pausing.Unpaused):
        await answer(query, plain(context.library, "button_stale"))
        return
    await answer(query)
    await edit_or_send(query, _paused_text(context.library, result))


def _paused_text(library: Library, paused: pausing.Paused) -> str:
    """What a pause begun says: until when, and where a snoozed nudge it carries went."""
    if paused.days == 0:
        text = library.render_text("paused_until_resume")
        if paused.snoozes:
            text += "\n\n" + library.render_text("pause_holds_snooze")
        return text
    text = library.render_text(
        "paused", until=local_time_label(paused.until, paused.timezone, library)
    )
    if paused.snoozes:
        when = when_phrase(library, paused.snoozes[0], paused.timezone, paused.now)
        text += "\n\n" + library.render_text("pause_carries_snooze", when=when)
    return text


async def resume_command(update: Update, context: CloserContext) -> None:
    """/resume: end a pause."""
    result = await pausing.resume(context.services.tx, who(update))
    library = context.library
    if result is pausing.NotResumed.UNKNOWN:
        await reply(update, library.render_text("setup_first"))
        return
    if result is pausing.NotResumed.NOT_PAUSED:
        await reply(update, library.render_text("not_paused"))
        return
    text = library.render_text("resumed")
    if result.snoozes:
        when = when_phrase(library, result.snoozes[0], result.timezone, result.now)
        text += "\n\n" + library.render_text("resume_brings_snooze", when=when)
    await reply(update, text)


@typed_press(PauseOfferPress)
async def on_pause_offer(update: Update, context: CloserContext, press: PauseOfferPress) -> None:
    """The pause offer's "Carry on": a tap, so the back-off ends and the usual pace returns."""
    query = update.callback_query
    assert query is not None
    user_id = await pausing.carry_on(context.services.tx, who(update))
    if user_id is None:
        await answer(query, plain(context.library, "button_stale"))
        return
    await answer(query, context.library.label("toast_carrying_on"))
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest:
        log.info("pause_offer_edit_failed", user_id=user_id)
    log.info("pause_offer_declined", user_id=user_id)

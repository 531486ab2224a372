"""Nudges in the chat: /tip and every press on a nudge (the use cases: ``bot.usecases.nudges``).

A press is answered at once, and the nudge's message shows what happened: a menu opened, the
answer recorded (or the one recorded before), or why the press changed nothing.
"""

from __future__ import annotations

from datetime import datetime

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from bot.callbacks import SNOOZE_RESPONSES, NudgePress, Op
from bot.context import CloserContext, wake_dispatcher
from bot.handlers.common import answer, edit_or_send, plain, reply, typed_press, who
from bot.logs import get_logger
from bot.nudges import Menu, answered_keyboard, render_nudge, response_line, snooze_buttons
from bot.outreach import send_prepared
from bot.usecases import nudges
from bot.usecases.nudges import NudgePressed, PressResult, Refused
from content import Library, TextKey

log = get_logger(__name__)

_REFUSALS: dict[Refused, TextKey] = {
    Refused.UNKNOWN_USER: "button_stale",
    Refused.NOT_OWN: "press_not_yours",
    Refused.OTHER_MESSAGE: "press_other_message",
    Refused.WRONG_BUTTON: "press_wrong_button",
}
_MENUS = {Op.TRIED: Menu.TRIED, Op.LATER: Menu.LATER, Op.BACK: Menu.MAIN}


async def tip_command(update: Update, context: CloserContext) -> None:
    """/tip: one tip now, for the step she is on, preferring ones not seen lately."""
    services = context.services
    prepared = await nudges.tip(services.tx, context.library, who(update))
    if prepared is None:
        await reply(update, context.library.render_text("setup_first"))
        return
    await send_prepared(context.bot, services, prepared)


@typed_press(NudgePress)
async def on_press(update: Update, context: CloserContext, press: NudgePress) -> None:
    """A button under a nudge (an invalid or foreign press is answered as stale)."""
    query = update.callback_query
    assert query is not None
    services = context.services
    message_id = query.message.message_id if query.message is not None else None
    pressed = NudgePressed(who(update), press.outbox_id, press.op, message_id)
    result = await nudges.press(services.tx, context.library, pressed)
    if result.recorded in SNOOZE_RESPONSES:
        wake_dispatcher(context.application)  # the snooze's row is new: on a sped-up clock,
        # the next tick may be an hour of hers away
    await _show(query, context.library, result, now=services.clock())


async def _show(
    query: CallbackQuery, library: Library, result: PressResult, *, now: datetime
) -> None:
    """Answer the press and show the nudge as the press left it."""
    if result.refused is not None:
        if result.refused is not Refused.WRONG_BUTTON:
            log.info("press_refused", reason=result.refused.value)
        await answer(query, plain(library, _REFUSALS[result.refused]))
        return
    item = result.item
    assert item is not None
    if result.opened is not None:
        await answer(query, None)
        later = None
        if result.snoozes is not None:
            later = snooze_buttons(result.snoozes, result.zone, now, library)
        text, markup = render_nudge(
            item, result.outbox_id, menu=_MENUS[result.opened], later=later, library=library
        )
        await edit_or_send(query, text, markup)
        return
    if result.superseded:
        toast: TextKey = "press_superseded"
    elif result.already:
        toast = "already_saved"
    else:
        toast = "saved"
    await answer(query, plain(library, toast))
    if result.response is None:
        return
    text, _ = render_nudge(
        item,
        result.outbox_id,
        response_line(library, result.response, result.payload),
        library=library,
    )
    try:
        await edit_or_send(query, text, answered_keyboard(result.response, library))
    except BadRequest:
        log.info("press_edit_failed", outbox_id=result.outbox_id)

"""Requests in words, met: "stop the messages", "remind me tomorrow", "are you a bot?".

``bot.hearing.requests`` hears the request (danger was heard before it and always wins); this
module answers it, in the language its lexicon is written in (``content/data/locales/<lang>/
replies.yaml``), through the flow a command or a button would start:

- help: what Closer does, with the way into "Talking now" and /safety;
- stop: the /pause choices, and /forget named;
- snooze: the "Later" choices opened on her latest unanswered nudge (its own buttons: a press
  there is checked and recorded as usual); with none, when the next one comes and /settings;
- change_time: her settings with their buttons; next_step: the step she is on;
- forget: /forget's confirm and cancel buttons;
- is_human: an honest answer; ack and goodnight: a short word (good night only when she said it
  or it is evening where she is); partner_not_man: what carries over; language: the note that
  Closer speaks English for now.

Two answers show another feature's buttons (the settings menu, a nudge's "Later" choices),
built by the shared renderers (``bot.keyboards``, ``bot.nudges``). What the answers read is in
``bot.usecases.requests``.

Texts are never logged: the log says which request was heard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from telegram import InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import BadRequest

from bot.callbacks import Op
from bot.context import CloserContext
from bot.handlers.common import reply, settings_summary, who
from bot.hearing.requests import HeardRequest
from bot.keyboards import forget_keyboard, help_keyboard, pause_keyboard, settings_menu
from bot.logs import get_logger
from bot.nudges import Menu, local_time_label, nudge_keyboard, snooze_buttons_for
from bot.storage.progress import NudgeSnapshot
from bot.usecases import requests
from bot.usecases.common import schedule_of
from content import Library
from content.locales import Locale

log = get_logger(__name__)

_WHEN_OPS: Final = {
    "hour": Op.LATER_HOUR,
    "evening": Op.LATER_EVENING,
    "tomorrow": Op.LATER_TOMORROW,
}
_PLAIN: Final = {
    "is_human": "request_is_human",
    "partner_not_man": "request_partner_not_man",
    "ack": "request_ack",
    "language": "not_english_note",
}


async def answer_request(
    update: Update,
    context: CloserContext,
    heard: HeardRequest,
    *,
    footer: str = "",
) -> bool:
    """Answer a request in words; False when there is no one to answer it for (not set up).

    ``footer``: a line to add under the answer (the line to /safety beside a worry)."""
    locale = context.services.locales.get(heard.lang)
    request = heard.request
    log.info("request_heard", request=request, lang=heard.lang)
    if request in _PLAIN:
        await reply(update, locale.text(_PLAIN[request]) + footer)
        return True
    if request == "help":
        await reply(update, locale.text("request_help") + footer, help_keyboard(context.library))
        return True
    if request == "stop":
        await reply(update, locale.text("request_stop") + footer, pause_keyboard(context.library))
        return True
    if request == "forget":
        markup = forget_keyboard(context.services.clock(), context.library)
        await reply(update, locale.text("request_forget") + footer, markup)
        return True
    if request == "snooze":
        return await _snooze(update, context, heard, locale, footer)
    if request == "next_step":
        return await _next_step(update, context, locale, footer)
    if request == "change_time":
        return await _change_time(update, context, locale, footer)
    return await _goodbye(update, context, heard, locale, footer)


async def _goodbye(
    update: Update, context: CloserContext, heard: HeardRequest, locale: Locale, footer: str
) -> bool:
    """Good night when she said it, or when it is evening or night where she is."""
    night: bool | None = heard.when == "night"
    if not night:
        night = await requests.is_night(context.services.tx, who(update))
        if night is None:
            return False
    await reply(update, locale.text("request_goodnight" if night else "request_goodbye") + footer)
    return True


async def _change_time(update: Update, context: CloserContext, locale: Locale, footer: str) -> bool:
    """Her settings, with a button for each (the nudge time among them)."""
    settings = await requests.her_settings(context.services.tx, who(update))
    if settings is None:
        return False
    text, markup = settings_menu(context.library, settings_summary(settings, context.library))
    await reply(update, f"{locale.text('request_change_time')}\n\n{text}{footer}", markup)
    return True


async def _next_step(update: Update, context: CloserContext, locale: Locale, footer: str) -> bool:
    """The step she is on: the last one unlocked."""
    library = context.library
    number = await requests.current_step(context.services.tx, who(update), library.all_items())
    if number is None:
        return False
    step = library.step(number)
    last = step.step == max(item.step for item in library.steps)
    key = "request_next_step_last" if last else "request_next_step"
    await reply(update, locale.text(key, number=step.step, title=step.title) + footer)
    return True


async def _snooze(
    update: Update,
    context: CloserContext,
    heard: HeardRequest,
    locale: Locale,
    footer: str,
) -> bool:
    """The "Later" choices on her latest unanswered nudge; none: when the next one comes."""
    library = context.library
    view = await requests.snooze_view(context.services.tx, who(update))
    if view is None:
        return False
    user, settings = view.user, view.settings
    nudge = _open_nudge(library, list(view.recent))
    if nudge is not None and nudge.telegram_message_id is not None:
        item = library.item(nudge.item_id or "")
        # The same buttons as "Later" under the nudge: each with the time it really means.
        later = dict(snooze_buttons_for(schedule_of(settings, user), view.now, context.library))
        markup = nudge_keyboard(
            item, nudge.id, Menu.LATER, later=list(later.items()), library=context.library
        )
        if await _open_later_menu(context, user.chat_id, nudge.telegram_message_id, markup):
            op = _WHEN_OPS.get(heard.when or "")
            text = (
                locale.text("request_snooze_named", choice=later[op])
                if op is not None and op in later
                else locale.text("request_snooze")
            )
            await context.bot.send_message(
                user.chat_id,
                text + footer,
                reply_parameters=ReplyParameters(
                    nudge.telegram_message_id, allow_sending_without_reply=True
                ),
            )
            return True
    if view.next_due is None or view.paused:
        await reply(update, locale.text("request_snooze_nothing") + footer)
    else:
        when = _when_label(view.next_due, settings.timezone, locale)
        await reply(update, locale.text("request_snooze_next", when=when) + footer)
    return True


def _open_nudge(library: Library, recent: list[NudgeSnapshot]) -> NudgeSnapshot | None:
    """Her latest nudge still waiting for an answer, if it can be snoozed: not an insight, not
    an older copy of an item sent again since, not older than a nudge she has answered."""
    seen: set[str] = set()
    for nudge in recent:  # newest first
        item_id = nudge.item_id
        if item_id is None or item_id in seen or not library.has_item(item_id):
            continue
        seen.add(item_id)
        if nudge.response is not None:
            return None
        if library.item(item_id).kind != "insight":
            return nudge
    return None


async def _open_later_menu(
    context: CloserContext, chat_id: int, message_id: int, markup: InlineKeyboardMarkup
) -> bool:
    """Show the nudge's "Later" choices on the nudge itself; False if it cannot be edited."""
    try:
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():  # the choices were open already
            return True
        log.info("snooze_menu_not_opened")
        return False
    return True


def _when_label(moment: datetime, zone: str, locale: Locale) -> str:
    """A moment as she reads it, in the reply's language ('Tue 3 Dec, 18:30')."""
    if locale.code == "en":
        return local_time_label(moment, zone)
    local = moment.astimezone(ZoneInfo(zone))
    return format_datetime(local, "EEE d MMM, HH:mm", locale=locale.code)

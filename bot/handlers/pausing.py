"""/pause [days], /resume, and the one-off pause offer after three ignored nudges.

The pause offer is queued by the planner as a "text" outbox row (``PAUSE_OFFER_TEXT``) when the
back-off starts; the dispatcher's sender renders it with ``pause_offer_keyboard``; its "Pause a
week" button is the /pause button's own, and "Carry on" (``on_pause_offer``) counts as a tap.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.callbacks import MAX_PAUSE_DAYS, PauseOfferPress, PausePress
from bot.context import CloserContext
from bot.handlers.common import (
    answer,
    edit_or_send,
    local_time_label,
    plain,
    reply,
    schedule_of,
    typed_press,
    work,
)
from bot.logs import get_logger
from bot.nudges import when_phrase
from bot.services import Services
from bot.storage.planning import carry_snoozes
from bot.storage.uow import UnitOfWork
from scheduler.planner import PAUSE_OFFER_TEXT

log = get_logger(__name__)

__all__ = ["PAUSE_OFFER_TEXT", "pause_keyboard", "pause_offer_keyboard"]

MAX_DAYS = MAX_PAUSE_DAYS
UNTIL_RESUME_DAYS = 3650  # "until I resume": ten years is forever for a coaching bot
CHOICES = ((1, "1 day"), (3, "3 days"), (7, "1 week"), (14, "2 weeks"), (0, "Until I resume"))
PAUSE_OFFER_DAYS = 7


def pause_offer_keyboard() -> InlineKeyboardMarkup:
    """Pause a week (the /pause button's own data) or carry on."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "⏸ Pause a week", callback_data=PausePress(PAUSE_OFFER_DAYS).encode()
                ),
                InlineKeyboardButton("▶️ Carry on", callback_data=PauseOfferPress().encode()),
            ]
        ]
    )


def pause_keyboard() -> InlineKeyboardMarkup:
    """How long to pause: under /pause, and under a request in words to stop the messages."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=PausePress(choice).encode())]
            for choice, label in CHOICES
        ]
    )


async def pause_command(update: Update, context: CloserContext) -> None:
    """/pause: buttons; /pause N: pause for N days."""
    args = context.args or []
    days = args[0] if args else ""
    valid = len(args) == 1 and days.isascii() and days.isdigit() and 1 <= int(days) <= MAX_DAYS
    async with work(update, context, write=valid) as uow:
        user = uow.user
        text = await _pause(context.services, uow, int(days)) if user and valid else None
    library = context.services.library
    if user is None:
        await reply(update, library.render_text("setup_first"))
        return
    if not args:
        await reply(update, library.render_text("pause_question"), pause_keyboard())
        return
    if text is None:
        await reply(update, library.render_text("pause_usage", max_days=MAX_DAYS))
        return
    await reply(update, text)


@typed_press(PausePress)
async def on_press(update: Update, context: CloserContext, press: PausePress) -> None:
    """A /pause duration button."""
    query = update.callback_query
    assert query is not None
    async with work(update, context, write=True) as uow:
        text = None
        if uow.user is not None:
            text = await _pause(context.services, uow, press.days)
    if text is None:
        await answer(query, plain(context.services.library, "button_stale"))
        return
    await answer(query)
    await edit_or_send(query, text)


async def _pause(services: Services, uow: UnitOfWork, days: int) -> str:
    assert uow.user is not None
    until = uow.now + timedelta(days=days or UNTIL_RESUME_DAYS)
    settings = await uow.users.update_settings(uow.user.id, paused_until=until)
    log.info("paused", user_id=uow.user.id, days=days)
    # A snoozed nudge is a promise: the pause carries it to the resume, and says so.
    schedule = schedule_of(settings, uow.user)
    snoozes = await uow.run(carry_snoozes, uow.user.id, schedule, uow.now)
    library = services.library
    if days == 0:
        text = library.render_text("paused_until_resume")
        if snoozes:
            text += "\n\n" + library.render_text("pause_holds_snooze")
        return text
    text = library.render_text("paused", until=local_time_label(until, settings.timezone))
    if snoozes:
        when = when_phrase(library, snoozes[0], schedule.timezone, uow.now)
        text += "\n\n" + library.render_text("pause_carries_snooze", when=when)
    return text


async def resume_command(update: Update, context: CloserContext) -> None:
    """/resume: end a pause."""
    services = context.services
    async with work(update, context, write=True) as uow:
        user = uow.user
        was_paused = False
        snoozes = []
        if user is not None:
            settings = await uow.users.get_settings(user.id)
            was_paused = settings.paused_until is not None and settings.paused_until > uow.now
            if settings.paused_until is not None:
                settings = await uow.users.update_settings(user.id, paused_until=None)
            if was_paused:  # the snoozes the pause carried come back now, or as promised
                schedule = schedule_of(settings, user)
                snoozes = await uow.run(carry_snoozes, user.id, schedule, uow.now)
    if user is None:
        await reply(update, services.library.render_text("setup_first"))
        return
    if not was_paused:
        await reply(update, services.library.render_text("not_paused"))
        return
    log.info("resumed", user_id=user.id)
    library = services.library
    text = library.render_text("resumed")
    if snoozes:
        when = when_phrase(library, snoozes[0], schedule.timezone, services.clock())
        text += "\n\n" + library.render_text("resume_brings_snooze", when=when)
    await reply(update, text)


@typed_press(PauseOfferPress)
async def on_pause_offer(update: Update, context: CloserContext, press: PauseOfferPress) -> None:
    """The pause offer's "Carry on": a tap, so the back-off ends and the usual pace returns."""
    query = update.callback_query
    assert query is not None
    async with work(update, context, write=True) as uow:
        user = uow.user
        if user is not None:
            await uow.users.record_tap(user.id)
    if user is None:
        await answer(query, plain(context.services.library, "button_stale"))
        return
    await answer(query, "Carrying on ✓")
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest:
        log.info("pause_offer_edit_failed", user_id=user.id)
    log.info("pause_offer_declined", user_id=user.id)

"""/pause [days] and /resume."""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import decode, encode
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, known_user, local_time_label, reply
from bot.logs import get_logger
from bot.storage.repositories import UserRepository, UserSnapshot

log = get_logger(__name__)

PAUSE = "pz"
MAX_DAYS = 365
UNTIL_RESUME_DAYS = 3650  # "until I resume": ten years is forever for a coaching bot
CHOICES = ((1, "1 day"), (3, "3 days"), (7, "1 week"), (14, "2 weeks"), (0, "Until I resume"))


async def pause_command(update: Update, context: CloserContext) -> None:
    """/pause: buttons; /pause N: pause for N days."""
    user = await known_user(update, context)
    if user is None:
        await reply(update, "Let's get you set up first: send /start.")
        return
    args = context.args or []
    if not args:
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=encode(PAUSE, days))]
                for days, label in CHOICES
            ]
        )
        await reply(update, "<b>Take a break?</b> For how long?", markup)
        return
    days = args[0]
    if len(args) > 1 or not (days.isascii() and days.isdigit()) or not 1 <= int(days) <= MAX_DAYS:
        await reply(
            update,
            f"Send /pause for choices, or /pause followed by a number of days (1–{MAX_DAYS}), "
            "like <i>/pause 3</i>.",
        )
        return
    await reply(update, await _pause(context, user, int(days)))


async def on_press(update: Update, context: CloserContext) -> None:
    """A /pause duration button."""
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    days = press.int_arg(0) if press else None
    user = await known_user(update, context)
    if user is None or days is None or (days != 0 and not 1 <= days <= MAX_DAYS):
        await answer(query, "Sorry, that button doesn't work any more.")
        return
    await answer(query)
    await edit_or_send(query, await _pause(context, user, days))


async def _pause(context: CloserContext, user: UserSnapshot, days: int) -> str:
    services = context.services
    until = services.clock() + timedelta(days=days or UNTIL_RESUME_DAYS)
    async with services.db.transaction() as session:
        settings = await UserRepository(session).update_settings(user.id, paused_until=until)
    log.info("paused", user_id=user.id, days=days)
    if days == 0:
        return "Paused. I won't send anything until you send /resume. Take care of yourself."
    return services.library.render_text("paused", until=local_time_label(until, settings.timezone))


async def resume_command(update: Update, context: CloserContext) -> None:
    """/resume: end a pause."""
    user = await known_user(update, context)
    if user is None:
        await reply(update, "Let's get you set up first: send /start.")
        return
    services = context.services
    async with services.db.transaction() as session:
        users = UserRepository(session)
        settings = await users.get_settings(user.id)
        was_paused = settings.paused_until is not None and settings.paused_until > services.clock()
        await users.update_settings(user.id, paused_until=None)
    if not was_paused:
        await reply(update, "You're not paused: your nudges are on. (/pause takes a break.)")
        return
    log.info("resumed", user_id=user.id)
    await reply(update, services.library.render_text("resumed"))

"""Small pieces every feature module shares: who is talking, and replying safely."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import CloserContext
from bot.storage.repositories import SettingsSnapshot, UserRepository, UserSnapshot


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == chat.PRIVATE


async def known_user(update: Update, context: CloserContext) -> UserSnapshot | None:
    """The Closer user behind this update, if they have started the bot (never creates one)."""
    if update.effective_user is None:
        return None
    async with context.services.db.transaction(write=False) as session:
        return await UserRepository(session).get_by_telegram_id(update.effective_user.id)


async def reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the chat the update came from."""
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(text, reply_markup=markup)


async def edit_or_send(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the pressed message; if that is impossible (too old, deleted), send a new one."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        message = query.message
        if message is None or "not found" not in str(exc).lower():
            raise
        await query.get_bot().send_message(message.chat.id, text, reply_markup=markup)


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def local_time_label(moment: datetime, zone: str) -> str:
    """A moment as the user reads it: 'Tue 3 Dec, 18:30'."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


PACE_LABELS = {
    "gentle": "Gentle (about 2 a week)",
    "steady": "Steady (about 4 a week)",
    "daily": "Daily",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def settings_summary(settings: SettingsSnapshot) -> str:
    return (
        f"Time zone: {settings.timezone}\n"
        f"Nudge time: {hhmm(settings.nudge_minute)}\n"
        f"Pace: {PACE_LABELS.get(settings.pace, settings.pace)}\n"
        f"Quiet hours: {hhmm(settings.quiet_start_minute)}–{hhmm(settings.quiet_end_minute)}\n"
        f"Check-in day: {WEEKDAYS[settings.checkin_weekday]}"
    )


async def answer(
    query: CallbackQuery, text: str | None = None, *, show_alert: bool = False
) -> None:
    """Answer a button press. A press Telegram no longer accepts an answer for (a replayed or
    very old update) is not an error: the user already got their answer, or is long gone."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as exc:
        if (
            "query is too old" not in str(exc).lower()
            and "query id is invalid" not in str(exc).lower()
        ):
            raise

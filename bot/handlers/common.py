"""Small pieces every feature module shares: who is talking, and replying safely."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from babel import Locale as BabelLocale
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.error import BadRequest

from bot.callbacks import TypedPress, decode, parse_press
from bot.context import CloserContext
from bot.storage.repositories import SettingsSnapshot
from bot.timezones import zone_label
from bot.usecases import info
from bot.usecases.common import Who
from content import Library, TextKey, visible_text
from scheduler.policy import Pace


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == chat.PRIVATE


Screen = tuple[str, InlineKeyboardMarkup | None]
"""A message to show: its text and keyboard."""


def is_command(update: Update) -> bool:
    """A message that starts with a bot command (``/help``)."""
    message = update.message
    entities = message.entities if message is not None else ()
    return any(e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in entities)


def who(update: Update) -> Who:
    """The person this update comes from, as the use cases take it."""
    sender = update.effective_user
    assert sender is not None
    return Who(sender.id, command=is_command(update))


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


def plain(library: Library, key: TextKey, /, **fmt: object) -> str:
    """A text for a press's toast: answerCallbackQuery shows plain text, not HTML."""
    return visible_text(library.render_text(key, **fmt))


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


PACE_LABELS: dict[Pace, TextKey] = {
    "gentle": "pace_gentle",
    "steady": "pace_steady",
    "daily": "pace_daily",
}


def weekday_name(library: Library, weekday: int, width: str = "wide") -> str:
    """A weekday's name (0 Monday) in the library's language, from CLDR (Babel), as it
    stands alone: "Monday", "lunes", «понедельник»; ``width="abbreviated"``: "Mon"."""
    name = str(BabelLocale.parse(library.language).days["stand-alone"][width][weekday])
    return name[:1].upper() + name[1:]


def settings_summary(settings: SettingsSnapshot, library: Library) -> str:
    pace = PACE_LABELS.get(settings.pace)
    return library.label(
        "settings_summary",
        zone=zone_label(settings.timezone),
        time=hhmm(settings.nudge_minute),
        pace=library.label(pace) if pace is not None else settings.pace,
        quiet_start=hhmm(settings.quiet_start_minute),
        quiet_end=hhmm(settings.quiet_end_minute),
        day=weekday_name(library, settings.checkin_weekday),
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


P = TypeVar("P", bound=TypedPress)
PressHandler = Callable[[Update, CloserContext], Coroutine[Any, Any, None]]


def typed_press(
    kind: type[P], *, stale: TextKey = "button_stale", invalid: TextKey | None = None
) -> Callable[[Callable[[Update, CloserContext, P], Coroutine[Any, Any, None]]], PressHandler]:
    """A button handler that is handed its press typed (a ``kind``, ``bot.callbacks``).

    Callback data that fails the gate (``decode``) or is another kind of press is answered
    with ``stale``; data shaped like Closer's whose arguments are not a button's (an unknown
    opcode, a value out of range) with ``invalid`` (``stale`` unless given). The handler is not
    called for either.
    """

    def wrap(
        handler: Callable[[Update, CloserContext, P], Coroutine[Any, Any, None]],
    ) -> PressHandler:
        @functools.wraps(handler)
        async def on_press(update: Update, context: CloserContext) -> None:
            query = update.callback_query
            assert query is not None
            decoded = decode(query.data)
            press = parse_press(decoded) if decoded is not None else None
            if isinstance(press, kind):
                await handler(update, context, press)
                return
            foreign = decoded is None or press is not None  # not Closer's, or another kind's
            key = stale if foreign or invalid is None else invalid
            await answer(query, plain(context.library, key))

        return on_press

    return wrap


async def unknown_command(update: Update, context: CloserContext) -> None:
    """A command Closer does not have."""
    if not is_private(update):
        return
    await info.seen(context.services.tx, who(update))  # only ends a typed question left open
    await reply(update, context.library.render_text("unknown_command"))

"""The nudge renderer: one content item (or check-in) in, message text and keyboard out.

The scheduler's dispatcher sends what this renders; the button handlers re-render the same
message after a press, so the text and keyboards of a nudge live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import NowMenu, NudgePress, Op, Response, SafetyPress
from bot.usecases.nudges import NOT_YET_KEY
from content import Item, Library, TextKey, default_library
from scheduler.policy import ScheduleSettings
from scheduler.promises import Promise, SnoozeChoice, snooze_options, snooze_record


class Menu(StrEnum):
    MAIN = "main"
    TRIED = "tried"
    LATER = "later"


SNOOZE_OPS = (Op.LATER_HOUR, Op.LATER_EVENING, Op.LATER_TOMORROW)
SNOOZE_CHOICE_OPS: Mapping[SnoozeChoice, Op] = {
    "hour": Op.LATER_HOUR,
    "evening": Op.LATER_EVENING,
    "tomorrow": Op.LATER_TOMORROW,
}
# The snooze choices without their times (the "Later" menu shows each with its time when her
# settings are at hand: ``snooze_buttons``).
SNOOZE_LABELS: Mapping[Op, TextKey] = {
    Op.LATER_HOUR: "label_snooze_hour",
    Op.LATER_EVENING: "label_snooze_evening",
    Op.LATER_TOMORROW: "label_snooze_tomorrow",
}


def _in(library: Library | None) -> Library:
    """The library given, else the English content."""
    return library if library is not None else default_library()


# What the edited message says once a press is logged: a stored response -> its text's key.
RESPONSE_TEXTS: dict[Response, TextKey] = {
    Response.WENT_WELL: "response_went_well",
    Response.MIXED: "response_mixed",
    Response.HARD: "response_hard",
    Response.NOT_YET: "response_not_yet",
    Response.LATER_HOUR: "response_snoozed",
    Response.LATER_EVENING: "response_snoozed",
    Response.LATER_TOMORROW: "response_snoozed",
    Response.GOT_IT: "response_got_it",
    Response.EXPIRED: "response_expired",
}


def clock_label(moment: datetime, zone: str) -> str:
    """A wall-clock time as she reads it: '8:30', '19:00'."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.hour}:{local.minute:02d}"


def local_time_label(moment: datetime, zone: str, library: Library | None = None) -> str:
    """A moment as the user reads it, in her language: 'Tue 3 Dec, 18:30', 'mar 3 dic, 18:30'."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{_short_day(local, _in(library).language)}, {local:%H:%M}"


def _short_day(local: datetime, language: str) -> str:
    """'Tue 3 Dec', 'mar 3 dic', «вт 3 дек.»."""
    if language == "en":
        return f"{local:%a} {local.day} {local:%b}"
    return format_date(local, "EEE d MMM", locale=language)


def _weekday(local: datetime, language: str) -> str:
    return f"{local:%A}" if language == "en" else format_date(local, "EEEE", locale=language)


def _day_month(local: datetime, language: str) -> str:
    if language == "en":
        return f"{local.day} {local:%B}"
    pattern = "d 'de' MMMM" if language == "es" else "d MMMM"
    return format_date(local, pattern, locale=language)


def when_phrase(library: Library, moment: datetime, zone: str, now: datetime) -> str:
    """A day and time in her zone, as the bot says it at ``now``: 'today at 19:00',
    'tomorrow, Tuesday, at 8:30', 'on Wednesday, 9 December, at 8:30' (in her language:
    day and month names from CLDR through Babel)."""
    local = moment.astimezone(ZoneInfo(zone))
    today = now.astimezone(ZoneInfo(zone)).date()
    time = clock_label(moment, zone)
    weekday = _weekday(local, library.language)
    if local.date() == today:
        return library.render_text("when_today", time=time)
    if local.date() == today + timedelta(days=1):
        return library.render_text("when_tomorrow", weekday=weekday, time=time)
    return library.render_text(
        "when_on", weekday=weekday, date=_day_month(local, library.language), time=time
    )


def snooze_label(promise: Promise, zone: str, now: datetime, library: Library | None = None) -> str:
    """A snooze button's label: what the choice says, with the time it will really come back."""
    words = _in(library)
    time = clock_label(promise.due, zone)
    if promise.wording == "hour":
        return words.label("label_snooze_hour")
    if promise.wording == "evening":
        return words.label("label_snooze_evening_at", time=time)
    local = promise.due.astimezone(ZoneInfo(zone))
    today = now.astimezone(ZoneInfo(zone)).date()
    if local.date() == today:
        return words.label("label_snooze_today_at", time=time)
    if local.date() == today + timedelta(days=1):
        return words.label("label_snooze_tomorrow_at", time=time)
    return words.label("label_snooze_on", date=_short_day(local, words.language), time=time)


def snooze_buttons(
    promises: Sequence[Promise], zone: str, now: datetime, library: Library | None = None
) -> tuple[tuple[Op, str], ...]:
    """The snooze buttons for these snooze options (``promises.snooze_options``, the rule the
    press records by): one per time it can really come back, labelled with it."""
    return tuple(
        (SNOOZE_CHOICE_OPS[promise.choice], snooze_label(promise, zone, now, library))
        for promise in promises
    )


def snooze_buttons_for(
    schedule: ScheduleSettings, now: datetime, library: Library | None = None
) -> tuple[tuple[Op, str], ...]:
    """The snooze buttons offered at ``now`` on her schedule."""
    return snooze_buttons(snooze_options(now, schedule), schedule.timezone, now, library)


def _stamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def response_line(library: Library, response: str, payload: Any = None) -> str:
    """The line under an answered nudge saying what was logged (and, for a snooze or "Not
    yet", when it comes back, from what the press promised: ``payload``), as Telegram HTML."""
    record = snooze_record(payload)
    promise = Promise.from_record(record) if record is not None else None
    if promise is not None and record is not None:
        zone = str(record.get("zone") or "UTC")
        pressed = _stamp(record.get("pressed_at")) or promise.due
        when = when_phrase(library, promise.due, zone, pressed)
        time = clock_label(promise.due, zone)
        if promise.wording == "hour":
            return library.render_text("response_later_hour", time=time)
        if promise.wording == "evening":
            return library.render_text("response_later_evening", time=time)
        if promise.wording == "tomorrow":
            return library.render_text("response_later_tomorrow", when=when)
        if promise.wording == "resume":
            return library.render_text("response_later_resume", when=when)
        return library.render_text("response_later_at", when=when)
    said = payload.get(NOT_YET_KEY) if isinstance(payload, Mapping) else None
    known = Response.parse(response)
    if known is Response.NOT_YET and isinstance(said, Mapping):
        at, asked = _stamp(said.get("at")), _stamp(said.get("pressed_at"))
        if at is not None and asked is not None:
            when = when_phrase(library, at, str(said.get("zone") or "UTC"), asked)
            key: TextKey = (
                "response_not_yet_at" if said.get("comeback") else "response_not_yet_other"
            )
            return library.render_text(key, when=when)
    key_ = RESPONSE_TEXTS.get(known) if known is not None else None
    if key_ is None:
        return library.render_text("response_other", response=response)
    return library.render_text(key_)


def _button(label: str, outbox_id: int, op: Op) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=NudgePress(outbox_id, op).encode())


def talking_now_button(library: Library | None = None) -> InlineKeyboardButton:
    """The way into /now ("Talking now"), under every open nudge and /help."""
    return InlineKeyboardButton(
        _in(library).label("label_talking_now"), callback_data=NowMenu().encode()
    )


def safety_button(library: Library | None = None) -> InlineKeyboardButton:
    """The way to the safety card: under /help, and under a conversation logged as hard."""
    return InlineKeyboardButton(
        _in(library).label("label_safety"), callback_data=SafetyPress().encode()
    )


def answered_keyboard(response: str, library: Library | None = None) -> InlineKeyboardMarkup | None:
    """The buttons under an answered nudge: after "Hard", Safety (her answer's first line asks
    whether she felt safe); otherwise none."""
    if Response.parse(response) is Response.HARD:
        return InlineKeyboardMarkup([[safety_button(library)]])
    return None


def nudge_keyboard(
    item: Item,
    outbox_id: int,
    menu: Menu = Menu.MAIN,
    later: Sequence[tuple[Op, str]] | None = None,
    library: Library | None = None,
) -> InlineKeyboardMarkup:
    """The buttons under a nudge, for its current menu (``later``: the snooze buttons to offer,
    each with the label saying when it really comes back; ``snooze_label``)."""
    words = _in(library)
    if item.kind == "insight":
        return InlineKeyboardMarkup(
            [
                [_button(words.label("label_got_it"), outbox_id, Op.GOT_IT)],
                [talking_now_button(words)],
            ]
        )
    back = [_button(words.label("label_back"), outbox_id, Op.BACK)]
    if menu is Menu.TRIED:
        return InlineKeyboardMarkup(
            [
                [
                    _button(words.label("label_went_well"), outbox_id, Op.WENT_WELL),
                    _button(words.label("label_mixed"), outbox_id, Op.MIXED),
                    _button(words.label("label_hard"), outbox_id, Op.HARD),
                ],
                back,
            ]
        )
    if menu is Menu.LATER:
        if later is None:
            later = [(op, words.label(SNOOZE_LABELS[op])) for op in SNOOZE_OPS]
        return InlineKeyboardMarkup([[_button(label, outbox_id, op) for op, label in later], back])
    return InlineKeyboardMarkup(
        [
            [
                _button(words.label("label_tried_it"), outbox_id, Op.TRIED),
                _button(words.label("label_not_yet"), outbox_id, Op.NOT_YET),
                _button(words.label("label_later"), outbox_id, Op.LATER),
            ],
            [talking_now_button(words)],
        ]
    )


def nudge_text(item: Item, answered: str | None = None, library: Library | None = None) -> str:
    """The message text of a nudge; once answered, with ``answered`` (``response_line``) under
    it in italics."""
    text = _in(library).render_item(item)
    if answered is None:
        return text
    return f"{text}\n\n<i>{answered}</i>"


def render_nudge(
    item: Item,
    outbox_id: int,
    answered: str | None = None,
    menu: Menu = Menu.MAIN,
    later: Sequence[tuple[Op, str]] | None = None,
    library: Library | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Text and keyboard for a nudge, in ``library``'s language (default English): with
    buttons while open; without them once answered (``answered``: the ``response_line``
    saying what was logged)."""
    if answered is not None:
        return nudge_text(item, answered, library), None
    return nudge_text(item, library=library), nudge_keyboard(item, outbox_id, menu, later, library)

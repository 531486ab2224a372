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

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import NowMenu, NudgePress, Op, Response, SafetyPress
from bot.usecases.nudges import NOT_YET_KEY
from content import Item, Library, TextKey, render_item
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
SNOOZE_LABELS = {
    Op.LATER_HOUR: "In an hour",
    Op.LATER_EVENING: "This evening",
    Op.LATER_TOMORROW: "Tomorrow",
}

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


def local_time_label(moment: datetime, zone: str) -> str:
    """A moment as the user reads it: 'Tue 3 Dec, 18:30'."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def when_phrase(library: Library, moment: datetime, zone: str, now: datetime) -> str:
    """A day and time in her zone, as the bot says it at ``now``: 'today at 19:00',
    'tomorrow, Tuesday, at 8:30', 'on Wednesday, 9 December, at 8:30'."""
    local = moment.astimezone(ZoneInfo(zone))
    today = now.astimezone(ZoneInfo(zone)).date()
    time = clock_label(moment, zone)
    if local.date() == today:
        return library.render_text("when_today", time=time)
    if local.date() == today + timedelta(days=1):
        return library.render_text("when_tomorrow", weekday=f"{local:%A}", time=time)
    return library.render_text(
        "when_on", weekday=f"{local:%A}", date=f"{local.day} {local:%B}", time=time
    )


def snooze_label(promise: Promise, zone: str, now: datetime) -> str:
    """A snooze button's label: what the choice says, with the time it will really come back."""
    time = clock_label(promise.due, zone)
    if promise.wording == "hour":
        return "In an hour"
    if promise.wording == "evening":
        return f"This evening {time}"
    local = promise.due.astimezone(ZoneInfo(zone))
    today = now.astimezone(ZoneInfo(zone)).date()
    if local.date() == today:
        return f"Today {time}"
    if local.date() == today + timedelta(days=1):
        return f"Tomorrow {time}"
    return f"{local:%a} {local.day} {local:%b} {time}"


def snooze_buttons(
    promises: Sequence[Promise], zone: str, now: datetime
) -> tuple[tuple[Op, str], ...]:
    """The snooze buttons for these snooze options (``promises.snooze_options``, the rule the
    press records by): one per time it can really come back, labelled with it."""
    return tuple(
        (SNOOZE_CHOICE_OPS[promise.choice], snooze_label(promise, zone, now))
        for promise in promises
    )


def snooze_buttons_for(schedule: ScheduleSettings, now: datetime) -> tuple[tuple[Op, str], ...]:
    """The snooze buttons offered at ``now`` on her schedule."""
    return snooze_buttons(snooze_options(now, schedule), schedule.timezone, now)


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


def talking_now_button() -> InlineKeyboardButton:
    """The way into /now ("Talking now"), under every open nudge and /help."""
    return InlineKeyboardButton("🗣 Talking now", callback_data=NowMenu().encode())


def safety_button() -> InlineKeyboardButton:
    """The way to the safety card: under /help, and under a conversation logged as hard."""
    return InlineKeyboardButton("🛟 Safety", callback_data=SafetyPress().encode())


def answered_keyboard(response: str) -> InlineKeyboardMarkup | None:
    """The buttons under an answered nudge: after "Hard", Safety (her answer's first line asks
    whether she felt safe); otherwise none."""
    if Response.parse(response) is Response.HARD:
        return InlineKeyboardMarkup([[safety_button()]])
    return None


def nudge_keyboard(
    item: Item,
    outbox_id: int,
    menu: Menu = Menu.MAIN,
    later: Sequence[tuple[Op, str]] | None = None,
) -> InlineKeyboardMarkup:
    """The buttons under a nudge, for its current menu (``later``: the snooze buttons to offer,
    each with the label saying when it really comes back; ``snooze_label``)."""
    if item.kind == "insight":
        return InlineKeyboardMarkup(
            [[_button("👍 Got it", outbox_id, Op.GOT_IT)], [talking_now_button()]]
        )
    if menu is Menu.TRIED:
        return InlineKeyboardMarkup(
            [
                [
                    _button("😊 Went well", outbox_id, Op.WENT_WELL),
                    _button("😐 Mixed", outbox_id, Op.MIXED),
                    _button("😣 Hard", outbox_id, Op.HARD),
                ],
                [_button("‹ Back", outbox_id, Op.BACK)],
            ]
        )
    if menu is Menu.LATER:
        if later is None:
            later = [(op, SNOOZE_LABELS[op]) for op in SNOOZE_OPS]
        return InlineKeyboardMarkup(
            [
                [_button(label, outbox_id, op) for op, label in later],
                [_button("‹ Back", outbox_id, Op.BACK)],
            ]
        )
    return InlineKeyboardMarkup(
        [
            [
                _button("✅ Tried it", outbox_id, Op.TRIED),
                _button("Not yet", outbox_id, Op.NOT_YET),
                _button("⏰ Later", outbox_id, Op.LATER),
            ],
            [talking_now_button()],
        ]
    )


def nudge_text(item: Item, answered: str | None = None) -> str:
    """The message text of a nudge; once answered, with ``answered`` (``response_line``) under
    it in italics."""
    text = render_item(item)
    if answered is None:
        return text
    return f"{text}\n\n<i>{answered}</i>"


def render_nudge(
    item: Item,
    outbox_id: int,
    answered: str | None = None,
    menu: Menu = Menu.MAIN,
    later: Sequence[tuple[Op, str]] | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Text and keyboard for a nudge: with buttons while open; without them once answered
    (``answered``: the ``response_line`` saying what was logged)."""
    if answered is not None:
        return nudge_text(item, answered), None
    return nudge_text(item), nudge_keyboard(item, outbox_id, menu, later)

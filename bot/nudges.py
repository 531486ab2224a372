"""The nudge renderer: one content item (or check-in) in, message text and keyboard out.

The scheduler's dispatcher sends what this renders; the button handlers re-render the same
message after a press, so the text and keyboards of a nudge live in one place.
"""

from __future__ import annotations

from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action, encode
from content import Item, Library, TextKey, render_item

NUDGE_ACTION = Action.NUDGE


class Op(StrEnum):
    """What a nudge button does; the one-letter values travel in callback data."""

    TRIED = "t"
    WENT_WELL = "w"
    MIXED = "m"
    HARD = "h"
    NOT_YET = "y"
    LATER = "l"
    LATER_HOUR = "l1"
    LATER_EVENING = "le"
    LATER_TOMORROW = "lt"
    GOT_IT = "g"
    BACK = "b"


class Menu(StrEnum):
    MAIN = "main"
    TRIED = "tried"
    LATER = "later"


OUTCOME_OPS = {Op.WENT_WELL: "went_well", Op.MIXED: "mixed", Op.HARD: "hard"}
SNOOZE_OPS = (Op.LATER_HOUR, Op.LATER_EVENING, Op.LATER_TOMORROW)
# The snooze choices as the "Later" menu shows them (a request in words names them too).
SNOOZE_LABELS = {
    Op.LATER_HOUR: "In an hour",
    Op.LATER_EVENING: "This evening",
    Op.LATER_TOMORROW: "Tomorrow",
}

# What the edited message says once a press is logged: a stored response -> its text's key.
RESPONSE_TEXTS: dict[str, TextKey] = {
    "went_well": "response_went_well",
    "mixed": "response_mixed",
    "hard": "response_hard",
    "not_yet": "response_not_yet",
    "later_hour": "response_later_hour",
    "later_evening": "response_later_evening",
    "later_tomorrow": "response_later_tomorrow",
    "got_it": "response_got_it",
    "expired": "response_expired",
}


def response_line(library: Library, response: str) -> str:
    """The line under an answered nudge saying what was logged, as Telegram HTML."""
    key = RESPONSE_TEXTS.get(response)
    if key is None:
        return library.render_text("response_other", response=response)
    return library.render_text(key)


def _button(label: str, outbox_id: int, op: Op) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=encode(NUDGE_ACTION, outbox_id, op.value))


def talking_now_button() -> InlineKeyboardButton:
    """The way into /now ("Talking now"), under every open nudge and /help."""
    return InlineKeyboardButton("🗣 Talking now", callback_data=encode(Action.NOW))


def safety_button() -> InlineKeyboardButton:
    """The way to the safety card: under /help, and under a conversation logged as hard."""
    return InlineKeyboardButton("🛟 Safety", callback_data=encode(Action.SAFETY))


def answered_keyboard(response: str) -> InlineKeyboardMarkup | None:
    """The buttons under an answered nudge: after "Hard", Safety (her answer's first line asks
    whether she felt safe); otherwise none."""
    if response == OUTCOME_OPS[Op.HARD]:
        return InlineKeyboardMarkup([[safety_button()]])
    return None


def nudge_keyboard(item: Item, outbox_id: int, menu: Menu = Menu.MAIN) -> InlineKeyboardMarkup:
    """The buttons under a nudge, for its current menu."""
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
        return InlineKeyboardMarkup(
            [
                [_button(SNOOZE_LABELS[op], outbox_id, op) for op in SNOOZE_OPS],
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
    item: Item, outbox_id: int, answered: str | None = None, menu: Menu = Menu.MAIN
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Text and keyboard for a nudge: with buttons while open; without them once answered
    (``answered``: the ``response_line`` saying what was logged)."""
    if answered is not None:
        return nudge_text(item, answered), None
    return nudge_text(item), nudge_keyboard(item, outbox_id, menu)

"""Keyboards more than one feature shows, built from nothing stored: plain functions.

A feature's handler, the dispatcher and the composition of features (``bot.handlers.routing``)
import them from here, so no feature module imports another for a keyboard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import (
    AskPress,
    Field,
    ForgetNo,
    ForgetYes,
    LogOutcome,
    PauseOfferPress,
    PausePress,
    Response,
    SettingsView,
)
from bot.nudges import safety_button, talking_now_button
from content import Library

OUTCOME_LABELS: Final = {
    Response.WENT_WELL: "😊 Went well",
    Response.MIXED: "😐 Mixed",
    Response.HARD: "😣 Hard",
}
PAUSE_CHOICES: Final = (
    (1, "1 day"),
    (3, "3 days"),
    (7, "1 week"),
    (14, "2 weeks"),
    (0, "Until I resume"),
)
PAUSE_OFFER_DAYS: Final = 7


def help_keyboard() -> InlineKeyboardMarkup:
    """Under /help (and help asked in words): the moment itself, and safety."""
    return InlineKeyboardMarkup([[talking_now_button(), safety_button()]])


def outcome_keyboard() -> InlineKeyboardMarkup:
    """How a conversation went: under /log, "Log how it went" and the listening debrief."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=LogOutcome(outcome).encode())
                for outcome, label in OUTCOME_LABELS.items()
            ]
        ]
    )


def pause_keyboard() -> InlineKeyboardMarkup:
    """How long to pause: under /pause, and under a request in words to stop the messages."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=PausePress(choice).encode())]
            for choice, label in PAUSE_CHOICES
        ]
    )


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


def forget_keyboard(now: datetime) -> InlineKeyboardMarkup:
    """The confirm and cancel buttons of /forget (also under a request in words to erase)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "Yes, erase everything",
                    # When it was asked: an old confirmation must not erase a newer account.
                    callback_data=ForgetYes(now).encode(),
                )
            ],
            [InlineKeyboardButton("No, keep it", callback_data=ForgetNo().encode())],
        ]
    )


def settings_menu(library: Library, summary: str) -> tuple[str, InlineKeyboardMarkup]:
    text = library.render_text("settings_menu", summary=summary)
    rows = [
        [
            InlineKeyboardButton("Time zone", callback_data=AskPress(Field.TIMEZONE).encode()),
            InlineKeyboardButton("Nudge time", callback_data=AskPress(Field.TIME).encode()),
        ],
        [
            InlineKeyboardButton("Pace", callback_data=AskPress(Field.PACE).encode()),
            InlineKeyboardButton("Quiet hours", callback_data=AskPress(Field.QUIET_HOURS).encode()),
        ],
        [
            InlineKeyboardButton(
                "Check-in day", callback_data=AskPress(Field.CHECKIN_DAY).encode()
            ),
            InlineKeyboardButton("Done", callback_data=AskPress(SettingsView.DONE).encode()),
        ],
    ]
    return text, InlineKeyboardMarkup(rows)

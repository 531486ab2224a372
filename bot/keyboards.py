"""Keyboards more than one feature shows, built from nothing stored: plain functions.

A feature's handler, the dispatcher and the composition of features (``bot.handlers.routing``)
import them from here, so no feature module imports another for a keyboard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from babel import Locale as BabelLocale
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import (
    AskPress,
    Field,
    ForgetNo,
    ForgetYes,
    LanguageMenu,
    LogOutcome,
    PauseOfferPress,
    PausePress,
    Response,
    SetLanguage,
    SettingsView,
)
from bot.nudges import safety_button, talking_now_button
from content import Library, TextKey, default_library
from content.translations import LANGUAGES

OUTCOME_LABELS: Final[dict[Response, TextKey]] = {
    Response.WENT_WELL: "label_went_well",
    Response.MIXED: "label_mixed",
    Response.HARD: "label_hard",
}
PAUSE_CHOICES: Final[tuple[tuple[int, TextKey], ...]] = (
    (1, "label_pause_1_day"),
    (3, "label_pause_3_days"),
    (7, "label_pause_1_week"),
    (14, "label_pause_2_weeks"),
    (0, "label_pause_until_resume"),
)
PAUSE_OFFER_DAYS: Final = 7


def _in(library: Library | None) -> Library:
    return library if library is not None else default_library()


def help_keyboard(library: Library | None = None) -> InlineKeyboardMarkup:
    """Under /help (and help asked in words): the moment itself, and safety."""
    return InlineKeyboardMarkup([[talking_now_button(library), safety_button(library)]])


def outcome_keyboard(library: Library | None = None) -> InlineKeyboardMarkup:
    """How a conversation went: under /log, "Log how it went" and the listening debrief."""
    words = _in(library)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(words.label(label), callback_data=LogOutcome(outcome).encode())
                for outcome, label in OUTCOME_LABELS.items()
            ]
        ]
    )


def pause_keyboard(library: Library | None = None) -> InlineKeyboardMarkup:
    """How long to pause: under /pause, and under a request in words to stop the messages."""
    words = _in(library)
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(words.label(label), callback_data=PausePress(choice).encode())]
            for choice, label in PAUSE_CHOICES
        ]
    )


def pause_offer_keyboard(library: Library | None = None) -> InlineKeyboardMarkup:
    """Pause a week (the /pause button's own data) or carry on."""
    words = _in(library)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    words.label("label_pause_a_week"),
                    callback_data=PausePress(PAUSE_OFFER_DAYS).encode(),
                ),
                InlineKeyboardButton(
                    words.label("label_carry_on"), callback_data=PauseOfferPress().encode()
                ),
            ]
        ]
    )


def forget_keyboard(now: datetime, library: Library | None = None) -> InlineKeyboardMarkup:
    """The confirm and cancel buttons of /forget (also under a request in words to erase)."""
    words = _in(library)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    words.label("label_forget_yes"),
                    # When it was asked: an old confirmation must not erase a newer account.
                    callback_data=ForgetYes(now).encode(),
                )
            ],
            [
                InlineKeyboardButton(
                    words.label("label_forget_no"), callback_data=ForgetNo().encode()
                )
            ],
        ]
    )


def settings_menu(library: Library, summary: str) -> tuple[str, InlineKeyboardMarkup]:
    text = library.render_text("settings_menu", summary=summary)

    def button(key: TextKey, target: Field | SettingsView) -> InlineKeyboardButton:
        return InlineKeyboardButton(library.label(key), callback_data=AskPress(target).encode())

    rows = [
        [
            button("label_settings_timezone", Field.TIMEZONE),
            button("label_settings_time", Field.TIME),
        ],
        [
            button("label_settings_pace", Field.PACE),
            button("label_settings_quiet", Field.QUIET_HOURS),
        ],
        [
            button("label_settings_checkin", Field.CHECKIN_DAY),
            InlineKeyboardButton(
                library.label("label_settings_language"), callback_data=LanguageMenu().encode()
            ),
        ],
        [button("label_settings_done", SettingsView.DONE)],
    ]
    return text, InlineKeyboardMarkup(rows)


def language_keyboard() -> InlineKeyboardMarkup:
    """One button per language Closer speaks, each in its own words ("Español", "Русский")."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(language_name(code), callback_data=SetLanguage(code).encode())]
            for code in LANGUAGES
        ]
    )


def language_name(code: str) -> str:
    """A language's name in itself, as CLDR (Babel) has it: "English", "Español", "Русский"."""
    name = BabelLocale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]

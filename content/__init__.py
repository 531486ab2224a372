"""The bot's words as data (content/data/*.yaml) plus a loader that validates them.

``load_library()`` returns a ``Library`` or raises ``ContentError`` listing every problem;
``render_item(library.item("no-negation"))``, ``library.render_text("welcome")`` and
``library.render_safety("GB")`` give Telegram HTML (parse_mode=HTML) with all content escaped;
``library.helplines("GB")`` gives her country's crisis and domestic-abuse lines as plain data.
"""

from content.errors import ContentError
from content.library import Helplines, Library
from content.loader import default_library, load_library, render_text
from content.models import (
    MESSAGE_LIMIT,
    MOMENTS,
    NUDGE_AIM,
    SAFETY_KEYS,
    STEP_COUNT,
    TEXT_KEYS,
    CountryHelplines,
    CrisisDirectory,
    Expert,
    Helpline,
    Item,
    Kind,
    Moment,
    PollQuestion,
    SafetyKey,
    TextKey,
)
from content.readability import reading_grade
from content.render import render_item, visible_length, visible_text
from content.summary import summarize

__all__ = [
    "MESSAGE_LIMIT",
    "MOMENTS",
    "NUDGE_AIM",
    "SAFETY_KEYS",
    "STEP_COUNT",
    "TEXT_KEYS",
    "ContentError",
    "CountryHelplines",
    "CrisisDirectory",
    "Expert",
    "Helpline",
    "Helplines",
    "Item",
    "Kind",
    "Library",
    "Moment",
    "PollQuestion",
    "SafetyKey",
    "TextKey",
    "default_library",
    "load_library",
    "reading_grade",
    "render_item",
    "render_text",
    "summarize",
    "visible_length",
    "visible_text",
]

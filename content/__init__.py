"""The bot's words as data (content/data/*.yaml) plus a loader that validates them.

``load_library()`` returns a ``Library`` or raises ``ContentError`` listing every problem;
``render_item(library.item("no-negation"))`` and ``library.render_text("welcome")`` give
Telegram HTML (parse_mode=HTML) with all content escaped.
"""

from content.errors import ContentError
from content.library import Library
from content.loader import default_library, load_library, render_text
from content.models import (
    MESSAGE_LIMIT,
    NUDGE_AIM,
    STEP_COUNT,
    TEXT_KEYS,
    Expert,
    Item,
    Kind,
    PollQuestion,
    TextKey,
)
from content.render import render_item, visible_length, visible_text
from content.summary import summarize

__all__ = [
    "MESSAGE_LIMIT",
    "NUDGE_AIM",
    "STEP_COUNT",
    "TEXT_KEYS",
    "ContentError",
    "Expert",
    "Item",
    "Kind",
    "Library",
    "PollQuestion",
    "TextKey",
    "default_library",
    "load_library",
    "render_item",
    "render_text",
    "summarize",
    "visible_length",
    "visible_text",
]

"""How hard a card is to read: the Flesch-Kincaid grade of the text Telegram shows."""

from __future__ import annotations

import re

import textstat

from content.models import Item
from content.render import render_item, visible_text

_ENDS_A_SENTENCE = re.compile(r"[.!?:\"”)]$")


def text_grade(text: str) -> float:
    """Flesch-Kincaid grade of plain text; a paragraph with no full stop counts as a sentence."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    joined = " ".join(p if _ENDS_A_SENTENCE.search(p) else f"{p}." for p in paragraphs)
    return float(textstat.flesch_kincaid_grade(joined))


def reading_grade(item: Item) -> float:
    """The grade of everything a card shows: title (with its label), body, quote, "Try this"."""
    return text_grade(visible_text(render_item(item)))

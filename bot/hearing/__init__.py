"""Hearing what she types: danger first, then a request in words, then the card that fits."""

from __future__ import annotations

from content.locales import Locales


def warm_up(locales: Locales) -> None:
    """Compile the danger and request lexicons of every language now, at start-up, so that her
    first message is not the one that waits for them."""
    from bot.hearing import danger, requests

    danger.warm_up(locales)
    requests.warm_up(locales)

"""Hearing what she types: danger first, then a request in words, then the card that fits."""

from __future__ import annotations

import threading

from content.locales import Locales


def warm_up(locales: Locales) -> None:
    """Compile the danger and request lexicons of every language now (about a second)."""
    from bot.hearing import danger, requests

    danger.warm_up(locales)
    requests.warm_up(locales)


def start_warming(locales: Locales) -> threading.Thread:
    """Compile the lexicons in a thread at start-up, so that neither the start (leases,
    polling) nor her first message waits for them; returns at once. A message that comes
    before they are ready waits for the compile under way, never starts a second one."""
    thread = threading.Thread(
        target=warm_up, args=(locales,), name="closer-hearing-warm-up", daemon=True
    )
    thread.start()
    return thread

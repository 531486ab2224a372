"""Her language: which one Closer writes to her in, for each update and each message it sends.

- A new user gets hers from Telegram's ``language_code`` at /start (``es*`` Spanish, ``ru*``
  Russian, anything else English); someone who started before Closer spoke other languages
  keeps English until she chooses; ``/language`` (and the row in /settings) changes it. It is
  stored in ``users.language``.
- Each update is handled in the language of the person it comes from (:data:`CURRENT`, set
  before the handlers run): a dictionary of the languages this process has seen, filled by
  every transaction that loads her row (``Transactions`` notes it) and, on a miss, by one
  read. Someone not yet stored is answered in her Telegram's language.
"""

from __future__ import annotations

import contextvars
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from sqlalchemy import Connection, bindparam, select

from bot.storage.models import User
from content.translations import LANGUAGES

if TYPE_CHECKING:
    from telegram import Update

    from bot.storage.uow import Transactions

DEFAULT: Final = "en"
_KEEP: Final = 100_000  # people whose language is kept in memory at once
FRESH_FOR: Final = 300.0
"""Seconds a language known in this process is trusted before it is read again (another worker
may have changed it); every transaction that loads her row refreshes it."""

CURRENT: Final[contextvars.ContextVar[str]] = contextvars.ContextVar(
    "closer_language", default=DEFAULT
)
"""The language of the update being handled (``CloserApplication.process_update`` sets it)."""

_LANGUAGE_OF = select(User.language).where(User.telegram_id == bindparam("b_id"))
_MISSING: Final = "-"


def from_telegram(language_code: str | None) -> str:
    """Closer's language for a Telegram ``language_code``: es* Spanish, ru* Russian, else
    English."""
    code = (language_code or "").lower()
    for language in LANGUAGES:
        if code == language or code.startswith(f"{language}-"):
            return language
    return DEFAULT


def stored(language: str | None) -> str:
    """A stored ``users.language`` as a language Closer speaks (None, unknown: English)."""
    return language if language in LANGUAGES else DEFAULT


def _stored_language(conn: Connection, telegram_id: int) -> str:
    row = conn.execute(_LANGUAGE_OF, {"b_id": telegram_id}).first()
    return _MISSING if row is None else stored(row[0])


class Languages:
    """The languages of the people this process has heard from, by Telegram id."""

    def __init__(self) -> None:
        self._known: OrderedDict[int, str] = OrderedDict()
        self._noted: dict[int, float] = {}

    def note(self, telegram_id: int, language: str | None) -> None:
        """Her stored language, as a transaction just read or wrote it."""
        self._known[telegram_id] = stored(language)
        self._noted[telegram_id] = time.monotonic()
        self._known.move_to_end(telegram_id)
        while len(self._known) > _KEEP:
            gone, _ = self._known.popitem(last=False)
            self._noted.pop(gone, None)

    def known(self, telegram_id: int) -> str | None:
        return self._known.get(telegram_id)

    def _fresh(self, telegram_id: int) -> str | None:
        """Her language, if noted less than FRESH_FOR seconds ago."""
        noted = self._noted.get(telegram_id)
        if noted is None or time.monotonic() - noted >= FRESH_FOR:
            return None
        return self._known.get(telegram_id)

    async def of(self, update: Update, runner: Transactions) -> str:
        """The language to answer ``update`` in."""
        user = update.effective_user
        if user is None:
            return DEFAULT
        found = self._fresh(user.id)
        if found is not None:
            return found
        language = await runner.db.run_read(_stored_language, user.id)
        if language == _MISSING:  # not stored yet: her Telegram's, until /start stores it
            return from_telegram(user.language_code)
        self.note(user.id, language)
        return language

    async def of_chat(self, telegram_id: int, runner: Transactions) -> str:
        """The stored language of someone Closer writes to on its own (a nudge, a check-in)."""
        found = self._fresh(telegram_id)
        if found is not None:
            return found
        language = await runner.db.run_read(_stored_language, telegram_id)
        language = DEFAULT if language == _MISSING else language
        self.note(telegram_id, language)
        return language

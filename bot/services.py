"""What every handler can reach: settings, the database, the content library and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import resources

from bot.config import Settings
from bot.language import Languages
from bot.storage.db import Database
from bot.storage.uow import Transactions
from content import Library
from content.locales import Locales, default_locales
from content.translations import LANGUAGES, translate

_SOURCE = resources.files("content").joinpath("data")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    library: Library
    clock: Clock = field(default=system_clock)
    locales: Locales = field(default_factory=default_locales)

    @cached_property
    def languages(self) -> Languages:
        """The languages of the people this process has heard from (``bot.language``)."""
        return Languages()

    @cached_property
    def tx(self) -> Transactions:
        """The transaction runner: every use case runs through it."""
        return Transactions(self.db, self.clock, self.languages.note)

    def library_in(self, language: str) -> Library:
        """The content in ``language`` (English where that language has a gap)."""
        found = self._libraries.get(language)
        if found is None and language not in LANGUAGES:
            return self.library
        if found is None:
            found = self._libraries[language] = translate(self.library, _SOURCE, language)[0]
        return found

    @cached_property
    def _libraries(self) -> dict[str, Library]:
        return {"en": self.library}

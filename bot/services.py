"""What every handler can reach: settings, the database, the content library and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from bot.config import Settings
from bot.storage.db import Database
from bot.storage.uow import Transactions
from content import Library
from content.locales import Locales, default_locales

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
    def tx(self) -> Transactions:
        """The transaction runner: every use case runs through it."""
        return Transactions(self.db, self.clock)

"""Telegram's send limits as a small rate limiter: about 30 messages a second overall and one a
second per chat, on an injected clock.

Each ``acquire`` reserves the earliest moment both limits allow (GCRA, the "virtual scheduling"
form of a token bucket: a theoretical arrival time per bucket and a burst tolerance), then sleeps
until then. Reservations are taken in call order, so concurrent senders queue fairly and none of
them can overtake the limits.
"""

from __future__ import annotations

from typing import Final

from scheduler.clock import Clock

TELEGRAM_PER_SECOND: Final = 30.0
TELEGRAM_PER_CHAT_PER_SECOND: Final = 1.0
_PRUNE_AT: Final = 10_000  # chats remembered before old entries are dropped


class RateLimiter:
    """Paces sends: ``per_second`` overall (bursts of ``burst``), ``per_chat_per_second`` a chat."""

    def __init__(
        self,
        clock: Clock,
        *,
        per_second: float = TELEGRAM_PER_SECOND,
        per_chat_per_second: float = TELEGRAM_PER_CHAT_PER_SECOND,
        burst: int = 1,
    ) -> None:
        if per_second <= 0 or per_chat_per_second <= 0 or burst < 1:
            raise ValueError("rates must be > 0 and burst >= 1")
        self._clock = clock
        self._interval = 1.0 / per_second
        self._tolerance = (burst - 1) * self._interval
        self._chat_interval = 1.0 / per_chat_per_second
        self._next: float | None = None  # theoretical arrival time of the overall bucket
        self._chats: dict[int, float] = {}

    def reserve(self, chat_id: int) -> float:
        """Reserve a send to ``chat_id``; the seconds to wait before it may go."""
        now = self._clock.monotonic()
        overall = now if self._next is None else self._next
        chat = self._chats.get(chat_id, now)
        start = max(now, overall - self._tolerance, chat)
        self._next = max(overall, start) + self._interval
        self._chats[chat_id] = start + self._chat_interval
        if len(self._chats) > _PRUNE_AT:
            self._chats = {key: at for key, at in self._chats.items() if at > now}
        return start - now

    async def acquire(self, chat_id: int) -> None:
        """Wait until a send to ``chat_id`` is allowed."""
        delay = self.reserve(chat_id)
        if delay > 0:
            await self._clock.sleep(delay)

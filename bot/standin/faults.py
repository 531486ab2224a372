"""Faults a test can inject into the stand-in: flood control, server errors, timeouts, 403.

Use with :meth:`bot.standin.TelegramStandIn.inject_fault`, e.g.
``standin.inject_fault("sendMessage", faults.Timeout(delivered=True))``.
"""

from __future__ import annotations

from dataclasses import dataclass

_PHRASES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class RetryAfter:
    """429 "Too Many Requests: retry after N" with parameters.retry_after = N."""

    seconds: int = 1


@dataclass(frozen=True)
class ServerError:
    """A 5xx answer such as 502 "Bad Gateway" (python-telegram-bot raises NetworkError)."""

    code: int = 502

    @property
    def description(self) -> str:
        return _PHRASES.get(self.code, "Internal Server Error")


@dataclass(frozen=True)
class Timeout:
    """The call times out on the client side (python-telegram-bot raises TimedOut).

    ``delivered=True`` makes it an ambiguous send: the call takes effect (the message is stored
    and the user sees it) but the client never hears back. Over HTTP the answer is held for
    ``hold_seconds`` (longer than the client's read timeout) unless ``drop`` closes the
    connection instead.
    """

    delivered: bool = False
    hold_seconds: float = 30.0
    drop: bool = False


@dataclass(frozen=True)
class Forbidden:
    """403, by default "Forbidden: bot was blocked by the user"."""

    description: str = "Forbidden: bot was blocked by the user"


Fault = RetryAfter | ServerError | Timeout | Forbidden

"""What the dispatcher hands a sender, and what a sender answers. No Telegram here.

A ``Sender`` turns one ``Delivery`` into a message (``bot.delivery.TelegramSender`` does it with
python-telegram-bot) and answers with one of::

    SendResult
    ├── Sent(message_id)       delivered; Telegram's message id
    ├── FloodWait(seconds)     429: nothing more goes out for ``seconds`` (all chats)
    ├── Transient(reason)      5xx or network error: certainly not delivered, retry with backoff
    ├── Ambiguous(reason)      timeout: may have been delivered; retried, and counted
    ├── Blocked(reason)        403: the user blocked the bot; stop sending to them
    └── Failed(reason)         permanent (bad request, unknown item): give up on this row

A sender should not raise; if it does, the dispatcher logs it and treats it as ``Transient``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row to send now. ``item_id`` is set for every ``item`` delivery."""

    outbox_id: int
    user_id: int
    chat_id: int
    kind: str  # "item" | "poll" | "text"
    item_id: str | None
    payload: Any
    due_at: datetime
    attempts: int  # this one included
    planned: bool
    language: str | None = None  # hers, read with the batch; None: to be looked up


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int


@dataclass(frozen=True, slots=True)
class FloodWait:
    seconds: float


@dataclass(frozen=True, slots=True)
class Transient:
    reason: str


@dataclass(frozen=True, slots=True)
class Ambiguous:
    reason: str


@dataclass(frozen=True, slots=True)
class Blocked:
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str


SendResult = Sent | FloodWait | Transient | Ambiguous | Blocked | Failed


class Sender(Protocol):
    """Delivers one outbox row; see the module docstring for the answers."""

    async def send(self, delivery: Delivery) -> SendResult: ...

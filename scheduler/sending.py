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

A send may put more in her chat than the message its result names: the weekly check-in is an
intro and several polls. The dispatcher hands each send a ``Receipt`` and the sender notes each
of those parts on it as it goes out; the dispatcher records what the receipts hold with the
batch, whatever the outcome (a send that failed part-way, raised or was cut at stop included),
so a retry sends only what is missing. The sender itself writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class IntroSent:
    """A check-in's intro that reached her chat, and the ISO week (on her calendar) whose
    questions follow it: a retry asks the same ones."""

    message_id: int
    week: int


@dataclass(frozen=True, slots=True)
class PollSent:
    """A poll that reached her chat: which question, Telegram's poll id and message id."""

    question_id: str
    poll_id: str
    message_id: int


@dataclass(slots=True)
class Receipt:
    """What one send put in her chat besides its result's message, noted as each part went out
    (see the module docstring). Empty for every kind but the check-in."""

    intro: IntroSent | None = None
    polls: list[PollSent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.intro is not None or bool(self.polls)


class Sender(Protocol):
    """Delivers one outbox row; see the module docstring for the answers and the receipt."""

    async def send(self, delivery: Delivery, receipt: Receipt) -> SendResult: ...

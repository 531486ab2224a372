"""The Telegram side of delivery: the sender the dispatcher is given, and its wiring.

- ``TelegramSender`` sends one outbox row with python-telegram-bot (a nudge rendered by
  ``bot.nudges.render_nudge``, the weekly check-in by ``bot.outreach.send_checkin``, its
  intro and polls noted on the send's ``Receipt`` for the dispatcher's record, a content
  text such as the pause offer, or a minute of her listening timer: an edit of its message,
  the last one with the debrief's buttons); it writes nothing. It maps Telegram's errors to
  ``scheduler.sending`` results: RetryAfter -> FloodWait, Forbidden -> Blocked, 5xx and errors
  before the request was written (no connection, connect or pool timeout) -> Transient,
  timeouts and dropped connections after it was written -> Ambiguous (``_never_sent``),
  anything else -> Failed.
- ``build_dispatcher`` / ``start_dispatching``: the dispatcher with this sender, in a
  ``DispatchLoop`` that sleeps until a row falls due, a lease needs renewing, or a handler
  wakes it (``bot.context.wake_dispatcher``): an idle bot does next to nothing.
- ``on_pause_offer``: the "Carry on" button under the pause offer ("Pause a week" reuses /pause's
  own callback data, so ``bot.handlers.pausing`` handles it).
"""

from __future__ import annotations

import datetime as dtm
from collections.abc import Sequence
from typing import Any, Final

import aiohttp
import httpx
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.context import DISPATCH_WAKE_KEY, CloserApplication
from bot.keyboards import outcome_keyboard, pause_offer_keyboard
from bot.logs import get_logger
from bot.metrics import count_nudge, watch_dispatcher
from bot.nudges import render_nudge
from bot.outreach import send_checkin
from bot.services import Services
from bot.storage.checkins import SentPoll
from bot.storage.dispatch_store import SqlDispatchStore
from bot.storage.outage import storage_outage
from bot.storage.repositories import UserSnapshot
from bot.usecases import checkins
from bot.wire import TEMPLATE_ID, NudgeTemplate, nudge_template, post_nudge
from content import Library
from scheduler.clock import Clock, SystemClock
from scheduler.dispatcher import Dispatcher, DispatchLoop
from scheduler.planner import PAUSE_OFFER_TEXT
from scheduler.ratelimit import RateLimiter
from scheduler.sending import (
    Ambiguous,
    Blocked,
    Delivery,
    Failed,
    FloodWait,
    Receipt,
    SendResult,
    Sent,
    Transient,
)
from scheduler.timers import TIMER_KIND, timer_message

log = get_logger(__name__)


_NOT_SENT_HTTPX: Final = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)
_NOT_SENT_AIOHTTP: Final = (
    aiohttp.ClientConnectorError,  # also DNS, SSL and proxy connection errors
    aiohttp.ConnectionTimeoutError,  # connect, or waiting for a pooled connection
    aiohttp.InvalidURL,
)


def _never_sent(exc: TelegramError) -> bool:
    """Whether a timeout or network error certainly happened before Telegram had the whole
    request: no connection (refused, DNS, TLS, connect or pool timeout) or, with httpx, the
    body could not be written. Anything later (no answer in time, the connection dropped or
    reset while waiting for the answer, a broken answer) may follow a delivered message: that
    is ambiguous. A ``TimedOut`` or ``NetworkError`` without a transport cause (raised by
    python-telegram-bot itself, e.g. for a 5xx answer) keeps its usual meaning."""
    cause = exc.__cause__
    if cause is None:
        return isinstance(exc, NetworkError) and not isinstance(exc, TimedOut)
    return isinstance(cause, _NOT_SENT_HTTPX + _NOT_SENT_AIOHTTP)


def _reason(exc: TelegramError) -> str:
    return f"{type(exc).__name__}: {exc.message}"[:200]


def _seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


class TelegramSender:
    """Sends outbox rows with python-telegram-bot (see the module docstring)."""

    def __init__(self, bot: Bot, services: Services) -> None:
        self.bot = bot
        self.services = services
        self._templates: dict[tuple[str, str], NudgeTemplate | None] = {}

    def _template(self, item_id: str, library: Library) -> NudgeTemplate | None:
        key = (item_id, library.language)
        if key not in self._templates:
            self._templates[key] = nudge_template(library.item(item_id), self.bot, library)
        return self._templates[key]

    async def _send_nudge(self, delivery: Delivery, item_id: str) -> int:
        """Send an item nudge; Telegram's message id.

        The hot path of dispatching: each item's request is encoded once (``bot.wire``, the one
        module on python-telegram-bot's internals, held byte for byte to ``send_message``),
        else ``send_message``.
        """
        library = await self._words(delivery)
        template = self._template(item_id, library)
        if template is None or len(str(delivery.outbox_id)) > len(str(TEMPLATE_ID)):
            item = library.item(item_id)
            text, markup = render_nudge(item, delivery.outbox_id, library=library)
            message = await self.bot.send_message(delivery.chat_id, text, reply_markup=markup)
            return message.message_id
        return await post_nudge(self.bot, template, delivery.chat_id, delivery.outbox_id)

    async def send(self, delivery: Delivery, receipt: Receipt) -> SendResult:
        """Send one row, noting on ``receipt`` what else goes out (a check-in's intro and
        polls); never raises for Telegram's errors. Counted in ``closer_nudges``."""
        result = await self._send_mapped(delivery, receipt)
        count_nudge(result)
        return result

    async def _send_mapped(self, delivery: Delivery, receipt: Receipt) -> SendResult:
        try:
            return await self._send(delivery, receipt)
        except RetryAfter as exc:
            return FloodWait(_seconds(exc.retry_after))
        except Forbidden as exc:
            return Blocked(_reason(exc))
        except TimedOut as exc:  # before NetworkError: TimedOut is one
            if _never_sent(exc):
                return Transient(_reason(exc))
            return Ambiguous(_reason(exc))
        except ChatMigrated as exc:
            return Failed(_reason(exc))
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return Blocked(_reason(exc))
            return Failed(_reason(exc))
        except NetworkError as exc:  # 5xx, connection problems
            if exc.__cause__ is not None and not _never_sent(exc):
                return Ambiguous(_reason(exc))  # the connection dropped after the request
            return Transient(_reason(exc))
        except TelegramError as exc:
            return Failed(_reason(exc))

    async def _words(self, delivery: Delivery) -> Library:
        """The content in the recipient's language: read with the batch (so nothing is read
        between a row's hand-over and its send), else looked up."""
        services = self.services
        if delivery.language is not None:
            return services.library_in(delivery.language)
        return services.library_in(await services.languages.of_chat(delivery.chat_id, services.tx))

    async def _send(self, delivery: Delivery, receipt: Receipt) -> SendResult:
        library = self.services.library
        if delivery.kind == "item":
            if delivery.item_id is None or not library.has_item(delivery.item_id):
                return Failed("unknown content item")
            return Sent(await self._send_nudge(delivery, delivery.item_id))
        if delivery.kind == "poll":
            user, stored = await checkins.already_sent(
                self.services.tx, delivery.user_id, delivery.outbox_id
            )
            if user is None:
                return Failed("user erased")
            payload = delivery.payload if isinstance(delivery.payload, dict) else {}
            if stored or "intro_message_id" in payload:  # a retry: it failed part-way
                return Sent(
                    await self._finish_checkin(user, delivery.outbox_id, receipt, stored, payload)
                )
            ids = await send_checkin(self.bot, self.services, user, receipt)
            return Sent(ids[0] if ids else 0)
        if delivery.kind == "text":
            payload = delivery.payload if isinstance(delivery.payload, dict) else {}
            key = payload.get("text")
            if not isinstance(key, str) or key not in library.texts:
                return Failed("unknown text")
            library = await self._words(delivery)
            markup = pause_offer_keyboard(library) if key == PAUSE_OFFER_TEXT else None
            message = await self.bot.send_message(
                delivery.chat_id,
                library.render_text(key),  # type: ignore[arg-type]
                reply_markup=markup,
            )
            return Sent(message.message_id)
        if delivery.kind == TIMER_KIND:
            return await self._edit_timer(delivery)
        return Failed(f"unknown kind {delivery.kind!r}")

    async def _edit_timer(self, delivery: Delivery) -> SendResult:
        """A minute of her listening timer: its message shows the minutes left; at the end,
        the debrief, whose outcome buttons log the conversation like /log."""
        shown = timer_message(delivery.payload)
        if shown is None:
            return Failed("not a timer")
        message_id, left = shown
        library = await self._words(delivery)
        if left > 0:
            await self.bot.edit_message_text(
                library.render_text("listening_timer_left", minutes=left),
                chat_id=delivery.chat_id,
                message_id=message_id,
            )
        else:
            await self.bot.edit_message_text(
                library.render_text("listening_timer_done"),
                chat_id=delivery.chat_id,
                message_id=message_id,
                reply_markup=outcome_keyboard(library),
            )
            log.info("listening_timer_done", user_id=delivery.user_id)
        return Sent(message_id)

    async def _finish_checkin(
        self,
        user: UserSnapshot,
        outbox_id: int,
        receipt: Receipt,
        stored: Sequence[SentPoll],
        payload: dict[str, Any],
    ) -> int:
        """Send what a check-in that failed part-way still lacks; the first poll's message id.

        The intro went out on the first attempt (it is noted in the row's ``payload``, and any
        stored poll went out after it), so only the week's questions not stored yet are sent:
        the week of the first attempt, so a retry across midnight on Sunday asks the same
        questions; each is noted on ``receipt``, as ``send_checkin`` does.
        """
        done = {row.question_id for row in stored}
        week = payload.get("week")
        if not isinstance(week, int):
            week = (
                await checkins.week_of(self.services.tx, user.id, stored[0].sent_at)
                if stored
                else None
            )
        ids = await send_checkin(
            self.bot, self.services, user, receipt, week=week, skip=done, intro=False
        )
        log.info("checkin_finished", user_id=user.id, already=len(done), outbox_id=outbox_id)
        if stored:
            return int(stored[0].telegram_message_id or 0)
        return ids[0] if ids else int(payload.get("intro_message_id") or 0)


def dispatcher_clock(services: Services) -> Clock:
    """The schedule clock: ``services.clock`` if it is a full Clock, else real time."""
    clock = services.clock
    return clock if isinstance(clock, Clock) else SystemClock()


def build_dispatcher(
    application: CloserApplication,
    services: Services,
    *,
    real_clock: Clock | None = None,
    rate_limit: bool | None = None,
    batch_size: int | None = None,
    owner: str | None = None,
) -> Dispatcher:
    """The dispatcher for this application: Telegram sender, settings' clock and limits."""
    settings = services.settings
    real = real_clock or SystemClock()
    limited = settings.rate_limit if rate_limit is None else rate_limit
    return Dispatcher(
        SqlDispatchStore(services.db),
        TelegramSender(application.bot, services),
        services.library.all_items(),
        clock=dispatcher_clock(services),
        real_clock=real,
        limiter=RateLimiter(real) if limited else None,
        batch_size=batch_size or settings.dispatch_batch_size,
        dispatcher_lease=dtm.timedelta(seconds=settings.lease_seconds),
        # Renewed with the dispatcher lease while the rows are in flight; runs out for a dead
        # or suspended dispatcher, whose rows are then adopted (at once if proved dead).
        row_lease=dtm.timedelta(seconds=2 * settings.lease_seconds),
        owner=owner,
    )


def _unavailable(error: Exception) -> str | None:
    outage = storage_outage(error)
    return str(outage) if outage is not None else None


def start_dispatching(application: CloserApplication, dispatcher: Dispatcher) -> DispatchLoop:
    """Run ``dispatcher`` in a ``DispatchLoop``; ``await loop.stop()`` to end."""
    loop = DispatchLoop(dispatcher, unavailable=_unavailable)
    # A handler that stores a row due soon (a timer's first minute) wakes the loop at once,
    # rather than leaving it asleep until its next planned wake.
    application.bot_data[DISPATCH_WAKE_KEY] = loop.wake
    watch_dispatcher(dispatcher)  # closer_dispatcher in /metrics
    loop.start()
    log.info("dispatching_started", owner=dispatcher.owner)
    return loop

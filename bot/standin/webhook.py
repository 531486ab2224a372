"""Webhook delivery: the stand-in POSTs each pending update to the URL set with setWebhook.

As the Bot API server does it (tdlib/telegram-bot-api, ``WebhookActor``):

- the body is the update as JSON; the ``X-Telegram-Bot-Api-Secret-Token`` header carries the
  secret_token when one was set;
- at most ``max_connections`` POSTs are in flight at once;
- updates of one chat go out one at a time and in order: the next waits until the one before
  it was answered with a 2xx (updates without a chat, such as "poll", go out in parallel);
- an answer that is not 2xx, a timeout, a refused or dropped connection leaves the update
  pending and it is sent again after a backoff that doubles on each failure (a ``Retry-After``
  header in the answer sets the wait instead); getWebhookInfo shows ``last_error_date`` and
  ``last_error_message`` ("Wrong response from the webhook: 500 Internal Server Error",
  "Connection refused", "Read timeout expired", "Webhook connection closed");
- an update leaves the queue (``pending_update_count``) only after a 2xx;
- a 2xx answer whose JSON body names a Bot API method (``{"method": "sendMessage", ...}``) runs
  that method, as Telegram does (not getX, setWebhook, deleteWebhook, close or logOut).

For several workers behind one URL, a test can skip the load balancer:
``standin.webhook_upstreams = [url1, url2, url3]`` (or ``POST /_control/webhook_upstreams``) sends
each POST to the next of them in turn; a retry goes to the next one, as a balancer's would.

Telegram's backoff starts at seconds and grows to a minute; the stand-in's starts at
``retry_delay`` (50 ms) and stops growing at ``max_retry_delay`` (1 s), so tests stay fast. Unlike
Telegram, an update is never dropped after 24 hours of failures, and setWebhook does not try
to connect before it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.standin.models import JSON, WebhookAttempt

if TYPE_CHECKING:
    from bot.standin.server import TelegramStandIn, WebhookState

# Methods a webhook's answer may not run.
_NOT_IN_RESPONSE = ("deletewebhook", "setwebhook", "close", "logout")


def queue_key(update: JSON) -> int | None:
    """The chat an update belongs to (its delivery queue), None when it has none."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        message = payload.get("message")
        if isinstance(message, dict):
            inner = message.get("chat")
            if isinstance(inner, dict) and isinstance(inner.get("id"), int):
                return int(inner["id"])
        for user_field in ("from", "user"):
            user = payload.get(user_field)
            if isinstance(user, dict) and isinstance(user.get("id"), int):
                return int(user["id"])
    return None


def _connection_error(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED:
            return "Connection refused"
        return f"Can't connect to the webhook: {exc.os_error.strerror or 'error'}"
    return "Webhook connection closed"


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return min(max(float(raw), 0.0), 3600.0)
    except ValueError:
        return None


class WebhookDelivery:
    """Pushes a stand-in's pending updates to its webhook from the running event loop.

    ``await delivery.start()`` opens an aiohttp client session and starts the loop;
    ``await delivery.stop()`` cancels the POSTs in flight (their updates stay pending) and
    closes the session. :func:`bot.standin.serve_http` runs one for the served stand-in;
    in-process, use ``await standin.start_webhook_delivery()``.
    """

    def __init__(
        self,
        standin: TelegramStandIn,
        *,
        retry_delay: float = 0.05,
        max_retry_delay: float = 1.0,
        request_timeout: float = 10.0,
    ) -> None:
        self.standin = standin
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.request_timeout = request_timeout
        self.peak_in_flight = 0
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._generation = -1
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._failures: dict[int, int] = {}
        self._due: dict[int, float] = {}

    @property
    def in_flight(self) -> int:
        """POSTs waiting for an answer now."""
        return len(self._in_flight)

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("this webhook delivery is already running")
        if self.standin.delivery is not None:
            raise RuntimeError("the stand-in already has a running webhook delivery")
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.request_timeout),
            connector=aiohttp.TCPConnector(limit=0),  # max_connections is the only limit
        )
        self.standin.delivery = self
        self.standin.add_listener(self._wake.set)
        self._task = asyncio.create_task(self._run(), name="standin-webhook-delivery")

    async def stop(self) -> None:
        self.standin.remove_listener(self._wake.set)
        if self.standin.delivery is self:
            self.standin.delivery = None
        tasks = [t for t in (self._task, *self._in_flight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._in_flight.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> WebhookDelivery:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            hook = self.standin.webhook
            if hook.generation != self._generation:
                self._reset(hook.generation)
            next_due = self._launch(hook, loop.time()) if hook.url else None
            wait = 3600.0 if next_due is None else max(next_due - loop.time(), 0.0)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
            # arrives together with a wake-up, and stop() would wait forever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _reset(self, generation: int) -> None:
        """A new (or no) webhook: the old one's POSTs in flight are abandoned."""
        for task in self._in_flight.values():
            task.cancel()
        self._in_flight.clear()
        self._failures.clear()
        self._due.clear()
        self._generation = generation

    def _launch(self, hook: WebhookState, now: float) -> float | None:
        """Start the POSTs that may go now; return when the next waiting retry is due."""
        next_due: float | None = None
        busy_chats: set[int] = set()
        for update in self.standin.iter_deliverable():
            if len(self._in_flight) >= hook.max_connections:
                break  # a POST that ends wakes this loop again
            update_id = int(update["update_id"])
            chat = queue_key(update)
            if chat is not None:
                if chat in busy_chats:
                    continue  # an earlier update of this chat is not confirmed yet
                busy_chats.add(chat)
            if update_id in self._in_flight:
                continue
            due = self._due.get(update_id, 0.0)
            if due > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            self._in_flight[update_id] = asyncio.create_task(
                self._push(update, hook), name=f"standin-webhook-{update_id}"
            )
            self.peak_in_flight = max(self.peak_in_flight, len(self._in_flight))
        return next_due

    async def _push(self, update: JSON, hook: WebhookState) -> None:
        assert self._session is not None
        loop = asyncio.get_running_loop()
        update_id = int(update["update_id"])
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        target = self.standin.webhook_target()
        started = loop.time()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        reply: Any = None
        self.standin.note_delivery(update_id)
        try:
            async with self._session.post(
                target, data=json.dumps(update).encode(), headers=headers
            ) as response:
                status = response.status
                body = await response.read()
                if 200 <= status <= 299:
                    with contextlib.suppress(ValueError):
                        reply = json.loads(body) if body else None
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason or ''}"
                    error = error.rstrip()
                    retry_after = _retry_after(response.headers)
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientError as exc:
            error = _connection_error(exc)
        finally:
            if self._in_flight.get(update_id) is asyncio.current_task():
                del self._in_flight[update_id]
        if hook.generation != self.standin.webhook.generation:
            return
        if error is None:
            self._failures.pop(update_id, None)
            self._due.pop(update_id, None)
        else:
            failures = self._failures[update_id] = self._failures.get(update_id, 0) + 1
            delay = retry_after
            if delay is None:
                delay = min(self.retry_delay * 2 ** (failures - 1), self.max_retry_delay)
            self._due[update_id] = loop.time() + delay
        attempt = WebhookAttempt(
            update_id=update_id,
            url=target,
            status=status,
            error=error,
            seconds=loop.time() - started,
            had_secret=bool(hook.secret_token),
        )
        self.standin.record_webhook_attempt(attempt, hook.generation)
        if error is None and isinstance(reply, dict):
            await self._method_in_reply(reply)
        self._wake.set()

    async def _method_in_reply(self, reply: JSON) -> None:
        method = reply.get("method")
        if not isinstance(method, str) or not method:
            return
        if method.lower() in _NOT_IN_RESPONSE or method.lower().startswith("get"):
            return
        params = {key: value for key, value in reply.items() if key != "method"}
        await self.standin.handle(method, self.standin.token, params)

"""Closer's HTTP face: Telegram's webhook calls, ``GET /healthz`` and ``GET /metrics`` (aiohttp).

As in python-telegram-bot's custom-webhook example, a verified update goes into the running
Application, with one difference: the update is *handled before the answer*. The 200 goes back
only once ``Application.process_update`` returned, so a worker that dies mid-call leaves the
update unconfirmed and Telegram delivers it again (to this or another worker); the handlers are
idempotent, so an update is handled at least once in effect, never lost.

- ``POST <path of WEBHOOK_URL>``: without the ``X-Telegram-Bot-Api-Secret-Token`` header 401,
  with a wrong one 403 (compared in constant time); a body over :data:`MAX_BODY` bytes, one
  that is not JSON (or nested too deep to parse) or not an update 400; a body that does not
  arrive within :data:`BODY_TIMEOUT` 408; nothing is handled in any of these cases. An update
  that storage failed under (the disk is full, the database is down or dropped) is answered
  503, so Telegram delivers it again (``bot.context.CloserApplication``); one a bug failed was
  set aside and is answered 200. A second delivery of an update that took effect changes
  nothing and is answered 200. Logs name the outcome and the update_id only: never the body,
  never a traceback.
- ``GET /healthz``: 200 ``{"status": "ok", ...}`` when the database answers a trivial query, its
  schema is at the head revision, no storage outage is current (``"storage"``: what failed,
  with its code, and for how long; it clears with the next write that goes through), and this
  worker's event loop is alive (its heartbeat is fresh
  and the tasks it watches are running); else 503 with what failed. A load balancer stops
  sending calls to a 503 worker.
- Slow clients: a request's head (request line and headers) must arrive within
  :data:`HEADER_TIMEOUT` of the connection opening or of the previous response on it, and its
  body within :data:`BODY_TIMEOUT`; at most :data:`MAX_CONNECTIONS` connections are open at
  once (one more is closed at once). aiohttp has its own limits on the head's size
  (``max_line_size``, ``max_field_size``, ``max_headers``) and the body's (``client_max_size``),
  and closes idle keep-alive connections (``keepalive_timeout``); it has no read timeouts and no
  connection cap, so those are here, around its protocol.
- ``GET /metrics``: :mod:`bot.metrics` in the Prometheus text format.

:class:`HttpFace` serves it; ``webhook=None`` serves only /healthz and /metrics (polling mode
with LISTEN set).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ExtBot

from bot import metrics
from bot.context import StorageUnavailable
from bot.logs import get_logger
from bot.storage.db import Database
from bot.storage.migrate import current_revision, head_revision
from bot.storage.stats import database_answers

log = get_logger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY: Final = 1024 * 1024  # Telegram's updates are a few KiB; 1 MiB is generous
HEARTBEAT_SECONDS: Final = 1.0
STALE_HEARTBEAT: Final = 10.0  # a loop that did not beat for this long is not alive
DB_TIMEOUT: Final = 3.0
HEADER_TIMEOUT: Final = 10.0
"""Seconds a connection has to send a request's head (from opening, or its last response)."""
BODY_TIMEOUT: Final = 10.0
"""Seconds a request has to send its body (a Telegram update is a few KiB)."""
MAX_CONNECTIONS: Final = 256
"""Connections open at once; Telegram opens at most 100 (``max_connections``) per bot."""

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class _ServerLog(logging.Logger):
    """aiohttp's server logger, replaced: a malformed request (a TLS hello on the HTTP port, a
    bad header) is one ``http_error`` line naming the error's type, not a traceback."""

    def _log(  # every argument but level and exc_info is dropped
        self, level: int, msg: object, args: Any, exc_info: Any = None, *more: Any, **kw: Any
    ) -> None:
        if level < logging.WARNING:
            return
        if exc_info is True:
            exc_info = sys.exc_info()
        error = exc_info[1] if isinstance(exc_info, tuple) else exc_info
        name = type(error).__name__ if isinstance(error, BaseException) else None
        log.warning("http_error", error=name)


_SERVER_LOG = _ServerLog("closer.http")


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind a guard: the connection is closed when a
    request's head does not arrive in time, or when too many are open already."""

    def __init__(self, face: HttpFace, inner: web.RequestHandler) -> None:
        self._face = face
        self.inner = inner
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but are one in all but name.
        self._transport = cast(asyncio.Transport, transport)
        face = self._face
        if len(face._guards) >= face.max_connections:
            face.refused_connections += 1
            log.warning("http_connection_refused", reason="too many connections")
            self._transport.abort()
            return
        self._admitted = True
        face._guards[self.inner] = self
        self.waiting()
        self.inner.connection_made(self._transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> None:
        self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.busy()
        if self._admitted:
            self._face._guards.pop(self.inner, None)
            self.inner.connection_lost(exc)

    def waiting(self) -> None:
        """No request is being handled: the next one's head is due within the timeout."""
        self.busy()
        self._timer = asyncio.get_running_loop().call_later(
            self._face.header_timeout, self._too_slow
        )

    def busy(self) -> None:
        """A request's head arrived (or the connection is gone): no head is due."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        self._face.slow_connections += 1
        log.warning("http_connection_closed", reason="request head too slow")
        if self._transport is not None:
            self._transport.abort()


@dataclass(frozen=True)
class WebhookTarget:
    """Where and how Telegram's calls come in: the path and the secret they must carry."""

    path: str
    secret: str


class HttpFace:
    """The aiohttp server of one worker. ``await face.start(host, port)``, ``await face.stop()``.

    ``alive`` are callables that return False when something this worker needs has died (the
    polling task, the dispatch loop); /healthz reports them with the heartbeat.
    ``now`` gives the schedule's time for the outbox lag.
    """

    def __init__(
        self,
        db: Database,
        *,
        application: AnyApplication | None = None,
        webhook: WebhookTarget | None = None,
        alive: dict[str, Callable[[], bool]] | None = None,
        now: Callable[[], Any] | None = None,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if webhook is not None and application is None:
            raise ValueError("a webhook needs the application that handles its updates")
        self.db = db
        self.application = application
        self.webhook = webhook
        self.alive = dict(alive or {})
        self._now = now
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self.refused_connections = 0  # over the cap
        self.slow_connections = 0  # closed for a slow request head
        self._guards: dict[object, _Guarded] = {}
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._head: str | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._beat = time.monotonic()
        self.port: int | None = None
        if application is not None:
            metrics.instrument(application)

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        if self.webhook is not None:
            app.router.add_post(self.webhook.path, self._update)
        return app

    async def start(self, host: str, port: int) -> int:
        """Serve on host:port (0: any free port); the port bound."""
        self._beat = time.monotonic()
        self._heartbeat = asyncio.create_task(self._beating(), name="closer-heartbeat")
        runner = web.AppRunner(
            self.web_app(),
            access_log=None,
            shutdown_timeout=5.0,
            logger=_SERVER_LOG,
            keepalive_timeout=self.header_timeout,
        )
        await runner.setup()
        self._runner = runner
        server = runner.server
        assert server is not None
        # aiohttp's TCPSite, with each connection's protocol behind a guard (_Guarded).
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guarded(self, server()), host, port
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info(
            "http_listening",
            host=host,
            port=self.port,
            webhook=self.webhook is not None,
        )
        return self.port

    async def stop(self) -> None:
        """Stop taking calls; those in flight finish first (up to 5 s)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def _beating(self) -> None:
        while True:
            self._beat = time.monotonic()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """The request's head arrived: no head is due until it is answered."""
        guard = self._guards.get(request.protocol)
        if guard is not None:
            guard.busy()
        try:
            return await handler(request)
        finally:
            if guard is not None:
                guard.waiting()

    # -- webhook ------------------------------------------------------------------------------

    async def _update(self, request: web.Request) -> web.Response:
        assert self.webhook is not None and self.application is not None
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return self._reject(401, "secret", "no secret header")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            return self._reject(403, "secret", "wrong secret")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return self._reject(400, "size", "body too large")
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._reject(400, "size", "body too large")
        except TimeoutError:
            response = self._reject(408, "slow", "body too slow")
            response.force_close()
            return response
        update = self._parse(body)
        if update is None:
            return self._reject(400, "not_update", "not an update")
        try:
            await metrics.observe_update(self.application, update)
        except StorageUnavailable as exc:  # not confirmed: Telegram delivers it again
            log.warning("update_unconfirmed", update_id=update.update_id, outage=exc.outage.reason)
            return web.json_response(
                {"ok": False, "error": "storage unavailable"},
                status=503,
                headers={"Retry-After": "5"},
            )
        except Exception as exc:  # Telegram retries on a 5xx
            log.error("update_failed", update_id=update.update_id, error=type(exc).__name__)
            return web.json_response({"ok": False}, status=500)
        return web.json_response({"ok": True})

    def _parse(self, body: bytes) -> Update | None:
        assert self.application is not None
        try:
            raw = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: not an update
            return None
        if not isinstance(raw, dict):
            return None
        update_id = raw.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return None
        bot = self.application.bot
        try:
            update = Update.de_json(raw, bot)
            if isinstance(bot, ExtBot) and bot.callback_data_cache is not None:
                bot.insert_callback_data(update)
        except Exception:  # whatever the parser trips on, the update is refused
            return None
        return update

    @staticmethod
    def _reject(status: int, reason: str, why: str) -> web.Response:
        metrics.count_rejected(reason)
        log.warning("webhook_rejected", status=status, reason=why)
        return web.json_response({"ok": False, "error": why}, status=status)

    # -- health and metrics -------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                await database_answers(self.db)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = type(exc).__name__
        checks["schema"] = await self._schema()
        checks["storage"] = self.db.watch.state()
        stale = time.monotonic() - self._beat
        checks["loop"] = "ok" if stale < STALE_HEARTBEAT else f"stalled {stale:.0f}s"
        for name, check in self.alive.items():
            try:
                checks[name] = "ok" if check() else "stopped"
            except Exception as exc:
                checks[name] = type(exc).__name__
        healthy = all(value == "ok" for value in checks.values())
        body = {"status": "ok" if healthy else "unavailable", **checks}
        return web.json_response(body, status=200 if healthy else 503)

    async def _schema(self) -> str:
        """ "ok" when the database is at the head revision of this worker's migrations."""
        try:
            if self._head is None:
                self._head = head_revision()
            async with asyncio.timeout(DB_TIMEOUT):
                found = await current_revision(self.db)
        except Exception as exc:
            return type(exc).__name__
        if found == self._head:
            return "ok"
        return "not migrated" if found is None else f"at {found}, not {self._head}"

    async def _metrics(self, request: web.Request) -> web.Response:
        try:
            now = self._now() if self._now is not None else None
            async with asyncio.timeout(DB_TIMEOUT):
                await metrics.refresh_outbox_lag(self.db, now)
        except Exception as exc:  # the rest of the metrics are still worth serving
            log.warning("metrics_outbox_lag_failed", error=type(exc).__name__)
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE}
        )

"""Closer's HTTP face: Telegram's webhook calls, ``GET /healthz`` and ``GET /metrics`` (aiohttp).

As in python-telegram-bot's custom-webhook example, a verified update goes into the running
Application, with one difference: the update is *handled before the answer*. The 200 goes back
only once ``Application.process_update`` returned, so a worker that dies mid-call leaves the
update unconfirmed and Telegram delivers it again (to this or another worker); the handlers are
idempotent, so an update is handled at least once in effect, never lost.

- ``POST <path of WEBHOOK_URL>``: without the ``X-Telegram-Bot-Api-Secret-Token`` header 401,
  with a wrong one 403 (compared in constant time); a body over :data:`MAX_BODY` bytes or one
  that is not an update 400; nothing is handled in either case. A handler that raises gives 500
  (Telegram retries). Logs name the outcome and the update_id only: never the body, never a
  traceback.
- ``GET /healthz``: 200 ``{"status": "ok", ...}`` when the database answers a trivial query and
  this worker's event loop is alive (its heartbeat is fresh and the tasks it watches are
  running); else 503 with what failed. A load balancer stops sending calls to a 503 worker.
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ExtBot

from bot import metrics
from bot.logs import get_logger
from bot.storage.db import Database
from bot.storage.stats import database_answers

log = get_logger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY: Final = 1024 * 1024  # Telegram's updates are a few KiB; 1 MiB is generous
HEARTBEAT_SECONDS: Final = 1.0
STALE_HEARTBEAT: Final = 10.0  # a loop that did not beat for this long is not alive
DB_TIMEOUT: Final = 3.0

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
    ) -> None:
        if webhook is not None and application is None:
            raise ValueError("a webhook needs the application that handles its updates")
        self.db = db
        self.application = application
        self.webhook = webhook
        self.alive = dict(alive or {})
        self._now = now
        self._runner: web.AppRunner | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._beat = time.monotonic()
        self.port: int | None = None
        if application is not None:
            metrics.instrument(application)

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
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
            self.web_app(), access_log=None, shutdown_timeout=5.0, logger=_SERVER_LOG
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, host, port)
        await site.start()
        self.port = int(runner.addresses[0][1])
        log.info(
            "http_listening",
            host=host,
            port=self.port,
            webhook=self.webhook is not None,
        )
        return self.port

    async def stop(self) -> None:
        """Stop taking calls; those in flight finish first (up to 5 s)."""
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
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._reject(400, "size", "body too large")
        update = self._parse(body)
        if update is None:
            return self._reject(400, "not_update", "not an update")
        try:
            await metrics.observe_update(self.application, update)
        except Exception as exc:  # Telegram retries on a 5xx; the error handler saw it
            log.error("update_failed", update_id=update.update_id, error=type(exc).__name__)
            return web.json_response({"ok": False}, status=500)
        return web.json_response({"ok": True})

    def _parse(self, body: bytes) -> Update | None:
        assert self.application is not None
        try:
            raw = json.loads(body)
        except (ValueError, UnicodeDecodeError):
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

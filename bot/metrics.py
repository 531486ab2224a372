"""Closer's Prometheus metrics (prometheus-client), served on ``GET /metrics`` by ``bot.webhook``.

One registry per process (:data:`REGISTRY`), holding:

- ``closer_updates_total{kind, result}``: updates handled, by kind (``message``,
  ``callback_query``, ``poll_answer``, ... as in ``telegram.Update.ALL_TYPES``, else ``other``)
  and result (``ok``; ``error``: a handler raised and the error handler saw it; ``duplicate``:
  a second delivery of an update that took effect already, which changed nothing; ``failed``:
  ``process_update`` itself raised);
- ``closer_duplicate_updates_total``: second deliveries that changed nothing, however they
  came (counted also where ``process_update`` is called directly);
- ``closer_update_seconds{kind}``: a histogram of the time spent handling one update;
- ``closer_webhook_rejected_total{reason}``: webhook calls refused (``secret``, ``size``, ``slow``,
  ``not_update``);
- ``closer_nudges_total{result}``: outbox sends by result (``sent``, ``429``, ``403``, ``5xx``,
  ``ambiguous``, ``failed``), counted in ``TelegramSender.send``;
- ``closer_outbox_due_lag_seconds``: age of the oldest due, unsent outbox row (0 when none), read
  from the database at each scrape (:func:`refresh_outbox_lag`);
- ``closer_dispatcher``: 1 while this worker holds the dispatcher lease, else 0.

No label ever holds a user id, a text or the token: every label value comes from a fixed set.
"""

from __future__ import annotations

import contextvars
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from telegram import Update

from bot.storage.stats import oldest_due_age

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.storage.db import Database
    from scheduler.sending import SendResult

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

REGISTRY: Final = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

UPDATES: Final = Counter(
    "closer_updates",
    "Updates handled, by kind and result",
    ["kind", "result"],
    registry=REGISTRY,
)
UPDATE_SECONDS: Final = Histogram(
    "closer_update_seconds",
    "Time spent handling one update",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
DUPLICATES: Final = Counter(
    "closer_duplicate_updates",
    "Second deliveries of an update that took effect already (nothing changed, nothing sent)",
    registry=REGISTRY,
)
SET_ASIDE: Final = Counter(
    "closer_set_aside_updates",
    "Updates set aside (a bug failed them, or storage failed past the bound), by kind and reason",
    ["kind", "reason"],
    registry=REGISTRY,
)
UNCONFIRMED: Final = Counter(
    "closer_unconfirmed_updates",
    "Tries of an update left unconfirmed because storage failed (it comes again), by reason",
    ["reason"],
    registry=REGISTRY,
)
WEBHOOK_REJECTED: Final = Counter(
    "closer_webhook_rejected",
    "Webhook calls refused, by reason",
    ["reason"],
    registry=REGISTRY,
)
NUDGES: Final = Counter(
    "closer_nudges",
    "Outbox sends, by result",
    ["result"],
    registry=REGISTRY,
)
OUTBOX_LAG: Final = Gauge(
    "closer_outbox_due_lag_seconds",
    "Age of the oldest due outbox row not sent yet (0 when none)",
    registry=REGISTRY,
)
DISPATCHER: Final = Gauge(
    "closer_dispatcher",
    "1 while this worker holds the dispatcher lease",
    registry=REGISTRY,
)

_NUDGE_RESULTS: Final = {
    "Sent": "sent",
    "FloodWait": "429",
    "Blocked": "403",
    "Transient": "5xx",
    "Ambiguous": "ambiguous",
    "Failed": "failed",
}

# What ended the current update other than "ok" ("error", "duplicate"; see observe_update).
_ERRORS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "closer_update_errors", default=None
)


class _DispatcherWatch:
    """The dispatcher whose lease ``closer_dispatcher`` reports (set by ``start_dispatching``)."""

    dispatcher: Any = None


_WATCH = _DispatcherWatch()
DISPATCHER.set_function(lambda: 1.0 if getattr(_WATCH.dispatcher, "holding", False) else 0.0)


def watch_dispatcher(dispatcher: Any) -> None:
    """Report ``dispatcher.holding`` as ``closer_dispatcher`` (None: this worker has none)."""
    _WATCH.dispatcher = dispatcher


def update_kind(update: Update) -> str:
    """The update's kind, from a fixed set (never anything the user wrote)."""
    for kind in Update.ALL_TYPES:
        if getattr(update, kind, None) is not None:
            return str(kind)
    return "other"


async def observe_update(
    application: Application[Any, Any, Any, Any, Any, Any], update: Update
) -> None:
    """``application.process_update(update)``, counted and timed; raises what it raises."""
    kind = update_kind(update)
    errors: list[str] = []
    token = _ERRORS.set(errors)
    started = time.perf_counter()
    result = "failed"
    try:
        await application.process_update(update)
        result = (
            "duplicate"
            if "duplicate" in errors
            else "unconfirmed"
            if "unconfirmed" in errors
            else "error"
            if errors
            else "ok"
        )
    finally:
        if result == "failed" and "unconfirmed" in errors:
            result = "unconfirmed"
        _ERRORS.reset(token)
        UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
        UPDATES.labels(kind, result).inc()


async def note_handler_error(update: object, context: Any) -> None:
    """An error handler: marks the update being handled as ended in an error (for the count)."""
    errors = _ERRORS.get()
    if errors is not None:
        errors.append("error")


def count_duplicate() -> None:
    """A second delivery of an update changed nothing (``bot.context.CloserApplication``)."""
    DUPLICATES.inc()
    seen = _ERRORS.get()
    if seen is not None:
        seen.append("duplicate")


def instrument(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the error handler that lets :func:`observe_update` tell ``ok`` from ``error``."""
    if note_handler_error not in application.error_handlers:
        application.add_error_handler(note_handler_error)


def count_nudge(result: SendResult) -> None:
    """One outbox send's result (called from ``TelegramSender.send``)."""
    NUDGES.labels(_NUDGE_RESULTS.get(type(result).__name__, "failed")).inc()


def count_set_aside(kind: str, reason: str) -> None:
    SET_ASIDE.labels(kind, reason).inc()


def count_unconfirmed(reason: str) -> None:
    """An update met a storage outage and was left unconfirmed (``bot.context``)."""
    UNCONFIRMED.labels(reason).inc()
    seen = _ERRORS.get()
    if seen is not None:
        seen.append("unconfirmed")


def count_rejected(reason: str) -> None:
    WEBHOOK_REJECTED.labels(reason).inc()


async def refresh_outbox_lag(db: Database, now: datetime | None = None) -> None:
    """Read the outbox's due lag from the database into ``closer_outbox_due_lag_seconds``."""
    OUTBOX_LAG.set(await oldest_due_age(db, now or datetime.now(UTC)))


def exposition() -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(REGISTRY)

"""Logging: one event a line on stderr, through structlog, with secrets scrubbed.

Privacy rules enforced here as a last line of defence (handlers are written not to log texts):
- the bot token is replaced wherever it appears (httpx logs every request URL, token included,
  at INFO; python-telegram-bot may log URLs too);
- httpx and httpcore are capped at WARNING so request URLs are not logged at all;
- python-telegram-bot is capped at INFO: at DEBUG it logs every API call and update whole,
  message texts included, whatever level the rest of Closer runs at; and its records that carry
  raw updates ("Error while parsing updates! Received data was ...") are dropped at any level
  (Closer polls on its own, `bot.polling`, but a stray call to `Bot.get_updates` must not leak);
- APScheduler is capped at WARNING unless Closer runs at DEBUG: at INFO it writes lines on every
  idle tick; so is Alembic, whose INFO lines (plugins, each revision) would bury a start-up
  problem's one line.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_TOKEN_IN_TEXT = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{30,64}")
REDACTED = "<redacted-token>"


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove every known secret and anything shaped like a bot token from a string."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _TOKEN_IN_TEXT.sub(REDACTED, text)


class _Scrubber:
    """A structlog processor that scrubs every string value of an event."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets

    def __call__(
        self, _logger: object, _name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            if isinstance(value, str):
                event_dict[key] = scrub(value, self.secrets)
        return event_dict


class _ScrubbingFormatter(structlog.stdlib.ProcessorFormatter):
    """Scrubs the finished line too: tracebacks are rendered after the processors ran."""

    def __init__(self, secrets: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), self._secrets)


def configure_logging(
    level: str = "INFO", *, secrets: tuple[str, ...] = (), stream: TextIO | None = None
) -> None:
    """Route structlog and the standard library's logging to one line per event on stderr."""
    scrubber = _Scrubber(secrets)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        scrubber,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = _ScrubbingFormatter(
        secrets,
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.KeyValueRenderer(
                key_order=["timestamp", "level", "logger", "event"], drop_missing=True
            ),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    handler.addFilter(_drop_raw_updates)
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for chatty in ("apscheduler", "alembic"):  # no data in their lines: all of them at DEBUG
        logging.getLogger(chatty).setLevel(
            logging.DEBUG if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
        )
    logging.getLogger("telegram").setLevel(max(logging.INFO, root.level))


# python-telegram-bot's log messages whose arguments are raw updates (users' names and texts).
_RAW_UPDATE_MESSAGES = ("Error while parsing updates",)


def _drop_raw_updates(record: logging.LogRecord) -> bool:
    if not record.name.startswith("telegram"):
        return True
    message = record.msg if isinstance(record.msg, str) else ""
    return not message.startswith(_RAW_UPDATE_MESSAGES)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger

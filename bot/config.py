"""Closer's configuration, read from the environment and an optional `.env` file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

TELEGRAM_API_ROOT = "https://api.telegram.org"
DEFAULT_DATA_DIR = Path("data")

# A bot token is "<bot id>:<secret>", the secret being 35 URL-safe characters today; accept a
# little slack in length so a future format change does not lock people out.
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class TokenProblem(Exception):
    """The bot token is missing or malformed; the message is safe to print (it never holds it)."""


class SettingsProblem(Exception):
    """Settings that do not fit together; the message is safe to print (no secret in it)."""


# Telegram's secret_token: 1-256 characters, only A-Z, a-z, 0-9, _ and -.
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1:8080"


class Settings(BaseSettings):
    """Everything Closer reads from its environment.

    Names are the environment variables, case-insensitive: `TELEGRAM_BOT_TOKEN`, `DATABASE_URL`,
    `TELEGRAM_BASE_URL`, `LOG_LEVEL`, `ADMIN_IDS`, `DATA_DIR`, and for delivery
    `CLOSER_CLOCK_SPEED`, `CLOSER_RATE_LIMIT`, `CLOSER_DISPATCH_BATCH_SIZE`,
    `CLOSER_TELEGRAM_TRANSPORT`; for webhook mode and health `WEBHOOK_URL`, `WEBHOOK_SECRET`,
    `LISTEN`.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr | None = Field(default=None, repr=False)
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    telegram_base_url: str = TELEGRAM_API_ROOT
    log_level: LogLevel = "INFO"
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    # Delivery. CLOSER_CLOCK_SPEED=86400 runs the schedule a day per second.
    clock_speed: float = Field(
        default=1.0, gt=0, validation_alias=AliasChoices("closer_clock_speed", "clock_speed")
    )
    rate_limit: bool = Field(
        default=True, validation_alias=AliasChoices("closer_rate_limit", "rate_limit")
    )
    dispatch_batch_size: int = Field(
        default=100,
        ge=1,
        le=1000,
        validation_alias=AliasChoices("closer_dispatch_batch_size", "dispatch_batch_size"),
    )
    # The dispatcher and poller leases (seconds). A live process renews them every
    # quarter (a third at most); a dead one's run out after this long.
    lease_seconds: float = Field(
        default=10.0,
        ge=1.0,
        le=600.0,
        validation_alias=AliasChoices("closer_lease_seconds", "lease_seconds"),
    )
    # For tests only: while this file exists, SQLite cannot grow (PRAGMA max_page_count at
    # the current size): a disk full, without mounting a small file system.
    fault_disk_full_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("closer_fault_disk_full_file")
    )
    # aiohttp: several times less CPU per request than httpx (docs/BENCHMARKS.md).
    telegram_transport: Literal["aiohttp", "httpx"] = Field(
        default="aiohttp",
        validation_alias=AliasChoices("closer_telegram_transport", "telegram_transport"),
    )

    # Webhook mode: set WEBHOOK_URL and `closer run` serves Telegram's calls on LISTEN
    # instead of polling. LISTEN alone (polling mode) serves only /healthz and /metrics.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, repr=False)
    listen: str | None = None

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be an https:// URL, e.g. https://bot.example.com/telegram")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not _WEBHOOK_SECRET_RE.match(value.get_secret_value()):
            # never repeat the value: it is a secret
            raise ValueError("must be 1-256 characters, only A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        split_listen(value.strip())
        return value.strip()

    @property
    def webhook_mode(self) -> bool:
        """True when `closer run` takes updates by webhook (WEBHOOK_URL is set)."""
        return self.webhook_url is not None

    @property
    def webhook_path(self) -> str:
        """The path part of WEBHOOK_URL, where the webhook server takes Telegram's calls."""
        path = urlsplit(self.webhook_url or "").path
        return path if path.startswith("/") else "/"

    def listen_address(self) -> tuple[str, int] | None:
        """(host, port) to serve on: LISTEN, or 127.0.0.1:8080 in webhook mode; None: no server."""
        if self.listen is not None:
            return split_listen(self.listen)
        if self.webhook_mode:
            return split_listen(DEFAULT_WEBHOOK_LISTEN)
        return None

    def require_webhook_secret(self) -> str:
        """WEBHOOK_SECRET, or a SettingsProblem explaining what to set (never the value)."""
        if self.webhook_secret is None:
            raise SettingsProblem(
                "WEBHOOK_URL is set but WEBHOOK_SECRET is not: set WEBHOOK_SECRET to 1-256 "
                "characters of A-Z, a-z, 0-9, _ and - (e.g. `openssl rand -hex 32`)"
            )
        return self.webhook_secret.get_secret_value()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            return tuple(int(p) for p in parts)
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("telegram_base_url")
    @classmethod
    def _strip_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must start with http:// or https:// followed by a host")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        # The URL may hold a password: the message never repeats it.
        if value is None or not value.strip():
            return None
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError(
                "is not a database URL: use sqlite:///path/to/file or postgresql://user@host/db"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("must be a sqlite:/// or postgresql:// URL") from None
        return value.strip()

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'closer.sqlite3').as_posix()}"

    @property
    def bot_api_base_url(self) -> str:
        """python-telegram-bot's `base_url`: requests go to `<root>/bot<token>/<method>`."""
        return f"{self.telegram_base_url}/bot"

    @property
    def bot_file_base_url(self) -> str:
        return f"{self.telegram_base_url}/file/bot"

    def require_token(self) -> str:
        """The token, or a TokenProblem whose message explains what to do (without the token)."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value():
            raise TokenProblem(
                "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then "
                "`export TELEGRAM_BOT_TOKEN=...` or put it in a .env file "
                "(no token yet? `closer try` runs Closer in the terminal)."
            )
        token = self.telegram_bot_token.get_secret_value().strip()
        if not _TOKEN_RE.match(token):
            raise TokenProblem(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected "
                "'<digits>:<35 letters, digits, - or _>', as @BotFather gives it)."
            )
        return token


def split_listen(value: str) -> tuple[str, int]:
    """LISTEN's "host:port" (IPv6 as "[::1]:8080"; ":8080" means every address)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be host:port, e.g. 127.0.0.1:8080")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)

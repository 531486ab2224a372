"""Closer's configuration, read from the environment and an optional `.env` file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

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


class Settings(BaseSettings):
    """Everything Closer reads from its environment.

    Names are the environment variables, case-insensitive: `TELEGRAM_BOT_TOKEN`, `DATABASE_URL`,
    `TELEGRAM_BASE_URL`, `LOG_LEVEL`, `ADMIN_IDS`, `DATA_DIR`, and for delivery
    `CLOSER_CLOCK_SPEED`, `CLOSER_RATE_LIMIT`, `CLOSER_DISPATCH_BATCH_SIZE`,
    `CLOSER_TELEGRAM_TRANSPORT`.
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
    # Delivery (issue 4). CLOSER_CLOCK_SPEED=86400 runs the schedule a day per second.
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
    # Issue 14: the dispatcher and poller leases (seconds). A live process renews them every
    # quarter (a third at most); a dead one's run out after this long.
    lease_seconds: float = Field(
        default=10.0,
        ge=1.0,
        le=600.0,
        validation_alias=AliasChoices("closer_lease_seconds", "lease_seconds"),
    )
    # aiohttp: several times less CPU per request than httpx (README, "Benchmarks").
    telegram_transport: Literal["aiohttp", "httpx"] = Field(
        default="aiohttp",
        validation_alias=AliasChoices("closer_telegram_transport", "telegram_transport"),
    )

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

"""Storage that cannot be used right now, told apart from a bug by the driver's error codes.

An update whose handling meets a failure of the infrastructure (the disk is full, the database
server is down or dropped, the connection was cut) is not at fault: it must not be confirmed
to Telegram, so it comes again once storage is back. Anything else that goes wrong is a bug
in a handler, and that update is set aside (``bot.set_aside``). :func:`storage_outage` draws the
line, from codes rather than exception classes (SQLAlchemy wraps both kinds in the same ones):

- SQLite (``sqlite_errorcode``, primary code): FULL, IOERR, READONLY, CANTOPEN, BUSY (a busy
  database past the busy timeout reaches here as ``DatabaseBusy``), NOTADB; and "no such
  table", an empty or unmigrated file (SQLite gives it no code of its own);
- PostgreSQL (SQLSTATE): class 08 (connection), 53 (insufficient resources: disk full, out of
  memory, too many connections), 57P01–57P03 (shutdown, crash, not accepting connections yet),
  58 (system I/O), 3D000 (the database does not exist), 42P01 (no such table: a re-created,
  unmigrated database), 25006 (a read-only transaction: a standby after a failover), 40001 and
  40P01 (a serialization failure or deadlock: the same update succeeds when tried again);
- a connection SQLAlchemy found dropped (``connection_invalidated``), a socket error while
  connecting (refused, reset, unreachable, timed out), a pool with no connection to give.

:class:`StorageWatch` (one per ``Database``) holds what is known right now: the current outage
and since when (``/healthz`` reports it), who was told to wait during it, and how often each
update has met it (the bound past which an update is set aside instead of retried).
"""

from __future__ import annotations

import errno
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_SQLITE_CODES: Final = {
    sqlite3.SQLITE_FULL: "disk full",
    sqlite3.SQLITE_IOERR: "disk I/O error",
    sqlite3.SQLITE_READONLY: "database read-only",
    sqlite3.SQLITE_CANTOPEN: "database cannot be opened",
    sqlite3.SQLITE_BUSY: "database busy",
    sqlite3.SQLITE_NOTADB: "not a database",
}
_PG_CODES: Final = {
    "3D000": "database does not exist",
    "42P01": "schema missing",
    "25006": "database read-only",
    "40001": "serialization conflict",
    "40P01": "deadlock",
    "57P01": "database shutting down",
    "57P02": "database crashed",
    "57P03": "database not accepting connections",
}
_PG_CLASSES: Final = {
    "08": "connection failed",
    "53": "database out of resources",
    "58": "database system error",
}
_SOCKET_ERRNOS: Final = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
        errno.ENOSPC,
        errno.EIO,
    }
)

SET_ASIDE_AFTER_ATTEMPTS: Final = 10
SET_ASIDE_AFTER_SECONDS: Final = 15 * 60.0
"""The bound: an update that met an outage on this many tries *and* over this long is set
aside as if a bug had failed it (one misjudged update must not stall everyone behind it)."""
_KEEP_UPDATES: Final = 10_000  # updates whose tries are counted at once (oldest dropped first)


@dataclass(frozen=True, slots=True)
class Outage:
    """Why storage cannot be used: a short fixed label and the code it came from."""

    reason: str
    code: str

    def __str__(self) -> str:
        return f"{self.reason} ({self.code})"


class DatabaseBusy(RuntimeError):
    """A write transaction could not start within the busy timeout (SQLite)."""


def storage_outage(exc: BaseException) -> Outage | None:
    """The outage ``exc`` (or an exception it was raised from) reports, or None: a bug.

    A socket error counts only when no Telegram call is in the chain (python-telegram-bot
    wraps its own network failures, whose causes are socket errors too)."""
    chain = _chain(exc)
    for error in chain:
        found = _coded(error)
        if found is not None:
            return found
    if any(type(error).__module__.startswith("telegram") for error in chain):
        return None
    for error in chain:
        if isinstance(error, OSError) and error.errno in _SOCKET_ERRNOS:
            return Outage("connection failed", errno.errorcode.get(error.errno or 0, "OSError"))
        if isinstance(error, ConnectionError | TimeoutError):
            return Outage("connection failed", type(error).__name__)
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or wraps, each once."""
    seen: dict[int, BaseException] = {}
    pending: list[object] = [exc]
    while pending and len(seen) < 32:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen[id(error)] = error
        pending.extend((getattr(error, "orig", None), error.__cause__, error.__context__))
    return list(seen.values())


def _coded(error: BaseException) -> Outage | None:
    if isinstance(error, DatabaseBusy):
        return Outage("database busy", "SQLITE_BUSY")
    if isinstance(error, PoolTimeout):
        return Outage("no database connection free", "pool timeout")
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return Outage("connection dropped", "disconnect")
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        reason = _SQLITE_CODES.get(code & 0xFF)
        if reason is not None:
            return Outage(reason, str(getattr(error, "sqlite_errorname", code)))
        if isinstance(error, sqlite3.OperationalError) and str(error).startswith("no such table"):
            return Outage("schema missing", "SQLITE_ERROR")
        return None
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(state, str) and len(state) == 5:
        reason = _PG_CODES.get(state) or _PG_CLASSES.get(state[:2])
        return Outage(reason, state) if reason is not None else None
    return None


@dataclass
class _Tries:
    first: float
    count: int = 0


@dataclass
class StorageWatch:
    """What this process knows about storage right now (one per ``Database``)."""

    attempts_bound: int = SET_ASIDE_AFTER_ATTEMPTS
    seconds_bound: float = SET_ASIDE_AFTER_SECONDS
    outage: Outage | None = None
    since: float | None = None  # time.monotonic() of the current outage's first failure
    told: set[int] = field(default_factory=set)  # chats told to wait during this outage
    answered: set[int] = field(default_factory=set)  # updates whose safety reply went out
    _tries: OrderedDict[int, _Tries] = field(default_factory=OrderedDict)

    def failed(self, outage: Outage) -> None:
        """Storage failed with ``outage`` just now."""
        if self.outage is None:
            self.since = time.monotonic()
        self.outage = outage

    def wrote(self) -> None:
        """A write went through: whatever was wrong is over."""
        if self.outage is None:
            return
        self.outage = None
        self.since = None
        self.told.clear()

    def state(self) -> str:
        """ "ok", or what is wrong and for how long (``/healthz``)."""
        if self.outage is None or self.since is None:
            return "ok"
        return f"{self.outage} for {time.monotonic() - self.since:.0f}s"

    def first_word(self, chat_id: int) -> bool:
        """Whether this chat is to be told, now, that Closer cannot save (once per outage)."""
        if chat_id in self.told:
            return False
        self.told.add(chat_id)
        return True

    def tried(self, update_id: int) -> bool:
        """Count a try of ``update_id`` that met an outage; True when it is past the bound."""
        now = time.monotonic()
        tries = self._tries.get(update_id)
        if tries is None:
            tries = self._tries[update_id] = _Tries(now)
            while len(self._tries) > _KEEP_UPDATES:
                self._tries.popitem(last=False)
        tries.count += 1
        return tries.count >= self.attempts_bound and now - tries.first >= self.seconds_bound

    def done(self, update_id: int) -> None:
        """``update_id`` took effect (or was set aside): forget its tries."""
        if self._tries:
            self._tries.pop(update_id, None)
        if self.answered:
            self.answered.discard(update_id)

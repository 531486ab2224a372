"""The Database: one async engine and one transaction per use case, on SQLite or PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout. SQLAlchemy, not the sqlite3
driver, emits BEGIN: write transactions start with ``BEGIN IMMEDIATE`` so they take the write lock
up front and wait for it (busy_timeout) instead of failing with "database is locked" when a
read-then-write transaction tries to upgrade its lock; read-only transactions use a plain
``BEGIN`` with ``PRAGMA query_only`` so an accidental write fails loudly. On PostgreSQL read-only
transactions are ``READ ONLY``. Note that PostgreSQL runs READ COMMITTED: a read-then-write use
case there needs ``SELECT ... FOR UPDATE`` (``with_for_update()``, ignored by SQLite) or an atomic
``UPDATE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Concatenate, Final, Literal, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from bot.logs import get_logger
from bot.storage.outage import DatabaseBusy, StorageWatch, storage_outage

log = get_logger(__name__)

DialectName = Literal["sqlite", "postgresql"]
P = ParamSpec("P")
T = TypeVar("T")

SQLITE_DRIVER: Final = "sqlite+aiosqlite"
SQLITE_SYNC_DRIVER: Final = "sqlite+pysqlite"
POSTGRESQL_DRIVER: Final = "postgresql+asyncpg"
SQLITE_BUSY_TIMEOUT_MS: Final = 5000
CHECKPOINT_EVERY: Final = 200
"""``Database.run``'s write transactions between WAL checkpoints (a press writes about five
pages; SQLite's own automatic checkpoint comes at 1,000)."""
SQLITE_PRAGMAS: Final = (
    # busy_timeout first: switching to WAL may have to wait for another connection.
    f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    # /forget and note erasure overwrite the freed bytes with zeros instead of leaving them in
    # free pages (builds without SQLITE_SECURE_DELETE default to OFF).
    "PRAGMA secure_delete = ON",
)


def sqlite_url(path: str | PathLike[str]) -> str:
    """The async SQLAlchemy URL of the SQLite file at ``path`` (made absolute)."""
    return f"{SQLITE_DRIVER}:///{Path(path).expanduser().resolve().as_posix()}"


def async_url(url: str | URL) -> URL:
    """``url`` with the async driver of its backend: aiosqlite or asyncpg.

    Accepts ``sqlite:///file``, ``postgresql://...`` (and ``postgres://``), with or without a
    driver; raises ValueError for any other backend.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername=SQLITE_DRIVER)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername=POSTGRESQL_DRIVER)
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def _server_settings(options: str) -> dict[str, str]:
    """Parse libpq's ``options`` (``-c name=value`` ...) into asyncpg's server_settings."""
    settings: dict[str, str] = {}
    words = shlex.split(options)
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-c" and index + 1 < len(words):
            index += 1
            assignment = words[index]
        elif word.startswith(("-c", "--")):
            assignment = word[2:]
        else:
            raise ValueError(f"unsupported PostgreSQL option {word!r} in the database URL")
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise ValueError(f"malformed PostgreSQL option {assignment!r} in the database URL")
        settings[name.replace("-", "_")] = value
        index += 1
    return settings


# How long ``Database.run`` sleeps between tries when SQLite is locked: short at first, as
# SQLite's own busy handler does, and up to the busy timeout in all.
_BUSY_PAUSES: Final = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, *(0.1,) * 60)
_STILL_LOCKED: Final = "the database stayed locked for the busy timeout"


def _is_busy(exc: Exception) -> bool:
    """SQLITE_BUSY: another connection holds the lock (``exc`` as SQLAlchemy wraps it, or as the
    sqlite3 driver raised it, as a BEGIN does). Not SQLITE_LOCKED: that is a conflict within
    one connection, which waiting does not clear."""
    name = getattr(getattr(exc, "orig", exc), "sqlite_errorname", "")
    return isinstance(name, str) and name.startswith("SQLITE_BUSY")


@dataclass
class TransactionCount:
    """Transactions opened through ``Database.transaction``, by mode (for tests and benches)."""

    read: int = 0
    write: int = 0


class Database:
    """The engines, and one transaction per use case run whole: ``db.run`` / ``db.run_read``."""

    def __init__(
        self, url: str | URL, *, echo: bool = False, disk_full_file: Path | None = None
    ) -> None:
        """``disk_full_file`` (tests only): while that file exists, a SQLite database cannot
        grow, as on a full disk (``PRAGMA max_page_count``, set per write transaction)."""
        self.watch = StorageWatch()  # what is known about storage right now (bot.storage.outage)
        parsed = async_url(url)
        connect_args: dict[str, Any] = {}
        engine_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            self._dialect: DialectName = "sqlite"
            database = parsed.database
            if not database or database == ":memory:" or "mode=memory" in database:
                # One shared connection cannot hold concurrent transactions.
                raise ValueError("Closer needs a SQLite file, not an in-memory database")
            if not parsed.query.get("uri"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        else:
            self._dialect = "postgresql"
            options = parsed.query.get("options")
            if options is not None:
                if not isinstance(options, str):
                    raise ValueError("give the PostgreSQL 'options' parameter once")
                connect_args["server_settings"] = _server_settings(options)
                parsed = parsed.difference_update_query(["options"])
            engine_args["pool_pre_ping"] = True
        self._url = parsed

        def engine() -> AsyncEngine:
            return create_async_engine(
                parsed,
                echo=echo,
                connect_args=connect_args,
                # Exception texts must not carry parameters: they can hold a user's note.
                hide_parameters=True,
                **engine_args,
            )

        self._engine = engine()
        self._read_engine = self._engine
        # SQLite: the synchronous engines of ``run`` and ``run_read`` (no busy wait: see _run).
        self._sync_engines: dict[bool, Engine] = {}
        # One connection each, held: a ``run`` never awaits inside its transaction, so no two
        # can use one at once, and the pool's checkout and reset are not paid per transaction.
        self._held: dict[bool, Connection] = {}
        if self._dialect == "sqlite":
            # Reads get connections of their own, read-only for good (PRAGMA query_only at
            # connect): a pooled connection that alternated would toggle it, two more
            # statements per transaction, each a hop to the driver's thread.
            self._read_engine = engine()
            _install_sqlite_hooks(self._engine.sync_engine, write=True, full=disk_full_file)
            _install_sqlite_hooks(self._read_engine.sync_engine, write=False)
            for write in (True, False):
                sync = create_engine(
                    parsed.set(drivername=SQLITE_SYNC_DRIVER),
                    echo=echo,
                    hide_parameters=True,
                    connect_args={"check_same_thread": False},
                )
                _install_sqlite_hooks(
                    sync, write=write, wait=False, full=disk_full_file if write else None
                )
                self._sync_engines[write] = sync
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self._read_engine, expire_on_commit=False)
        self.transactions = TransactionCount()
        self.checkpoints = 0  # WAL checkpoints run for ``run``'s writes (SQLite; see _checkpoint)
        self._unchecked_writes = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._write_turns = asyncio.Lock() if self._dialect == "sqlite" else None

    @property
    def url(self) -> str:
        """The async SQLAlchemy URL in use (it may hold a password: do not log it)."""
        return self._url.render_as_string(hide_password=False)

    @property
    def dialect(self) -> DialectName:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._dialect

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for migrations and tests."""
        return self._engine

    def __repr__(self) -> str:
        return f"Database({self._url.render_as_string(hide_password=True)!r})"

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """One transaction on an AsyncSession: commits when the block ends, rolls back if it
        raises. ``write=False``: read-only (no write lock on SQLite; writes fail).

        The application changes state only through ``run`` (use cases through
        ``bot.storage.uow.Transactions``); this is for migrations, tests and ``run`` itself on
        PostgreSQL. Do not open a write transaction inside another one: on SQLite the inner one
        would wait for the outer one's lock until busy_timeout and fail.
        """
        if write:
            self.transactions.write += 1
        else:
            self.transactions.read += 1
        sessions = self._sessions if write else self._read_sessions
        async with self._writer(write), sessions() as session, session.begin():
            # Procure the connection now so BEGIN carries the right mode.
            await session.connection(execution_options=self._transaction_options(write))
            yield session

    async def run(
        self,
        work: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(connection, *args)`` as one write transaction, run whole.

        ``run_read`` is the read-only twin. ``work`` is synchronous and Core only, so a
        transaction costs no hop per statement: on SQLite it runs on the sqlite3 driver right
        here, the way a typical bot uses sqlite3 (a worker thread cost more CPU than the
        transaction itself); on PostgreSQL it runs on the async connection through
        ``run_sync``. Commits when ``work`` returns, rolls back if it raises.

        SQLite's busy handler would block the event loop while another process writes, so
        these connections do not wait: a transaction that meets a lock is rolled back and run
        again after an asynchronous sleep, for up to the busy timeout (then DatabaseBusy).
        ``work`` must therefore have no effect but its statements.
        """
        return await self._run(True, work, *args, **kwargs)

    async def run_read(
        self,
        work: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(connection, *args)`` as one read-only transaction, run whole (see ``run``)."""
        return await self._run(False, work, *args, **kwargs)

    async def run_batch(
        self,
        work: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(connection, *args)`` as one write transaction, each statement awaited (on
        SQLite through aiosqlite's thread): for the dispatcher's batches, whose hundreds of
        rows would hold up the event loop (a press, a signal) if run whole on its thread. The
        same as ``run`` on PostgreSQL."""
        async with self.transaction(write=True) as session:
            connection = await session.connection()
            return await connection.run_sync(work, *args, **kwargs)

    async def _run(
        self,
        write: bool,
        work: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        try:
            try:
                result = await self._run_once(write, work, *args, **kwargs)
            except Exception as exc:
                # A pooled connection the server dropped (a restart, a failover, a cut): the
                # transaction was rolled back with it, so it runs again once on a new one.
                if not _dropped(exc):
                    raise
                result = await self._run_once(write, work, *args, **kwargs)
        except Exception as exc:
            outage = storage_outage(exc)
            if outage is not None:
                self.watch.failed(outage)
            raise
        if write:
            self.watch.wrote()
        return result

    async def _run_once(
        self,
        write: bool,
        work: Callable[Concatenate[Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        engine = self._sync_engines.get(write)
        if engine is None:  # PostgreSQL: the async connection runs it through run_sync
            async with self.transaction(write=write) as session:
                connection = await session.connection()
                return await connection.run_sync(work, *args, **kwargs)
        if write:
            self.transactions.write += 1
        else:
            self.transactions.read += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000  # the turn's wait included
        async with self._writer(write):
            for pause in _BUSY_PAUSES:
                try:
                    held = self._held.get(write)
                    if held is None or held.closed:
                        held = self._held[write] = engine.connect()
                    with held.begin():
                        result = work(held, *args, **kwargs)
                    if write:
                        self._wrote()
                    return result
                except (OperationalError, sqlite3.OperationalError) as exc:
                    if not _is_busy(exc):
                        raise
                    if loop.time() + pause > deadline:
                        raise DatabaseBusy(_STILL_LOCKED) from exc
                await asyncio.sleep(pause)
            raise DatabaseBusy(_STILL_LOCKED)

    def _wrote(self) -> None:
        """Count a write committed by ``run``; every CHECKPOINT_EVERY, checkpoint the WAL in a
        worker thread. ``run``'s connections have SQLite's automatic checkpoint off: it runs
        inside the commit that crosses 1,000 pages and, in the loop's thread, stalled it for
        up to 70 ms every few hundred presses."""
        self._unchecked_writes += 1
        running = self._checkpointing
        if self._unchecked_writes < CHECKPOINT_EVERY or (running and not running.done()):
            return
        self._unchecked_writes = 0
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._checkpoint))
        task.add_done_callback(self._checkpointed)
        self._checkpointing = task

    def _checkpointed(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            self.checkpoints += 1
        else:  # the next one tries again; SQLite's own checkpoints still run on other writes
            log.warning("wal_checkpoint_failed", error=type(error).__name__)

    def _checkpoint(self) -> None:
        """A passive checkpoint on a connection of its own: it waits for no reader or writer."""
        connection = self._sync_engines[True].raw_connection()  # no BEGIN: none may be open
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cursor.close()
        finally:
            connection.close()

    @asynccontextmanager
    async def _writer(self, write: bool) -> AsyncIterator[None]:
        """On SQLite, this process's write transactions take turns on an asyncio lock before
        ``BEGIN IMMEDIATE``: SQLite has one writer anyway, and a writer waiting in SQLite's
        busy handler sleeps in steps of up to 100 ms, which capped concurrent presses at about
        a hundred a second. Other processes still meet SQLite's busy timeout; the wait for a
        turn has the same limit, so a write opened inside another fails as it did, rather than
        waiting for ever."""
        turns = self._write_turns
        if not write or turns is None:
            yield
            return
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
                await turns.acquire()
        except TimeoutError:
            raise DatabaseBusy("no turn to write within the busy timeout") from None
        try:
            yield
        finally:
            turns.release()

    async def ping(self) -> None:
        """A trivial query on a read connection; raises when the database does not answer."""
        async with self._read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    def _transaction_options(self, write: bool) -> Mapping[str, Any]:
        if self._dialect == "sqlite":
            return {}
        return {"postgresql_readonly": not write}

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()
        if self._read_engine is not self._engine:
            await self._read_engine.dispose()
        checkpointing, self._checkpointing = self._checkpointing, None
        if checkpointing is not None:
            with contextlib.suppress(Exception):
                await checkpointing
        held, self._held = self._held, {}
        for connection in held.values():
            connection.close()
        for sync in self._sync_engines.values():
            sync.dispose()


def _dropped(exc: Exception) -> bool:
    """The connection was lost under the transaction (not: the server refuses new ones)."""
    outage = storage_outage(exc)
    return outage is not None and (
        outage.code in ("disconnect", "57P01", "57P02") or outage.code.startswith("08")
    )


_MAX_PAGES: Final = 4294967294  # SQLite's largest max_page_count


def _install_sqlite_hooks(
    engine: Engine, *, write: bool, wait: bool = True, full: Path | None = None
) -> None:
    """``write``: the engine of write transactions (``BEGIN IMMEDIATE``; also migrations and
    plain ``engine.begin()`` blocks); otherwise of read-only ones (``BEGIN``, query_only).
    ``wait=False``: after connecting, a lock is met at once with SQLITE_BUSY (busy_timeout 0).
    ``full`` (tests only): while this file exists, the database cannot grow (a full disk)."""
    pragmas: tuple[str, ...] = (
        SQLITE_PRAGMAS if write else (*SQLITE_PRAGMAS, "PRAGMA query_only = ON")
    )
    if not wait:  # from the first pragma on: a connect in the loop's thread must not wait either
        pragmas = (
            "PRAGMA busy_timeout = 0",
            *(pragma for pragma in pragmas if "busy_timeout" not in pragma),
            "PRAGMA wal_autocheckpoint = 0",
        )
    begin = "BEGIN IMMEDIATE" if write else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from issuing BEGIN itself; _on_begin does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if full is not None:  # SQLite keeps max_page_count at least the current size
            pragma = f"PRAGMA max_page_count = {1 if full.exists() else _MAX_PAGES}"
            if wait:
                connection.exec_driver_sql(pragma)
            else:
                connection.connection.driver_connection.execute(pragma)  # type: ignore[union-attr]
        if wait:
            connection.exec_driver_sql(begin)
        else:  # the sqlite3 driver's own connection: no SQLAlchemy execution around a BEGIN
            connection.connection.driver_connection.execute(begin)  # type: ignore[union-attr]


class Repository:
    """Data access over one transaction's ORM session (``Tx.session``). Never commits.

    ``_conn()`` is the same transaction's connection for the Core functions that the press
    path runs directly, with the session's pending changes flushed first.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def _conn(self) -> Connection:
        self._session.flush()
        return self._session.connection()


# -- errors met opening, migrating or writing the database, told in one line -------------------

# PostgreSQL error codes (SQLSTATE) of a connection that cannot be made as configured.
_PG_PROBLEMS: Final = {
    "28P01": "refused the password of user {user}: fix the password in DATABASE_URL",
    "28000": "refused user {user} (no such role, or not allowed to connect): fix DATABASE_URL",
    "3D000": "has no database {database}: create it (`createdb {database}`) or fix DATABASE_URL",
    "42501": "denied user {user} a permission Closer needs: grant it or use another user",
    "53300": "has no connection slot left: try again, or raise max_connections",
    "57P03": "is starting up or shutting down: try again in a moment",
}
# SQLite result codes (Python 3.11's sqlite_errorname) and what to do about them.
_SQLITE_PROBLEMS: Final = {
    "SQLITE_CANTOPEN": "cannot be opened or created: make sure its folder exists and Closer may "
    "write there (set DATA_DIR or DATABASE_URL)",
    "SQLITE_READONLY": "is read-only: give Closer write access to the file and its folder (the "
    "-wal and -shm files live beside it)",
    "SQLITE_NOTADB": "is not a SQLite database: point DATABASE_URL or DATA_DIR elsewhere",
    "SQLITE_CORRUPT": "is damaged: restore it from a backup",
    "SQLITE_FULL": "cannot grow: the disk is full",
    "SQLITE_IOERR": "cannot be read or written (an I/O error): check the disk and the folder",
    "SQLITE_PERM": "may not be written: give Closer write access to the file and its folder",
    "SQLITE_AUTH": "may not be written: give Closer write access to the file and its folder",
}


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it was raised from or while handling, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and not any(current is e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def describe_database_error(exc: BaseException, url: str | URL) -> str | None:
    """One line naming what to fix, for an error met opening, migrating or writing the
    database at ``url``; None when ``exc`` is not such an error. Never holds the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _describe_sqlite(exc, parsed)
    return _describe_postgresql(exc, parsed)


def _describe_sqlite(exc: BaseException, url: URL) -> str | None:
    path = url.database or ""
    for error in _chain(exc):
        name = getattr(error, "sqlite_errorname", None)
        if isinstance(name, str):
            # Extended codes ("SQLITE_READONLY_DBMOVED") share their primary code's advice.
            problem = _SQLITE_PROBLEMS.get("_".join(name.split("_")[:2]))
            if problem is not None:
                return f"the SQLite database {path} {problem}"
        if isinstance(error, OSError) and error.filename is not None:
            reason = error.strerror or type(error).__name__
            return (
                f"cannot use {error.filename} for the SQLite database ({reason}): set DATA_DIR "
                "or DATABASE_URL to a folder Closer may write to"
            )
    return None


def _describe_postgresql(exc: BaseException, url: URL) -> str | None:
    where = f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}"
    fields = {"user": repr(url.username or ""), "database": repr(url.database or "")}
    for error in _chain(exc):
        code = getattr(error, "sqlstate", None)
        if isinstance(code, str) and code in _PG_PROBLEMS:
            return f"{where} {_PG_PROBLEMS[code].format(**fields)}"
    for error in _chain(exc):
        code = getattr(error, "sqlstate", None)
        if isinstance(error, ConnectionRefusedError):
            return (
                f"cannot connect to {where} (connection refused): start the server or fix "
                "DATABASE_URL"
            )
        if isinstance(error, socket.gaierror):
            return f"cannot find the host of {where}: fix the host in DATABASE_URL"
        if isinstance(error, TimeoutError):
            return f"{where} did not answer in time: check the server and DATABASE_URL"
        if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
            reason = error.strerror or type(error).__name__
            return f"cannot connect to {where} ({reason}): check the server and DATABASE_URL"
        if isinstance(code, str) and code.startswith("08"):  # connection exceptions
            return f"{where} dropped the connection (error {code}): check the server"
    return None

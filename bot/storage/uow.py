"""The one way to change state: a use case is a synchronous function of a ``Tx``, run whole.

::

    def pause(tx: Tx, user_id: int, until: datetime) -> ...:
        ...  # tx.users, tx.nudges, tx.progress ...; tx.conn for Core statements

    result = await transactions.write(pause, user_id, until)

``Transactions.read`` runs a read-only transaction, ``write`` a write transaction; a use case is
read-only unless it says it writes. Each runs through ``Database.run``: on SQLite on the
sqlite3 driver in the event loop's thread, on PostgreSQL through ``run_sync`` on the async
connection. Nothing inside may await, so a transaction never spans a Telegram call: a use case
decides and writes, returns what to say, and the caller says it after the commit.

Repositories that change a schedule input (settings, pause, onboarding, blocked, the back-off)
mark that user's plan stale; before commit the transaction replans those users' outbox rows
(``replan_users``) in the same transaction. So the next nudge follows a change by construction,
atomically with it, and a transaction that changes nothing the schedule reads costs no replan.

Each update takes effect once: while one is handled, its first write records its ``update_id``
in the same transaction (``bot.storage.handled``), and a second delivery writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from bot.storage.checkins import CheckinRepository
from bot.storage.db import Database
from bot.storage.handled import HANDLING, AlreadyHandled, was_handled
from bot.storage.handled import record as record_handled
from bot.storage.journal import JournalRepository
from bot.storage.planning import replan_users
from bot.storage.progress import NudgeRepository, ProgressRepository
from bot.storage.reports import ReportRepository
from bot.storage.repositories import UserRepository, UserSnapshot
from bot.storage.timers import TimerRepository

P = ParamSpec("P")
T = TypeVar("T")


class ReadOnlyWork(RuntimeError):
    """A schedule input was changed in a read-only transaction."""


class Tx:
    """One transaction as a use case sees it: its connection, its moment, its repositories.

    ``conn`` is for Core statements (the press path's functions take it); the repositories
    share an ORM session on the same connection, made only when one is first used.
    """

    def __init__(self, connection: Connection, now: datetime, *, write: bool) -> None:
        self._connection = connection
        self.now = now
        self.write = write
        self.user: UserSnapshot | None = None
        self._stale: set[int] = set()
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The ORM session of this transaction (it never commits: the runner does)."""
        if self._session is None:
            self._session = Session(
                bind=self._connection,
                join_transaction_mode="rollback_only",
                expire_on_commit=False,
            )
        return self._session

    @property
    def conn(self) -> Connection:
        """The transaction's connection, with the session's pending changes written first."""
        if self._session is not None:
            self._session.flush()
        return self._connection

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.session, self.schedule_changed)

    @cached_property
    def nudges(self) -> NudgeRepository:
        return NudgeRepository(self.session)

    @cached_property
    def progress(self) -> ProgressRepository:
        return ProgressRepository(self.session)

    @cached_property
    def journal(self) -> JournalRepository:
        return JournalRepository(self.session)

    @cached_property
    def checkins(self) -> CheckinRepository:
        return CheckinRepository(self.session)

    @cached_property
    def reports(self) -> ReportRepository:
        return ReportRepository(self.session)

    @cached_property
    def timers(self) -> TimerRepository:
        return TimerRepository(self.session)

    def schedule_changed(self, user_id: int) -> None:
        """This user's schedule inputs changed: replan them before commit."""
        if not self.write:
            raise ReadOnlyWork("a schedule input changed in a read-only transaction")
        self._stale.add(user_id)

    def bring_plans_in_line(self) -> None:
        """Replan every user marked stale (done before commit; callable earlier)."""
        if self._stale:
            stale, self._stale = self._stale, set()
            replan_users(self.conn, stale, self.now)

    def _finish(self) -> None:
        self.bring_plans_in_line()
        if self._session is not None:
            self._session.flush()
            self._session.close()


class Transactions:
    """Runs use cases, each as one transaction: ``read`` (the default) or ``write``.

    While an update is handled (``bot.storage.handled.HANDLING``), its first write records the
    update as handled in the same transaction, and raises ``AlreadyHandled`` (having written
    nothing) when it was handled before or is being handled elsewhere; its first read raises
    it when the update was handled before (so a re-delivered note is not read as new text);
    ``read_once`` is a read that records, for one whose answer starts something (an export,
    a question asked). A set-aside update replayed (``Handling.replay``) is never refused.
    """

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        noted: Callable[[int, str | None], None] | None = None,
    ) -> None:
        """``noted(telegram_id, language)``: called with her language after every transaction
        that loaded her row (``tx.user``), so the language of the next update is known."""
        self.db = db
        self.clock = clock
        self._noted = noted

    async def read(
        self, work: Callable[Concatenate[Tx, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``work(tx, *args)`` in a read-only transaction (the first one of an update's handling
        also checks that it was not handled before: a cheap look-up by key)."""
        current = HANDLING.get()
        if current is None or current.recorded or current.checked:
            return await self.db.run_read(self._whole, False, None, work, args, kwargs)
        if current.refused:
            raise AlreadyHandled(current.update_id)
        if current.replay:  # run again on purpose: recorded or not, it goes through
            return await self.db.run_read(self._whole, False, None, work, args, kwargs)
        try:
            result = await self.db.run_read(
                self._whole, False, current.update_id, work, args, kwargs
            )
        except AlreadyHandled:
            current.refused = True
            raise
        current.checked = True
        return result

    async def write(
        self, work: Callable[Concatenate[Tx, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``work(tx, *args)`` in a write transaction, plans brought in line before commit."""
        return await self._write(work, args, kwargs)

    async def read_once(
        self, work: Callable[Concatenate[Tx, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``work(tx, *args)`` for an update whose answer must not go out twice (it starts
        something: an export, /log's question, the baseline polls): while an update is handled
        and not yet recorded, run in a write transaction that records it; else a read."""
        current = HANDLING.get()
        if current is None or current.recorded:
            return await self.read(work, *args, **kwargs)
        return await self._write(work, args, kwargs)

    async def _write(
        self, work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        current = HANDLING.get()
        if current is None or current.recorded:
            return await self.db.run(self._whole, True, None, work, args, kwargs)
        if current.refused:
            raise AlreadyHandled(current.update_id)
        replay = current.replay
        try:
            result = await self.db.run(
                self._replayed if replay else self._whole,
                True,
                current.update_id,
                work,
                args,
                kwargs,
            )
        except AlreadyHandled:
            current.refused = True
            raise
        current.recorded = True
        return result

    def _replayed(
        self,
        connection: Connection,
        write: bool,
        update_id: int,
        work: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        """A set-aside update run again: recorded as handled if it was not, never refused (a
        transaction of its first handling may have committed before the bug struck)."""
        record_handled(connection, update_id, self.clock())
        return self._whole(connection, write, None, work, args, kwargs)

    def _whole(
        self,
        connection: Connection,
        write: bool,
        update_id: int | None,
        work: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        now = self.clock()
        if update_id is not None:
            # A write records the update first (rolled back with the rest if it was there);
            # a read only looks.
            if write and not record_handled(connection, update_id, now):
                raise AlreadyHandled(update_id)
            if not write and was_handled(connection, update_id):
                raise AlreadyHandled(update_id)
        tx = Tx(connection, now, write=write)
        result = work(tx, *args, **kwargs)
        tx._finish()
        if tx.user is not None and self._noted is not None:
            self._noted(tx.user.telegram_id, tx.user.language)
        return result

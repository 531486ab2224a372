"""One unit of work per update: one transaction, repositories over it, the plan kept in line.

A handler opens one (``Services.work``), reads and writes through its repositories, and makes
its Telegram calls after the block, once the transaction has committed::

    async with context.services.work(update, write=True) as work:
        ...  # work.user (loaded once), work.users, work.nudges, work.progress ...
    await reply(...)

``write=False`` opens a read-only transaction (no write lock on SQLite). Repositories that change
a schedule input (settings, pause, onboarding, blocked, the back-off) mark that user's
plan stale; before commit the unit of work replans those users' outbox rows in the same
transaction (``replan_users``). So the next nudge follows a change by construction, atomically
with it, and an update that changes nothing the schedule reads costs no replan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.checkins import CheckinRepository
from bot.storage.db import Database
from bot.storage.journal import JournalRepository
from bot.storage.planning import replan_users
from bot.storage.progress import NudgeRepository, ProgressRepository
from bot.storage.reports import ReportRepository
from bot.storage.repositories import UserRepository, UserSnapshot
from bot.storage.timers import TimerRepository


class ReadOnlyWork(RuntimeError):
    """A schedule input was changed in a read-only unit of work."""


class UnitOfWork:
    """The repositories of one transaction, and the users whose plan must be brought in line."""

    def __init__(self, session: AsyncSession, now: datetime, *, write: bool) -> None:
        self.session = session
        self.now = now
        self.write = write
        self.user: UserSnapshot | None = None
        self._stale: set[int] = set()
        self.users = UserRepository(session, self.schedule_changed)
        self.nudges = NudgeRepository(session)
        self.progress = ProgressRepository(session)
        self.journal = JournalRepository(session)
        self.checkins = CheckinRepository(session)
        self.reports = ReportRepository(session)
        self.timers = TimerRepository(session)

    def schedule_changed(self, user_id: int) -> None:
        """This user's schedule inputs changed: replan them before commit."""
        if not self.write:
            raise ReadOnlyWork("a schedule input changed in a read-only unit of work")
        self._stale.add(user_id)

    async def bring_plans_in_line(self) -> None:
        """Replan every user marked stale (done at commit; callable earlier)."""
        if self._stale:
            stale, self._stale = self._stale, set()
            await replan_users(self.session, stale, self.now)


@asynccontextmanager
async def unit_of_work(
    db: Database, now: datetime, *, write: bool, telegram_id: int | None = None
) -> AsyncIterator[UnitOfWork]:
    """Open one transaction; ``telegram_id``: load that user first (``work.user``).

    Commits when the block ends (after replanning what it marked stale), rolls back if it raises.
    """
    async with db.transaction(write=write) as session:
        work = UnitOfWork(session, now, write=write)
        if telegram_id is not None:
            work.user = await work.users.get_by_telegram_id(telegram_id)
        yield work
        await work.bring_plans_in_line()

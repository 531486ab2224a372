"""A bot on the stand-in with a dispatcher ticked by hand on a ManualClock.

Updates are fetched through the real request layer (getUpdates on the stand-in) and processed
with ``Application.process_update``, so a step of a test ends only when every handler group has
finished; the dispatcher is ticked directly and the clock jumps to each due time. Nothing sleeps.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import ContextTypes

from bot.app import build_application
from bot.config import Settings
from bot.context import CloserApplication
from bot.delivery import build_dispatcher
from bot.services import Services
from bot.standin import ChatMessage, StandInRequest, TelegramStandIn, UserActor
from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from bot.storage.outbox import earliest_due
from content import load_library
from scheduler.clock import ManualClock
from scheduler.dispatcher import Dispatcher, TickReport

os.environ["PTB_TIMEDELTA"] = "1"

TOKEN = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
MONDAY = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday, before a 09:00 slot


@dataclass
class Harness:
    clock: ManualClock
    standin: TelegramStandIn
    db: Database
    services: Services
    app: CloserApplication
    dispatcher: Dispatcher
    errors: list[object] = field(default_factory=list)
    reports: list[TickReport] = field(default_factory=list)
    _offset: int = 0

    async def pump(self) -> int:
        """Fetch and fully process every pending update; how many there were."""
        done = 0
        while True:
            updates = await self.app.bot.get_updates(offset=self._offset, timeout=0)
            if not updates:
                break
            for update in updates:
                await self.app.process_update(update)
                self._offset = update.update_id + 1
                done += 1
        assert not self.errors, f"handler errors: {self.errors!r}"
        return done

    async def act(self, user: UserActor, text: str) -> None:
        await user.send(text)
        await self.pump()

    async def press(self, user: UserActor, label: str, message_id: int | None = None) -> None:
        await user.press(label, message_id)
        await self.pump()

    async def tick(self) -> TickReport:
        report = await self.dispatcher.tick()
        self.reports.append(report)
        return report

    async def next_due(self) -> datetime | None:
        return await self.db.run_read(earliest_due)

    async def run_until(self, moment: datetime) -> None:
        """Let time pass until ``moment``, ticking the dispatcher at every due time on the way."""
        while True:
            await self.pump()
            due = await self.next_due()
            if due is None or due > moment:
                break
            if due > self.clock.now():
                self.clock.set(due)
            await self.tick()
        if moment > self.clock.now():
            self.clock.set(moment)
        await self.tick()
        await self.pump()

    async def rows(self, user_telegram_id: int | None = None) -> list[OutboxMessage]:
        async with self.db.transaction(write=False) as session:
            statement = select(OutboxMessage).order_by(OutboxMessage.id)
            return list(await session.scalars(statement))


def bot_messages(user: UserActor, since: datetime | None = None) -> list[ChatMessage]:
    return [m for m in user.messages if since is None or m.date >= since]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY)


@pytest.fixture
def standin(clock: ManualClock) -> TelegramStandIn:
    return TelegramStandIn(TOKEN, clock=clock, monotonic=clock.monotonic)


async def make_harness(
    standin: TelegramStandIn,
    db: Database,
    clock: ManualClock,
    *,
    rate_limit: bool = True,
    batch_size: int = 100,
    owner: str | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    config = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        database_url=db.url,
        **settings,
    )
    services = Services(settings=config, db=db, library=load_library(), clock=clock)
    app = build_application(
        services, request=StandInRequest(standin), updates_request=StandInRequest(standin)
    )
    errors: list[object] = []

    async def record_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)

    app.add_error_handler(record_error)
    dispatcher = build_dispatcher(
        app, services, real_clock=clock, rate_limit=rate_limit, batch_size=batch_size, owner=owner
    )
    async with app:
        await app.start()  # no updater: the harness fetches and processes updates itself
        try:
            yield Harness(clock, standin, db, services, app, dispatcher, errors)
        finally:
            await app.stop()


@pytest.fixture
async def harness(
    standin: TelegramStandIn, migrated_db: Database, clock: ManualClock
) -> AsyncIterator[Harness]:
    async for made in make_harness(standin, migrated_db, clock):
        yield made


@pytest.fixture
async def harness_on_any_db(
    standin: TelegramStandIn, migrated_any_db: Database, clock: ManualClock
) -> AsyncIterator[Harness]:
    """The harness on SQLite and on PostgreSQL."""
    async for made in make_harness(standin, migrated_any_db, clock):
        yield made


async def onboard(
    h: Harness,
    user: UserActor,
    *,
    zone: str = "UTC",
    time: str = "09:00",
    pace: str = "Steady (about 4 a week)",
) -> None:
    """Drive a new user through /start and the onboarding buttons."""
    await h.act(user, "/start")
    await h.press(user, zone)
    await h.press(user, time)
    await h.press(user, pace)


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def days(n: float) -> timedelta:
    return timedelta(days=n)

"""The real Closer Application, polling the Telegram stand-in, on a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import functools
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram.ext import ContextTypes

from bot import hearing, timezones
from bot.app import build_application, publish_commands
from bot.config import Settings
from bot.context import CloserApplication
from bot.handlers.setup import _city as zone_button_label
from bot.hearing import language
from bot.language import from_telegram
from bot.outreach import send_checkin
from bot.polling import UpdatePoller
from bot.services import Services
from bot.standin import ApiCall, StandInRequest, TelegramStandIn, UserActor
from bot.standin.models import ChatMessage
from bot.storage.checkins import store_sent
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import User, metadata
from bot.storage.repositories import UserSnapshot
from bot.timezones import COMMON_ZONES
from content import Library, default_library
from content.locales import default_locales
from scheduler.sending import Receipt
from tests.templates import copy_migrated_sqlite

os.environ["PTB_TIMEDELTA"] = "1"


class Clock:
    """A settable clock shared by the bot and the stand-in."""

    def __init__(self) -> None:
        self.now = dtm.datetime(2026, 3, 2, 10, 0, tzinfo=dtm.UTC)  # a Monday

    def __call__(self) -> dtm.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dtm.timedelta(**kwargs)


@dataclass
class Closer:
    """One running Closer: drive users, read calls, query the database."""

    standin: TelegramStandIn
    db: Database
    clock: Clock
    settings: Settings
    app: CloserApplication | None = None
    errors: list[BaseException] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _polling: asyncio.Task[None] | None = None

    def user(
        self, user_id: int = 1001, first_name: str = "Alex", language_code: str | None = "en"
    ) -> UserActor:
        return self.standin.user(
            user_id=user_id, first_name=first_name, language_code=language_code
        )

    @property
    def services(self) -> Services:
        assert self.app is not None
        services = self.app.bot_data["closer.services"]
        assert isinstance(services, Services)
        return services

    async def answered(self, query_id: str) -> ApiCall:
        """Wait until the bot answered this press; the answerCallbackQuery call."""
        return await self.standin.wait_for_call(
            "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id
        )

    async def press(self, user: UserActor, label: str, message_id: int | None = None) -> str:
        """Press a button and wait for the bot to finish handling it; the answer's text."""
        before = len(self.standin.calls)
        query_id = await user.press(label, message_id)
        call = await self.answered(query_id)
        await self.settle(before)
        return str(call.params.get("text") or "")

    async def settle(self, since: int = 0) -> None:
        """Wait until the bot has handled every update the stand-in has queued so far.

        Signalled, not polled: the poller confirms a batch (the next getUpdates offset) only
        once every update of it was handled, and every getUpdates wakes the stand-in's waiters.
        """
        del since
        try:
            await self.standin.wait_until(
                lambda: not self.standin.pending_updates and self._idle(), timeout=15
            )
        except TimeoutError:
            raise TimeoutError("the bot did not finish its updates within 15 s") from None

    def _idle(self) -> bool:
        return self.app is not None

    async def say(self, user: UserActor, text: str) -> ChatMessage:
        """Send a text and return the bot's next message."""
        await user.send(text)
        return await user.next_message()

    async def send_checkin(self, user: UserSnapshot, outbox_id: int | None = None) -> list[int]:
        """The weekly check-in as the dispatcher sends and records it: sent by
        ``bot.outreach.send_checkin`` onto a receipt, then stored as the record stores it
        (``store_sent``, for ``outbox_id``'s row if given); the polls' message ids."""
        assert self.app is not None
        receipt = Receipt()
        polls = await send_checkin(self.app.bot, self.services, user, receipt)
        await self.db.run(store_sent, [(user.id, outbox_id, receipt)], self.clock())
        return polls

    def words(self, user: UserActor) -> Library:
        """The content in the language a new user with ``user``'s Telegram gets."""
        return self.services.library_in(from_telegram(user.language_code))

    async def onboard(
        self,
        user: UserActor,
        zone: str = "UTC",
        time: str = "09:00",
        pace: str | None = None,
    ) -> ChatMessage:
        """Go through /start with buttons (labelled in her language); returns the first
        nudge. ``pace``: the label pressed (default: the steady pace's)."""
        await self.say(user, "/start")  # welcome
        await user.next_message()  # time-zone question
        zones = dict(COMMON_ZONES)
        if zone in zones:  # a city button: named in her language
            zone = zone_button_label(self.words(user), zone, zones[zone])
        await self.press(user, zone)
        await self.press(user, time)
        await self.press(user, pace or self.words(user).label("pace_steady"))
        await self.standin.wait_until(lambda: self._has_nudge(user), timeout=5)
        user.skip_messages()
        return await self.nudge_after(user)

    def _has_nudge(self, user: UserActor) -> bool:
        tried = self.words(user).label("label_tried_it")
        return any(label == tried for m in user.messages for row in m.keyboard for label, _ in row)

    async def nudge_menu(self, user: UserActor) -> ChatMessage:
        """The newest message with buttons."""
        for message in reversed(user.messages):
            if message.keyboard:
                return message
        raise AssertionError("no message with buttons in the chat")

    async def nudge_after(self, user: UserActor) -> ChatMessage:
        """The newest message with nudge buttons."""
        for message in reversed(user.messages):
            words = self.words(user)
            if any(
                label in (words.label("label_tried_it"), words.label("label_got_it"))
                for row in message.keyboard
                for label, _ in row
            ):
                return message
        raise AssertionError("no nudge in the chat")

    async def rows_of(self, telegram_id: int) -> dict[str, int]:
        """How many rows of this user every table of the metadata holds."""
        async with self.db.transaction(write=False) as session:
            user_id = await session.scalar(select(User.id).where(User.telegram_id == telegram_id))
            counts: dict[str, int] = {}
            for table in metadata.sorted_tables:
                column = table.c.id if table.name == "users" else table.c.get("user_id")
                if column is None or user_id is None:
                    continue
                counts[table.name] = int(
                    await session.scalar(
                        select(func.count()).select_from(table).where(column == user_id)
                    )
                    or 0
                )
            return counts

    async def start(self) -> None:
        services = Services(
            settings=self.settings, db=self.db, library=default_library(), clock=self.clock
        )
        app = build_application(
            services,
            request=StandInRequest(self.standin),
            updates_request=StandInRequest(self.standin),
        )

        async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert context.error is not None
            self.errors.append(context.error)

        app.add_error_handler(record)
        await app.initialize()
        await publish_commands(app)
        await app.start()
        # Closer's own poller, as `closer run` uses: an update is confirmed to the stand-in
        # only after it was handled, so "nothing pending" means "everything handled".
        self._stop = asyncio.Event()
        self._polling = asyncio.create_task(UpdatePoller(app, timeout=1).run(self._stop))
        self.app = app

    async def hold_polling(self) -> None:
        """Stop polling (what was handled is confirmed), the Application still running: what
        users do now stays pending in the stand-in until :meth:`resume_polling`."""
        self._stop.set()
        if self._polling is not None:
            await self._polling
            self._polling = None

    def resume_polling(self) -> None:
        assert self.app is not None and self._polling is None
        self._stop = asyncio.Event()
        self._polling = asyncio.create_task(UpdatePoller(self.app, timeout=1).run(self._stop))

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        self._stop.set()
        if self._polling is not None:
            await self._polling
        await app.stop()
        await app.shutdown()

    async def restart(self) -> None:
        """Stop the Application and build a brand-new one on the same database."""
        await self.stop()
        await self.start()


@functools.cache
def _warm_hearing() -> None:
    hearing.warm_up(default_locales())
    language.detector()


@contextlib.asynccontextmanager
async def running_closer(
    database_url: str, disk_full_file: Path | None = None
) -> AsyncIterator[Closer]:
    clock = Clock()
    standin = TelegramStandIn(clock=clock)
    settings = Settings(
        _env_file=None,
        telegram_bot_token=standin.token,
        database_url=database_url,
    )
    db = Database(settings.resolved_database_url, disk_full_file=disk_full_file)
    await upgrade(db)
    timezones.start_building()  # as `closer run` does at start-up: once per process
    # `closer run` warms the hearing lexicons at start-up too. Here it is done once per process
    # and waited for, with the language detector, so that no test's first message pays for it
    # (under load that took longer than a reply's 5 s wait).
    await asyncio.to_thread(_warm_hearing)
    harness = Closer(standin=standin, db=db, clock=clock, settings=settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        await db.dispose()
    assert not harness.errors, f"handler errors: {harness.errors!r}"


@pytest.fixture
async def closer(tmp_path: Any, migrated_sqlite_template: Path) -> AsyncIterator[Closer]:
    """Closer on a fresh SQLite file (a copy of the migrated template: the start-up's own
    migration then finds nothing to do)."""
    url = f"sqlite:///{tmp_path / 'closer.sqlite3'}"
    copy_migrated_sqlite(migrated_sqlite_template, url)
    async with running_closer(url) as harness:
        yield harness


@pytest.fixture
async def closer_on_postgres(postgres_url: str) -> AsyncIterator[Closer]:
    """Closer on the PostgreSQL server, in a schema of its own."""
    async with running_closer(postgres_url) as harness:
        yield harness


Factory = Callable[..., contextlib.AbstractAsyncContextManager[Closer]]

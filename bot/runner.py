"""Running Closer: migrate, build the Application, long-poll until told to stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from telegram.request import BaseRequest

from bot import timezones
from bot.app import build_application, publish_commands
from bot.config import Settings
from bot.context import SERVICES_KEY, CloserApplication
from bot.delivery import build_dispatcher, start_dispatching
from bot.logs import get_logger
from bot.polling import UpdatePoller, poll_exclusively
from bot.services import Services
from bot.storage.db import Database
from bot.storage.dispatch_store import SqlLease
from bot.storage.migrate import upgrade
from bot.storage.outbox import POLLER_LEASE_KEY
from bot.transport import make_requests
from content import load_library
from scheduler.clock import Clock, ScaledClock, SystemClock
from scheduler.dispatcher import default_owner

log = get_logger(__name__)


async def open_services(settings: Settings) -> Services:
    """Load the content, open the database, migrate it to the newest revision and check that
    Closer may write to it (a read-only file fails here, not at a user's first tap)."""
    library = load_library()
    db = Database(settings.resolved_database_url)
    try:
        await prepare_database(db)
    except BaseException:
        await db.dispose()
        raise
    return Services(settings=settings, db=db, library=library, clock=schedule_clock(settings))


async def prepare_database(db: Database) -> None:
    """Migrate to the newest revision, then make one harmless write: a read-only file or a user
    without write rights fails here, at start-up, not at a user's first tap."""
    await upgrade(db)
    async with db.transaction() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = version_num"))


def schedule_clock(settings: Settings) -> Clock:
    """Real time, or virtual time running CLOSER_CLOCK_SPEED times faster from now."""
    if settings.clock_speed == 1.0:
        return SystemClock()
    log.warning("clock_sped_up", speed=settings.clock_speed)
    return ScaledClock(settings.clock_speed)


async def run_application(
    application: CloserApplication,
    stop: asyncio.Event,
    *,
    poll_timeout: float = 10.0,
    on_started: Callable[[], Awaitable[None]] | None = None,
    dispatch: bool = True,
) -> None:
    """Start polling (and dispatching), wait for `stop`, then shut everything down in order.

    Polling is Closer's own (`bot.polling.UpdatePoller`), not python-telegram-bot's Updater:
    updates are confirmed to Telegram only after they were handled. The city index starts
    building in the background now, so the first typed city is answered at once. If polling
    ends on its own (Telegram rejected the token), its error is raised after the shutdown.
    """
    timezones.start_building()
    async with application:
        await publish_commands(application)
        await application.start()
        services = application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        owner = default_owner()  # one name for this process's leases
        polling = asyncio.create_task(
            _poll_one_per_token(application, services, stop, owner, poll_timeout),
            name="closer-polling",
        )
        loop = None
        try:
            if dispatch:
                loop = start_dispatching(
                    application, build_dispatcher(application, services, owner=owner)
                )
            log.info("bot_started", username=application.bot.username)
            if on_started is not None:
                await on_started()
            stopped = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
        finally:
            log.info("bot_stopping")
            stop.set()
            if loop is not None:
                await loop.stop()
            try:
                await polling  # finishes the batch in hand and confirms it
            finally:
                await application.stop()


async def _poll_one_per_token(
    application: CloserApplication,
    services: Services,
    stop: asyncio.Event,
    owner: str,
    poll_timeout: float,
) -> None:
    """Long polling, while this process holds the "poller" lease (issue 14: one poller per
    token; a second process on the same database stands by and takes over)."""
    await poll_exclusively(
        UpdatePoller(application, timeout=poll_timeout),
        stop,
        SqlLease(services.db, POLLER_LEASE_KEY),
        owner=owner,
        seconds=services.settings.lease_seconds,
    )


async def serve(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> None:
    """`closer run`: the bot, long polling, until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    services = await open_services(settings)
    if request is None and updates_request is None:
        request, updates_request = make_requests(settings.telegram_transport)
    try:
        application = build_application(services, request=request, updates_request=updates_request)
        await run_application(application, stop)
    finally:
        # python-telegram-bot leaves them open when start-up fails (getMe refused): close them
        # here so the one line saying why is not followed by "Unclosed client session".
        for transport in (request, updates_request):
            if transport is not None:
                await transport.shutdown()
        await services.db.dispose()

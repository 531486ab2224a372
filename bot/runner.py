"""Running Closer: migrate, build the Application, then long-poll (or, with WEBHOOK_URL set,
serve Telegram's webhook calls) until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import text
from telegram.request import BaseRequest

from bot import hearing, timezones
from bot.app import build_application, publish_commands
from bot.config import Settings
from bot.context import SERVICES_KEY, CloserApplication
from bot.delivery import build_dispatcher, start_dispatching
from bot.logs import get_logger
from bot.polling import UpdatePoller, poll_exclusively
from bot.services import Services
from bot.storage import handled, set_aside
from bot.storage.bot_state import POLLER_LEASE_KEY
from bot.storage.db import Database
from bot.storage.dispatch_store import SqlLease
from bot.storage.migrate import upgrade
from bot.transport import make_requests
from bot.webhook import HttpFace, WebhookTarget
from content import load_library
from scheduler.clock import Clock, ScaledClock, SystemClock
from scheduler.dispatcher import default_owner

log = get_logger(__name__)

MIGRATION_LOCK = 0x436C6F736572  # "Closer": PostgreSQL advisory lock key held while migrating


async def open_services(settings: Settings) -> Services:
    """Load the content, open the database, migrate it to the newest revision and check that
    Closer may write to it (a read-only file fails here, not at a user's first tap)."""
    library = load_library()
    db = Database(settings.resolved_database_url, disk_full_file=settings.fault_disk_full_file)
    try:
        await prepare_database(db)
    except BaseException:
        await db.dispose()
        raise
    return Services(settings=settings, db=db, library=library, clock=schedule_clock(settings))


async def prepare_database(db: Database) -> None:
    """Migrate to the newest revision, then make one harmless write: a read-only file or a user
    without write rights fails here, at start-up, not at a user's first tap.

    On PostgreSQL the migration runs under an advisory lock: workers started together on one
    database migrate one after the other (the first migrates, the others find it done).
    """
    async with _migration_lock(db):
        await upgrade(db)
    await db.run(
        lambda conn: conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
    )


@contextlib.asynccontextmanager
async def _migration_lock(db: Database) -> AsyncIterator[None]:
    if db.dialect != "postgresql":
        yield
        return
    async with db.engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.commit()
        try:
            yield
        finally:
            await connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK}
            )
            await connection.commit()


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
    building in the background now, so the first typed city is answered at once, and so do the
    danger and request lexicons. If polling
    ends on its own (Telegram rejected the token), its error is raised after the shutdown.
    """
    timezones.start_building()
    async with application:
        await publish_commands(application)
        await application.start()
        services = application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        hearing.start_warming(services.locales)
        owner = default_owner()  # one name for this process's leases
        sweeping = start_sweeping(services, stop)
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
                await sweeping
                await application.stop()


async def forget_handled_updates(services: Services, stop: asyncio.Event) -> None:
    """At once, then every ``SWEEP_EVERY`` until ``stop``: delete the handled updates' ids and
    the set-aside updates kept longer than their retention (``bot.storage.handled``,
    ``bot.storage.set_aside``)."""
    while True:
        try:
            gone = await handled.forget_all_expired(services.db, services.clock())
            if gone:
                log.info("handled_updates_forgotten", rows=gone)
            gone = await services.db.run(set_aside.forget_expired, services.clock())
            if gone:
                log.info("set_aside_updates_forgotten", rows=gone)
        except Exception as exc:  # the next sweep tries again
            log.warning("handled_updates_sweep_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), handled.SWEEP_EVERY.total_seconds())
        if stop.is_set():
            return


def start_sweeping(services: Services, stop: asyncio.Event) -> asyncio.Task[None]:
    """:func:`forget_handled_updates` in the background (it ends with ``stop``)."""
    return asyncio.create_task(forget_handled_updates(services, stop), name="closer-sweep")


async def _poll_one_per_token(
    application: CloserApplication,
    services: Services,
    stop: asyncio.Event,
    owner: str,
    poll_timeout: float,
) -> None:
    """Long polling, while this process holds the "poller" lease (one poller per
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
    """`closer run`: the bot, long polling or (WEBHOOK_URL set) webhook, until SIGINT or SIGTERM.

    With LISTEN set in polling mode, /healthz and /metrics are served there too."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    services = await open_services(settings)
    if request is None and updates_request is None:
        request, updates_request = make_requests(settings.telegram_transport)
    face: HttpFace | None = None
    try:
        application = build_application(services, request=request, updates_request=updates_request)
        address = settings.listen_address()
        if settings.webhook_mode:
            assert address is not None
            target = WebhookTarget(settings.webhook_path, settings.require_webhook_secret())
            await run_webhook_application(application, stop, address=address, webhook=target)
        else:
            if address is not None:  # /healthz and /metrics beside polling
                face = HttpFace(services.db, now=services.clock)
                await face.start(*address)
            await run_application(application, stop)
    finally:
        if face is not None:
            await face.stop()
        # python-telegram-bot leaves them open when start-up fails (getMe refused): close them
        # here so the one line saying why is not followed by "Unclosed client session".
        for transport in (request, updates_request):
            if transport is not None:
                await transport.shutdown()
        await services.db.dispose()


# -- webhook mode: kept apart from polling above ---------------------------------------


async def run_webhook_application(
    application: CloserApplication,
    stop: asyncio.Event,
    *,
    address: tuple[str, int],
    webhook: WebhookTarget,
    on_started: Callable[[int], Awaitable[None]] | None = None,
    dispatch: bool = True,
) -> None:
    """Serve Telegram's webhook calls (and /healthz, /metrics) on ``address``; no polling.

    The webhook is registered once for the whole fleet with `closer webhook set`, not here: a
    worker only takes calls. Dispatching runs as in polling mode: every worker asks for the
    dispatcher lease, one holds it. ``on_started`` is given the bound port. On ``stop`` the
    server stops taking calls, lets those in flight finish, then dispatching stops.
    """
    timezones.start_building()
    async with application:
        await publish_commands(application)
        await application.start()
        loop = None
        face: HttpFace | None = None
        services = application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        sweeping = start_sweeping(services, stop)
        try:
            hearing.start_warming(services.locales)
            if dispatch:
                # A name that proves this process dead to the others after a crash on this
                # host, so a standby takes over at once (as in polling mode).
                dispatcher = build_dispatcher(application, services, owner=default_owner())
                loop = start_dispatching(application, dispatcher)
            face = HttpFace(
                services.db, application=application, webhook=webhook, now=services.clock
            )
            port = await face.start(*address)
            log.info("bot_started", username=application.bot.username, mode="webhook")
            if on_started is not None:
                await on_started(port)
            await stop.wait()
        finally:
            log.info("bot_stopping")
            stop.set()
            if face is not None:
                await face.stop()  # the calls in flight are answered first
            if loop is not None:
                await loop.stop()
            await sweeping
            await application.stop()

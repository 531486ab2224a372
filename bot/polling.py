"""Closer's long polling: an update is confirmed to Telegram only after it has been handled.

python-telegram-bot's ``Updater`` confirms a batch (the next ``getUpdates`` offset) as soon as it
has queued it, before any handler ran: a crash then loses the batch. It also parses a batch as a
whole, so one update it cannot parse makes it fetch the same batch forever, logging the raw batch
(users' names and texts) each time. :class:`UpdatePoller` replaces it, on public API only:

- ``Bot.do_api_request("getUpdates", ...)`` returns the batch as raw JSON;
- each update is parsed on its own (``Update.de_json``): one that cannot be parsed is counted and
  logged as ``update_unparseable`` with its ``update_id`` only, never its content, and confirmed;
- the batch is handled with ``Application.process_update``: updates of one user (or chat) in
  order, different users concurrently (at most ``concurrency`` at once);
- the next ``getUpdates`` carries the offset past the batch only once every update of it is
  done, so a crash re-delivers the batch (each update takes effect once, by its id: at least
  once in delivery, once in effect, never lost);
- an update that storage failed under (``StorageUnavailable``: the disk is full, the database
  is down) is not confirmed: the offset stops at it, the rest of that user's updates in the
  batch wait behind it (her order is kept), other users' go on, and the batch is fetched
  again after a growing pause (0.5 s doubling to ``max_backoff``); what took effect already
  comes again as a duplicate and changes nothing;
- network errors, 409 Conflict (another poller, or a webhook) and 5xx answers are retried with
  a growing pause, one ``polling_failed`` line each (the error's type only: no traceback, no data);
  a rejected token ends polling with ``InvalidToken``.

One poller per token (``poll_exclusively``): Telegram answers two concurrent ``getUpdates`` with
409 Conflict. A process polls only while it holds the "poller" lease in ``bot_state``; a second
``closer run`` on the same database stands by (saying why, once) and takes over when the first
stops (it releases the lease) or dies (its lease runs out; at once if it ran on this host and
its process is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from telegram import Update
from telegram.error import EndPointNotFound, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, ExtBot
from telegram.warnings import PTBUserWarning

from bot.context import StorageUnavailable
from bot.logs import get_logger
from bot.metrics import instrument, observe_update
from scheduler.dispatcher import owner_is_dead
from scheduler.ports import LeaseState

log = get_logger(__name__)

MAX_BATCH: Final = 100  # Telegram's largest getUpdates batch
# do_api_request suggests Bot.get_updates, which is exactly what must not parse the batch whole.
_DO_API_REQUEST_HINT: Final = r"Please use 'Bot\.getUpdates'"


@dataclass
class PollingStats:
    """What the poller has done so far (read by tests and, one day, /stats)."""

    batches: int = 0
    handled: int = 0
    unparseable: int = 0
    failed: int = 0
    fetch_errors: int = 0
    unconfirmed: int = 0  # updates storage failed under (each comes again)
    held: int = 0  # batches not confirmed whole because of them


class UpdatePoller:
    """Long-polls ``getUpdates`` for one Application and feeds it every update, at least once.

    ``timeout`` is the long-poll timeout in seconds; ``allowed_updates`` defaults to every kind;
    ``concurrency`` caps how many users' updates are handled at once; ``max_backoff`` caps the
    pause between failed fetches.
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        *,
        timeout: float = 10.0,
        allowed_updates: Sequence[str] | None = None,
        concurrency: int = 32,
        max_backoff: float = 30.0,
        first_backoff: float = 0.5,
    ) -> None:
        self._application = application
        self._timeout = max(0, int(timeout))
        self._allowed = list(Update.ALL_TYPES if allowed_updates is None else allowed_updates)
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._max_backoff = max_backoff
        self._first_backoff = first_backoff
        self.offset: int | None = None  # the next offset to confirm (None: nothing handled yet)
        self.stats = PollingStats()
        instrument(application)  # closer_updates_total tells handler errors apart

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; then confirm what was handled and return.

        Raises InvalidToken when Telegram rejects the token (polling cannot go on).
        """
        warnings.filterwarnings("ignore", message=_DO_API_REQUEST_HINT, category=PTBUserWarning)
        failures = 0
        outages = 0  # batches in a row that storage failed under
        while not stop.is_set():
            try:
                batch = await self._fetch_unless_stopped(stop, self._timeout)
            except (InvalidToken, EndPointNotFound):
                # After start-up python-telegram-bot reports a 401/404 as EndPointNotFound.
                log.error("polling_stopped", reason="token_rejected")
                raise InvalidToken("Telegram rejected the bot token while polling") from None
            except Exception as exc:  # every other failure is retried
                failures += 1
                self.stats.fetch_errors += 1
                delay = self._backoff(exc, failures)
                log.warning("polling_failed", error=type(exc).__name__, retry_in=round(delay, 1))
                await _wait(stop, delay)
                continue
            if batch is None:
                break
            if failures:
                log.info("polling_resumed", after_failures=failures)
                failures = 0
            if batch and not await self.handle_batch(batch):
                outages += 1
                delay = self._backoff(None, outages)
                log.warning("polling_held", reason="storage unavailable", retry_in=delay)
                await _wait(stop, delay)
            elif batch:
                outages = 0
        await self._confirm()

    async def handle_batch(self, batch: Sequence[object]) -> bool:
        """Parse and handle one raw ``getUpdates`` result; advance :attr:`offset` past it, or,
        when storage failed under an update, up to the first such update only (False)."""
        self.stats.batches += 1
        log.debug("updates_received", count=len(batch))
        bot = self._application.bot
        groups: dict[tuple[str, int], list[Update]] = {}
        highest: int | None = None
        for raw in batch:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                update_id = None
            else:
                highest = update_id if highest is None else max(highest, update_id)
            update = _parse(raw, bot)
            if update is None:
                self.stats.unparseable += 1
                log.warning("update_unparseable", update_id=update_id)
                continue
            groups.setdefault(_sequence_key(update), []).append(update)
        async with asyncio.TaskGroup() as tasks:
            held = [
                tasks.create_task(self._handle_in_order(updates)) for updates in groups.values()
            ]
        unconfirmed = [task.result() for task in held if task.result() is not None]
        if unconfirmed:
            self.stats.held += 1
            first = min(update_id for update_id in unconfirmed if update_id is not None)
            if self.offset is None or first > self.offset:
                self.offset = first
            return False
        if highest is not None and (self.offset is None or highest + 1 > self.offset):
            self.offset = highest + 1
        return True

    async def _handle_in_order(self, updates: list[Update]) -> int | None:
        """Handle one user's updates in order; the id of the first one storage failed under
        (it and the rest of hers are left for the next try), else None."""
        async with self._slots:
            for update in updates:
                try:
                    await observe_update(self._application, update)
                except StorageUnavailable:
                    self.stats.unconfirmed += 1
                    return update.update_id
                except Exception as exc:  # the error handler already saw it
                    self.stats.failed += 1
                    log.error("update_failed", update_id=update.update_id, error=type(exc).__name__)
                else:
                    self.stats.handled += 1
        return None

    async def _fetch_unless_stopped(self, stop: asyncio.Event, wait: int) -> list[object] | None:
        """One getUpdates call, or None when ``stop`` is set first (the call is abandoned)."""
        fetch = asyncio.ensure_future(self._fetch(wait))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await fetch
            return None
        return fetch.result()

    async def _fetch(self, wait: int, limit: int = MAX_BATCH) -> list[object]:
        """One getUpdates call (a long poll of ``wait`` seconds), its result as raw JSON."""
        params: dict[str, Any] = {
            "timeout": wait,
            "limit": limit,
            "allowed_updates": self._allowed,
        }
        if self.offset is not None:
            params["offset"] = self.offset
        result = await self._application.bot.do_api_request(
            "getUpdates", api_kwargs=params, read_timeout=wait + 10.0
        )
        if not isinstance(result, list):
            raise TelegramError("getUpdates did not answer with a list")
        return result

    async def _confirm(self) -> None:
        """Tell Telegram the handled updates are done (a final zero-timeout getUpdates)."""
        if self.offset is None:
            return
        try:
            await self._fetch(wait=0, limit=1)
        except Exception as exc:  # unconfirmed updates only come again
            log.warning("polling_confirm_failed", error=type(exc).__name__)

    def _backoff(self, exc: Exception | None, failures: int) -> float:
        if isinstance(exc, RetryAfter):
            after = exc.retry_after
            return float(after if isinstance(after, int | float) else after.total_seconds())
        return float(min(self._max_backoff, self._first_backoff * 2 ** (failures - 1)))


def _parse(raw: object, bot: Any) -> Update | None:
    """One update, or None when python-telegram-bot cannot make sense of it."""
    if not isinstance(raw, dict):
        return None
    try:
        update = Update.de_json(raw, bot)
        if isinstance(bot, ExtBot) and bot.callback_data_cache is not None:
            bot.insert_callback_data(update)
    except Exception:  # whatever the parser trips on, the update is skipped
        return None
    return update


def _sequence_key(update: Update) -> tuple[str, int]:
    """Updates with the same key are handled in order: one user's, else one chat's."""
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    return ("update", update.update_id)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Lease(Protocol):
    """A process-wide lease (``bot.storage.dispatch_store.SqlLease``)."""

    async def take(
        self, owner: str, *, now: datetime, until: datetime, dead_owner: str | None = None
    ) -> LeaseState: ...

    async def renew(self, owner: str, *, now: datetime, until: datetime) -> bool: ...

    async def release(self, owner: str, now: datetime) -> None: ...


async def poll_exclusively(
    poller: UpdatePoller,
    stop: asyncio.Event,
    lease: Lease,
    *,
    owner: str,
    seconds: float,
) -> None:
    """Run ``poller`` only while ``owner`` holds ``lease`` (one poller per token), until ``stop``.

    Standing by, it tries to take the lease every third of ``seconds``; polling, it renews it
    as often and stops polling at once if the lease was taken by another (e.g. after this
    process was suspended), going back to standby. On ``stop`` the lease is released.
    """
    span = timedelta(seconds=seconds)
    standby_logged = False
    while not stop.is_set():
        now = datetime.now(UTC)
        try:
            state = await lease.take(owner, now=now, until=now + span)
            if not state.held and state.owner is not None and owner_is_dead(state.owner):
                log.info("polling_predecessor_dead", predecessor=state.owner)
                state = await lease.take(owner, now=now, until=now + span, dead_owner=state.owner)
        except Exception as exc:  # the database is busy or away: try again shortly
            log.warning("polling_lease_failed", error=type(exc).__name__)
            await _wait(stop, seconds / 3)
            continue
        if not state.held:
            if not standby_logged:
                log.warning(
                    "polling_standby",
                    reason="another closer process polls this bot token (Telegram allows one "
                    "poller per token); this one takes over when that one stops",
                    lease_until=state.until.isoformat() if state.until else None,
                )
                standby_logged = True
            await _wait(stop, seconds / 3)
            continue
        log.info("polling_active", took_over=standby_logged)
        standby_logged = False
        halt = asyncio.Event()
        keeper = asyncio.create_task(_keep_lease(lease, owner, span, stop, halt))
        try:
            await poller.run(halt)
        finally:
            halt.set()
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
    with contextlib.suppress(Exception):
        await lease.release(owner, datetime.now(UTC))


async def _keep_lease(
    lease: Lease, owner: str, span: timedelta, stop: asyncio.Event, halt: asyncio.Event
) -> None:
    """Renew the poller lease every third of it; set ``halt`` on ``stop`` or when it is lost
    (or could not be renewed for most of its span: someone else may take it)."""
    renewed = datetime.now(UTC)
    while True:
        await _wait(stop, span.total_seconds() / 3)
        if stop.is_set():
            halt.set()
            return
        now = datetime.now(UTC)
        try:
            held = await lease.renew(owner, now=now, until=now + span)
        except Exception as exc:
            log.warning("polling_lease_failed", error=type(exc).__name__)
            if datetime.now(UTC) - renewed > span * 0.8:
                halt.set()
                return
            continue
        if not held:
            log.warning("polling_lease_lost", reason="another closer process polls now")
            halt.set()
            return
        renewed = now

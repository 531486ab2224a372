"""The dispatcher: claims due outbox rows with a lease, hands them to a sender, settles them.

Telegram-free: it is given a ``Sender`` (``scheduler.sending``). One ``tick()`` does, in order:

1. Hold the dispatcher lease (``bot_state`` row "dispatcher"): only one dispatcher sends for a
   bot; another instance on the same database logs once that one is active and sends nothing,
   and takes over when the lease is released (a clean stop) or runs out (a crash). The lease
   cannot run out under a live dispatcher: while a batch is in flight it is renewed every
   quarter of it (``_keep_lease``), with the leases of the rows it holds; each send first
   checks that the lease is certainly still ours (a fifth of it in hand, ``_may_send``), and a
   dispatcher that finds it taken (it was suspended, say) sends nothing more and gives its
   unsent rows back. A predecessor that ran on this host and whose process is gone is proved
   dead (``owner_is_dead``): its lease and its rows are taken at once, not waited out.
2. Honour Telegram's flood wait: after a 429, nothing is claimed before its "not before" time,
   which is kept in ``bot_state`` so a restart honours it too.
3. Claim a batch (expired leases first, then due rows), settle it (``planner.settle``: drop,
   move or choose the item), send it concurrently through the rate limiter, and record the
   results in one transaction (marked sent, progress, ignored nudges, next rows planned, and
   what a send noted on its ``Receipt``: a check-in's intro and polls, also of one that failed
   part-way). Repeat until nothing is due. Without the rate limiter, the next batch is claimed
   while the current one is being sent, leaving out the users of the batch being sent
   (``Dispatcher.tick``): the loop no longer sits idle through either.

The database is behind a port (``scheduler.ports.DispatchStore``, implemented by
``bot.storage.dispatch_store.SqlDispatchStore``): each of its calls is one transaction.

Delivery guarantees (PRODUCT.md "Delivery"):

- At least once. A row is leased before its send and marked after it; a crash in between leaves
  it ``sending`` until its own lease expires (or at once if its owner is proved dead); then it
  is adopted and sent again. Rows of another owner whose lease still runs are never adopted.
- Handed over, or not. A batch is claimed "ahead": leased, not yet handed to the sender. A row
  is marked handed over (``_Handover``, the store's ``start_sending``) only once the rate
  limiter has let it go and the lease and flood-wait checks have passed, right before its
  ``Sender.send``. Rows that reach that point while a marking transaction runs are marked
  together by the next one, so marks cost a transaction per group: one per batch without the
  limiter; with it (30 sends a second, a transaction of about a millisecond) one per row. An
  adopted row that was handed over counts one unknown outcome (``ambiguous_count``); one that
  was not is taken again as it was (no unknown outcome, no extra attempt), however often its
  holder died. A stop or a lost lease gives unsent rows back uncounted either way.
- At most two copies, however many crashes: a row whose outcome was unknown twice (two
  timeouts, two crashes after it was handed over, or one of each: ``ambiguous_count`` reaches
  ``MAX_UNKNOWN_OUTCOMES``) is closed ``failed`` ("outcome unknown twice") instead of being sent
  a third time, and the user's next nudge is planned as after a sent one (not later that
  day: she most likely has this one). Each unknown outcome may have delivered one copy, so
  this keeps copies at two; a row that certainly never left (a refused
  connection, a 5xx, a send not started) is not counted, so nothing is given up that was never
  tried. The price: a row handed over at two crashes, and lost both times, is not retried.
- The over-count. The mark must come before the request is written (after it, a crash could
  hide a delivered copy and allow a third), so a crash may count rows whose request never
  left the process: those marked whose request the sender had not yet written. With the rate
  limiter that is at most the last group marked: one row (the limiter lets one go every 33 ms,
  its mark takes about a millisecond and its request is written right after), or the few the
  limiter let go during a database stall longer than that. Without the limiter it is up to
  the whole batch (``batch_size``), one group, as when the claim itself marked the rows.
  Before a row is closed "outcome unknown twice" without any request, two crashes must each
  have fallen between its mark and its request.
- Stop means stop (``halt``): no new send starts, sends in flight get ``STOP_GRACE_SECONDS``
  (then count as ambiguous), what was sent is recorded, rows claimed but not sent are given
  back as they were, the lease is released: a successor starts at once.
- A timeout is *ambiguous*: Telegram may have delivered the message. The row is retried (it
  becomes ``ambiguous``, then ``sent``) rather than dropped, so nothing is lost; the price is a
  possible duplicate. Duplicates need an unknown outcome, which only rows sent but not yet
  recorded can have, and a batch is recorded before the next one's sends start (the next one
  may be claimed meanwhile, but claimed ahead: not handed over, a crash does not count it), so
  they stay within the in-flight bound: one batch (``in_flight_bound`` = ``batch_size``).
- 5xx and network errors retry with bounded exponential backoff (``retry_delay``) and give up as
  ``failed`` after ``max_attempts``; a 403 marks the user blocked and cancels their rows.

Time: due times are schedule time (``clock``, which may run fast, see ``CLOSER_CLOCK_SPEED``);
leases, Telegram's limits and retry waits are real seconds (``real_clock``). In tests both are
the same ``ManualClock``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Final

import structlog

from scheduler.clock import Clock, SystemClock
from scheduler.policy import CatalogItem
from scheduler.ports import BatchOutcome, Claim, DispatchStore
from scheduler.ratelimit import RateLimiter
from scheduler.sending import (
    Ambiguous,
    Blocked,
    Delivery,
    Failed,
    FloodWait,
    Receipt,
    Sender,
    SendResult,
    Sent,
    Transient,
)

# structlog directly, not bot.logs (scheduler/ imports nothing of bot/); bot.logs configures it.
log: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(__name__)

DEFAULT_BATCH_SIZE: Final = 100
DEFAULT_ROW_LEASE: Final = timedelta(seconds=60)
DEFAULT_DISPATCHER_LEASE: Final = timedelta(seconds=10)
DEFAULT_MAX_ATTEMPTS: Final = 8
MAX_UNKNOWN_OUTCOMES: Final = 2
"""A row whose outcome was unknown this many times (a timeout, or a crash while it was in
flight) is closed instead of sent again: at most two copies of a nudge, however many crashes."""
WAVE_SIZE: Final = 16
"""With the rate limiter, a batch's sends are started (given to the limiter, which reserves
their slots) this many at a time, about half a second of Telegram's 30 a second, the next wave
once the last has passed the limiter: a stop or a flood wait leaves few slots reserved for
nothing. Rows are marked handed over one by one as the limiter lets them go (``_Handover``)."""
STANDBY_RETRY_SECONDS: Final = 1.0
"""A dispatcher standing by asks for the lease this often: it takes over within a second of a
clean stop. (One that holds it wakes only when a row falls due, a row lease runs out, its own
lease needs renewing, or it is woken: ``seconds_until_wake``.)"""
SPED_UP_WAKE_SECONDS: Final = 1.0
"""With a sped-up schedule clock, the longest real sleep between wakes: a row another process
(or a handler that does not wake the dispatcher) stores falls due within a few virtual hours."""
ERROR_RETRY_SECONDS: Final = 1.0
"""After a tick that failed (the database busy, say), the next try."""
STOP_GRACE_SECONDS: Final = 3.0
"""On stop, how long sends already in flight may take before they are abandoned (ambiguous)."""
RETRY_BASE_SECONDS: Final = 2.0
RETRY_MAX_SECONDS: Final = 300.0


def retry_delay(attempts: int) -> float:
    """Real seconds before retry number ``attempts``: 2, 4, 8, ... capped at five minutes."""
    return float(min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def _pid_namespace() -> str:
    """This process's PID namespace (Linux), so that a pid is compared only within one."""
    try:
        link = os.readlink("/proc/self/ns/pid")
    except OSError:
        return "-"
    return "".join(ch for ch in link if ch.isdigit()) or "-"


def default_owner() -> str:
    """A name for this process's leases that no other process shares:
    ``host:pid:pid-namespace:random``."""
    host = socket.gethostname()[:32].replace(":", "_")
    return f"{host}:{os.getpid()}:{_pid_namespace()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """Whether the process named ``owner`` (``default_owner``) provably no longer runs: it ran
    on this host, in this PID namespace, and its pid is gone (or a zombie). Anything else
    (another host, another format, a pid that exists, perhaps reused) is not proof."""
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname()[:32].replace(":", "_"):
        return False
    if parts[2] != _pid_namespace() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid() or pid <= 1:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, another user's
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


@dataclass
class TickReport:
    """What one tick did (counts of rows)."""

    active: bool = True
    flood_wait: bool = False
    batches: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    ambiguous: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    moved: int = 0
    deferred: int = 0
    given_up: int = 0
    pause_offers: int = 0

    def add(self, other: TickReport) -> None:
        for spec in fields(self):
            value = getattr(other, spec.name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, spec.name, getattr(self, spec.name) + value)
        self.active = self.active and other.active
        self.flood_wait = self.flood_wait or other.flood_wait


@dataclass(frozen=True, slots=True)
class _Deferred:
    """Not attempted: a flood wait began while this send waited its turn."""


_Outcome = SendResult | _Deferred


@dataclass
class DispatchStats:
    """Counters over this dispatcher's life (read by tests and logs)."""

    renewals: int = 0
    lost: int = 0  # times the lease was found taken by another
    not_sent_lease: int = 0  # sends skipped: the lease was no longer certainly ours
    not_sent_stop: int = 0  # sends skipped: stopping
    abandoned: int = 0  # sends in flight cut at stop (counted ambiguous)
    handovers: int = 0  # transactions that marked rows handed over (``_Handover``)


class _Gate:
    """Counts the sends of a wave through the rate limiter; set when all have passed."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.passed = asyncio.Event()
        if count <= 0:
            self.passed.set()

    def pass_one(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.passed.set()


class _Handover:
    """Marks rows handed over right before their sends, a group per transaction.

    The send that finds no marking transaction running runs one, for its row and every row
    waiting; a row that arrives while one runs waits for it to end, then joins the next group
    (whose transaction the first of them to wake runs). The limiter lets rows go one at a time,
    so groups are of one row unless a transaction was held up (a lock, a stall). No task of its
    own: on SQLite a transaction that meets no lock completes without the event loop turning,
    so a send goes the moment its row is marked, at the limiter's pace."""

    def __init__(self, store: DispatchStore, owner: str, stats: DispatchStats) -> None:
        self._store = store
        self._owner = owner
        self._stats = stats
        self._waiting: dict[int, asyncio.Future[bool]] = {}
        self._running: asyncio.Future[None] | None = None

    async def mark(self, outbox_id: int) -> bool:
        """Whether the row is now marked handed over; False (it must not be sent) if it is no
        longer ours or its marking transaction failed or was cut."""
        loop = asyncio.get_running_loop()
        marked: asyncio.Future[bool] = loop.create_future()
        self._waiting[outbox_id] = marked
        try:
            while not marked.done():
                if self._running is None:
                    await self._mark_waiting(loop)
                else:
                    await asyncio.shield(self._running)
        except asyncio.CancelledError:
            if self._waiting.get(outbox_id) is marked:
                del self._waiting[outbox_id]
            raise
        return marked.result()

    async def _mark_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        running = self._running = loop.create_future()
        group, self._waiting = self._waiting, {}
        held: set[int] = set()
        try:
            held = await self._store.start_sending(self._owner, list(group))
            self._stats.handovers += 1
        except Exception as exc:  # the database busy, say: these rows are not sent
            log.warning("dispatcher_handover_failed", rows=len(group), error=type(exc).__name__)
        finally:
            for outbox_id, marked in group.items():
                if not marked.done():
                    marked.set_result(outbox_id in held)
            self._running = None
            running.set_result(None)


class _ClaimAhead:
    """The next batch's claim, run while the current batch is being sent (``Dispatcher.tick``):
    at most one at a time; whoever starts one takes its result or drops it."""

    def __init__(self) -> None:
        self._task: asyncio.Task[tuple[TickReport, list[Delivery]]] | None = None

    def start(
        self,
        claim: Callable[[frozenset[int]], Coroutine[Any, Any, tuple[TickReport, list[Delivery]]]],
        exclude_users: frozenset[int],
    ) -> None:
        if self._task is not None:
            raise RuntimeError("a batch is already being claimed ahead")
        self._task = asyncio.ensure_future(claim(exclude_users))

    async def take(self) -> tuple[TickReport, list[Delivery]] | None:
        """The claim's result once it has run (None if none was started); raises its error."""
        task, self._task = self._task, None
        return None if task is None else await task

    async def drop(self) -> None:
        """Cut the claim (the tick was cancelled): a transaction cut before its commit is rolled
        back; rows it had committed stay leased ahead and are taken again, uncounted, once
        their lease runs out."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class Dispatcher:
    """Sends what is due, through ``sender``; see the module docstring."""

    def __init__(
        self,
        store: DispatchStore,
        sender: Sender,
        catalog: Sequence[CatalogItem],
        *,
        clock: Clock | None = None,
        real_clock: Clock | None = None,
        limiter: RateLimiter | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        row_lease: timedelta = DEFAULT_ROW_LEASE,
        dispatcher_lease: timedelta = DEFAULT_DISPATCHER_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        owner: str | None = None,
    ) -> None:
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be >= 1")
        self.store = store
        self.sender = sender
        self.catalog = tuple(catalog)
        self.clock = clock or SystemClock()
        self.real_clock = real_clock or SystemClock()
        self.limiter = limiter
        self.batch_size = batch_size
        self.row_lease = row_lease
        self.dispatcher_lease = dispatcher_lease
        self.max_attempts = max_attempts
        self.owner = owner or default_owner()
        self._lock = asyncio.Lock()
        self._holding = False
        self._standby_logged = False
        self._not_before: datetime | None = None
        self._not_before_loaded = False
        self._stopping = False
        self._halt = asyncio.Event()  # stop sending: a stop, or the lease was lost
        self._adopt: frozenset[str] = frozenset()  # dead owners whose rows are adopted at once
        self._renewed_at: datetime | None = None  # real time of the last lease renewal
        self._lease_until: datetime | None = None  # real time the lease runs out (our view)
        self._renew_lock = asyncio.Lock()
        self._standby_until: datetime | None = None  # real time the holder's lease runs out
        self._idle_wakes: tuple[datetime | None, datetime | None] | None = None
        self.stats = DispatchStats()

    @property
    def holding(self) -> bool:
        """Whether this dispatcher held the lease at its last tick."""
        return self._holding

    @property
    def in_flight_bound(self) -> int:
        """Most rows that can be sent but not yet recorded (one batch): a crash can duplicate
        at most this many messages."""
        return self.batch_size

    async def tick(self) -> TickReport:
        """Send everything due now (see the module docstring). Ticks never overlap.

        Batches are recorded one after another: claim, send all concurrently, record, so at most
        one batch is ever sent but not recorded (``in_flight_bound``), and a batch is recorded
        before the next one's sends start. Without the rate limiter the next batch is claimed
        while the current one is being sent (``_ClaimAhead``): otherwise, between two batches'
        sends, the loop waits for the claim's statements on the database's thread
        (``bench.dispatch``, aiohttp, batch 100: about a fifth more nudges a second, more in
        each of six alternating rounds; with httpx, whose CPU keeps the loop busy, no gain: see
        docs/BENCHMARKS.md). That claim starts once the current batch is marked handed over (on
        SQLite writers take turns: it must not delay the mark), leases its rows claimed ahead (a
        crash leaves them to be taken again uncounted), and leaves out the users of the batch
        being sent, so that no row's item is chosen before her previous send is recorded. Where
        the tick stops early, the batch claimed ahead is given back unsent, as a batch's unsent
        rows are. With the limiter, rows are marked one by one as the limiter lets them go, and
        each mark would wait for a claim's turn to write: there the next batch is claimed after
        the record.
        """
        async with self._lock:
            report = TickReport()
            self._idle_wakes = None
            if not await self._hold_lease():
                report.active = False
                return report
            if self._stopping:
                return report
            self._halt.clear()
            if await self._flood_waiting():
                report.flood_wait = True
                return report
            if not await self._work_waiting():
                return report  # woken to renew the lease: nothing is due
            ahead = _ClaimAhead()
            try:
                await self._batches(report, ahead)
            except asyncio.CancelledError:
                await ahead.drop()
                raise
            except Exception:
                try:
                    report.add(await self._give_back(ahead))
                except Exception as exc:  # left leased ahead: taken again, uncounted, later
                    log.warning("dispatcher_give_back_failed", error=type(exc).__name__)
                raise
            report.add(await self._give_back(ahead))
            if report.claimed:
                log.info(
                    "dispatch_tick",
                    **{k: v for k, v in vars(report).items() if isinstance(v, int) and v},
                )
            return report

    async def _batches(self, report: TickReport, ahead: _ClaimAhead) -> None:
        """Claim, send and record batches until nothing is due or the tick must stop; a batch
        claimed ahead and not sent is left in ``ahead`` (``tick`` gives it back)."""
        claimed, deliveries = await self._claim_batch()
        while True:
            report.add(claimed)
            if claimed.claimed == 0:
                return
            receipts = [Receipt() for _ in deliveries]
            claim_next: Callable[[], None] | None = None
            busy = frozenset(delivery.user_id for delivery in deliveries)
            if not self._waves and claimed.claimed >= self.batch_size:  # more may be due
                claim_next = functools.partial(ahead.start, self._claim_batch, busy)
            outcomes = await self._send_all(deliveries, receipts, claim_next)
            report.add(await self._record(list(zip(deliveries, outcomes, receipts, strict=True))))
            if any(isinstance(outcome, FloodWait) for outcome in outcomes):
                report.flood_wait = True
                return
            if self._stopping:
                return
            if self._halt.is_set() or (not self._lease_fresh() and not await self._hold_lease()):
                report.active = False
                return
            if await self._flood_waiting():
                report.flood_wait = True
                return
            taken = await ahead.take()
            if taken is not None and taken[0].claimed:
                claimed, deliveries = taken
                continue
            if taken is not None:  # none but rows of the users it left out, perhaps
                report.add(taken[0])
            claimed, deliveries = await self._claim_batch()

    async def _work_waiting(self) -> bool:
        """Whether a claim would find anything: a row due, a row lease run out, or rows of a
        dead owner to adopt. One cheap read, so that a tick that only renews the lease claims
        nothing; its answer also serves ``seconds_until_wake`` right after."""
        if self._adopt:
            return True
        due, lease_expiry = await self.store.next_wakes()
        waiting = (due is not None and due <= self.clock.now()) or (
            lease_expiry is not None and lease_expiry < self.real_clock.now()
        )
        self._idle_wakes = None if waiting else (due, lease_expiry)
        return waiting

    async def seconds_until_wake(self) -> float:
        """Real seconds until the next tick: when a row falls due or a row lease runs out (see
        ``seconds_until_next``), or the lease needs renewing (a third of it after the last
        renewal), whichever comes first; standing by, ``STANDBY_RETRY_SECONDS``."""
        now = self.real_clock.now()
        if not self._holding or self._renewed_at is None:
            return STANDBY_RETRY_SECONDS
        wait = (self._renewed_at + self.dispatcher_lease / 3 - now).total_seconds()
        work = await self.seconds_until_next()
        if work is not None:
            wait = min(wait, work)
        if self.clock.speed != 1.0:
            wait = min(wait, SPED_UP_WAKE_SECONDS)
        return max(0.0, wait)

    async def seconds_until_next(self) -> float | None:
        """Real seconds until a tick would have something to do (None: nothing is waiting)."""
        wakes, self._idle_wakes = self._idle_wakes, None
        due, lease_expiry = wakes if wakes is not None else await self.store.next_wakes()
        waits: list[float] = []
        if due is not None:
            waits.append(self.clock.real_seconds((due - self.clock.now()).total_seconds()))
        if lease_expiry is not None:
            waits.append((lease_expiry - self.real_clock.now()).total_seconds())
        if not waits:
            return None
        wait = max(0.0, min(waits))
        if self._not_before is not None:
            wait = max(wait, (self._not_before - self.real_clock.now()).total_seconds())
        return wait

    @property
    def _waves(self) -> bool:
        return self.limiter is not None

    def halt(self) -> None:
        """Stop at once: no new send starts; sends in flight finish (or are cut after
        ``STOP_GRACE_SECONDS``), what was sent is recorded, the rest is given back. Then
        ``release`` gives the lease up."""
        self._stopping = True
        self._halt.set()

    async def release(self) -> None:
        """Stop dispatching and give the lease up, so a successor need not wait for it."""
        self.halt()
        async with self._lock:
            if self._holding:
                await self.store.release_lease(self.owner, self.real_clock.now())
                self._holding = False
                log.info("dispatcher_released")

    # -- the lease and the flood wait ------------------------------------------------------

    def _lease_fresh(self) -> bool:
        """Between batches the lease is renewed only once a third of it has passed: it cannot
        have run out (nobody else can have taken it), and a renewal per batch was a measurable
        part of dispatch's cost."""
        if not self._holding or self._renewed_at is None:
            return False
        return self.real_clock.now() - self._renewed_at < self.dispatcher_lease / 3

    async def _hold_lease(self) -> bool:
        now = self.real_clock.now()
        until = now + self.dispatcher_lease
        state = await self.store.take_lease(self.owner, now=now, until=until)
        if not state.held and state.owner is not None and owner_is_dead(state.owner):
            # Our own host's predecessor, killed: no need to wait out its lease.
            log.info("dispatcher_predecessor_dead", predecessor=state.owner)
            state = await self.store.take_lease(
                self.owner, now=now, until=until, dead_owner=state.owner
            )
        if state.held and state.fresh:
            holders = await self.store.lease_holders()
            self._adopt = frozenset(o for o in holders if o != self.owner and owner_is_dead(o))
        if state.held and not self._holding:
            log.info("dispatcher_active", fresh=state.fresh)
            self._standby_logged = False
        if not state.held and not self._standby_logged:
            log.warning(
                "dispatcher_standby",
                reason="another dispatcher is active on this database",
                lease_until=state.until.isoformat() if state.until else None,
            )
            self._standby_logged = True
        self._holding = state.held
        self._renewed_at = now if state.held else None
        self._lease_until = until if state.held else None
        return state.held

    def _may_send(self) -> bool:
        """Whether a send may start now: not stopping, and the lease certainly still ours (a
        fifth of it kept in hand, so a send starts well before anyone else could take over)."""
        if self._halt.is_set():
            return False
        if self._lease_until is None:
            return False
        return self.real_clock.now() < self._lease_until - self.dispatcher_lease / 5

    def _renewal_due(self) -> bool:
        return self._renewed_at is None or (
            self.real_clock.now() - self._renewed_at >= self.dispatcher_lease / 3
        )

    async def _renew(self) -> bool:
        """Extend the dispatcher lease and the leases of our rows, while a batch is in flight.
        False (and no more sends) if another dispatcher took the lease meanwhile."""
        async with self._renew_lock:
            if not self._holding:
                return False
            if not self._renewal_due():
                return True
            now = self.real_clock.now()
            held = await self.store.renew_lease(
                self.owner,
                now=now,
                until=now + self.dispatcher_lease,
                rows_until=now + self.row_lease,
            )
            if held:
                self.stats.renewals += 1
                self._renewed_at = now
                self._lease_until = now + self.dispatcher_lease
                return True
            self.stats.lost += 1
            self._holding = False
            self._renewed_at = self._lease_until = None
            self._halt.set()
            log.warning("dispatcher_lease_lost", reason="another dispatcher took it over")
            return False

    async def _keep_lease(self) -> None:
        """Renew the lease every quarter of it while a batch is being sent (Telegram may be
        slow, the rate limiter spreads a batch over many seconds)."""
        while True:
            await asyncio.sleep(self.dispatcher_lease.total_seconds() / 4)
            try:
                await self._renew()
            except Exception as exc:  # the database may be busy: the next round tries again
                log.warning("dispatcher_renew_failed", error=type(exc).__name__)

    async def _flood_waiting(self) -> bool:
        if not self._not_before_loaded:
            self._not_before = await self.store.not_before()
            self._not_before_loaded = True
        return self._not_before is not None and self.real_clock.now() < self._not_before

    # -- one batch ---------------------------------------------------------------------------

    async def _claim_batch(
        self, exclude_users: frozenset[int] = frozenset()
    ) -> tuple[TickReport, list[Delivery]]:
        """Claim and settle a batch, ahead (``start_sending`` hands its rows over), none of
        ``exclude_users``' rows."""
        report = TickReport(batches=1)
        now = self.clock.now()
        lease_now = self.real_clock.now()
        claim = Claim(
            now=now,
            lease_now=lease_now,
            owner=self.owner,
            lease_until=lease_now + self.row_lease,
            limit=self.batch_size,
            adopt_owners=self._adopt,
            ahead=True,
            max_unknown=MAX_UNKNOWN_OUTCOMES,
            exclude_users=exclude_users,
        )
        claimed, settled = await self.store.claim(claim, self.catalog)
        if claimed < self.batch_size and not exclude_users:
            self._adopt = frozenset()  # every orphan fitted in this batch
        report.claimed = claimed
        report.moved = settled.moved
        report.cancelled = settled.cancelled
        report.given_up = settled.given_up
        if settled.given_up:
            log.warning(
                "send_given_up",
                rows=settled.given_up,
                reason="outcome unknown twice: not sent a third time",
            )
        return report, settled.deliveries

    async def _send_all(
        self,
        deliveries: list[Delivery],
        receipts: list[Receipt],
        marked: Callable[[], None] | None = None,
    ) -> list[_Outcome]:
        """Send a batch concurrently through the rate limiter, the lease kept meanwhile; each
        send notes on its receipt (``receipts[i]`` for ``deliveries[i]``) what else it put out.

        With the limiter, sends are started a wave at a time (``WAVE_SIZE``), the next once
        the last has passed the limiter, and each row is marked handed over (``_Handover``) as
        the limiter lets it go; without it, the whole batch is marked in one transaction and
        started at once, and then ``marked()`` is called (the next batch's claim starts: its
        transaction comes after the mark's). Each send checks the lease first
        (``_may_send``). On ``halt`` no new
        send starts; sends in flight get ``STOP_GRACE_SECONDS``, then are cut and counted
        ambiguous. Rows never sent come back ``_Deferred`` (given back as they were).
        """
        started: set[int] = set()
        tasks: dict[int, asyncio.Task[_Outcome]] = {}
        handover = _Handover(self.store, self.owner, self.stats) if self._waves else None
        halt = asyncio.ensure_future(self._halt.wait())
        keeper = asyncio.ensure_future(self._keep_lease())
        try:
            size = WAVE_SIZE if self._waves else max(len(deliveries), 1)
            previous: _Gate | None = None
            for first in range(0, len(deliveries), size):
                if previous is not None:  # one wave started ahead of the limiter, no more
                    passed = asyncio.ensure_future(previous.passed.wait())
                    try:
                        await asyncio.wait({passed, halt}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        passed.cancel()
                    if halt.done():
                        break
                if not self._may_send():
                    if self._renewal_due():
                        await self._renew()
                    if not self._may_send():
                        break
                wave = list(enumerate(deliveries))[first : first + size]
                if handover is None:  # the batch goes at once: one mark for all of it
                    held = await self.store.start_sending(
                        self.owner, [d.outbox_id for _, d in wave]
                    )
                    self.stats.handovers += 1
                    wave = [(i, d) for i, d in wave if d.outbox_id in held]
                previous = _Gate(len(wave)) if self._waves else None
                for index, delivery in wave:
                    tasks[index] = asyncio.ensure_future(
                        self._send(delivery, receipts[index], started, handover, previous)
                    )
                if handover is None and wave and marked is not None:
                    marked()
            waiting = {*tasks.values()}
            while waiting and not halt.done():
                done, _ = await asyncio.wait({*waiting, halt}, return_when=asyncio.FIRST_COMPLETED)
                waiting -= done
            if halt.done() and waiting:
                for index, task in tasks.items():
                    if not task.done() and deliveries[index].outbox_id not in started:
                        task.cancel()
                in_flight = [t for t in tasks.values() if not t.done() and not t.cancelled()]
                if in_flight:
                    await asyncio.wait(in_flight, timeout=STOP_GRACE_SECONDS)
                for task in in_flight:
                    if not task.done():
                        task.cancel()
                        self.stats.abandoned += 1
                await asyncio.gather(*tasks.values(), return_exceptions=True)
        finally:
            halt.cancel()
            keeper.cancel()
        outcomes: list[_Outcome] = []
        for index, delivery in enumerate(deliveries):
            sending = tasks.get(index)
            if sending is None or (sending.cancelled() and delivery.outbox_id not in started):
                outcomes.append(_Deferred())
            elif sending.cancelled():
                outcomes.append(Ambiguous("cut at stop while in flight"))
            else:
                outcomes.append(sending.result())
        return outcomes

    async def _send(
        self,
        delivery: Delivery,
        receipt: Receipt,
        started: set[int],
        handover: _Handover | None,
        gate: _Gate | None = None,
    ) -> _Outcome:
        try:
            if self.limiter is not None:
                await self.limiter.acquire(delivery.chat_id)
        finally:
            if gate is not None:
                gate.pass_one()
        if not self._may_send() and self._holding and not self._halt.is_set():
            await self._renew()  # the keeper renews on time; this only when it could not
        if not self._may_start():
            return _Deferred()
        if handover is not None and not await handover.mark(delivery.outbox_id):
            return _Deferred()  # no longer ours (or not marked): not sent
        if not self._may_start():  # a stop or a flood wait came while it was being marked
            return _Deferred()
        started.add(delivery.outbox_id)
        try:
            result = await self.sender.send(delivery, receipt)
        except Exception as exc:  # a sender bug must not lose the row: retry it
            log.exception("send_crashed", outbox_id=delivery.outbox_id, error=type(exc).__name__)
            return Transient(f"sender raised {type(exc).__name__}")
        if isinstance(result, FloodWait):
            until = self.real_clock.now() + timedelta(seconds=max(result.seconds, 0.0))
            if self._not_before is None or until > self._not_before:
                self._not_before = until
        return result

    def _may_start(self) -> bool:
        """Whether a send may start now: no flood wait in force, and ``_may_send``."""
        if self._not_before is not None and self.real_clock.now() < self._not_before:
            return False
        if not self._may_send():
            if self._stopping:
                self.stats.not_sent_stop += 1
            else:
                self.stats.not_sent_lease += 1
            return False
        return True

    async def _give_back(self, ahead: _ClaimAhead) -> TickReport:
        """The batch claimed ahead and not sent (the tick stopped early): its claim counted,
        its rows back to wait as they were (``_Deferred``: the attempt refunded)."""
        taken = await ahead.take()
        if taken is None:
            return TickReport(batches=0)
        report, deliveries = taken
        report.add(await self._record([(d, _Deferred(), Receipt()) for d in deliveries]))
        return report

    async def _record(self, outcomes: list[tuple[Delivery, _Outcome, Receipt]]) -> TickReport:
        """Record a batch's outcomes, and what their receipts hold, in one transaction."""
        report = TickReport(batches=0)
        if not outcomes:
            return report
        now = self.clock.now()
        real_now = self.real_clock.now()
        sent: list[tuple[Delivery, int]] = []
        later: list[tuple[int, datetime]] = []  # back to pending, attempt refunded
        retry: list[tuple[int, datetime]] = []
        unsure: list[tuple[int, datetime]] = []
        failed: list[int] = []
        blocked: dict[int, list[int]] = {}
        replan: set[int] = set()
        went_out = [(delivery, receipt) for delivery, _, receipt in outcomes if receipt]
        for delivery, outcome, _ in outcomes:
            if isinstance(outcome, Sent):
                sent.append((delivery, outcome.message_id))
            elif isinstance(outcome, FloodWait | _Deferred):
                later.append((delivery.outbox_id, delivery.due_at))
            elif isinstance(outcome, Blocked):
                blocked.setdefault(delivery.user_id, []).append(delivery.outbox_id)
            elif isinstance(outcome, Failed) or delivery.attempts >= self.max_attempts:
                failed.append(delivery.outbox_id)
                if delivery.planned:
                    replan.add(delivery.user_id)
                log.warning(
                    "send_gave_up",
                    outbox_id=delivery.outbox_id,
                    user_id=delivery.user_id,
                    attempts=delivery.attempts,
                    reason=outcome.reason,
                )
            else:
                wait = self.clock.clock_seconds(retry_delay(delivery.attempts))
                target = unsure if isinstance(outcome, Ambiguous) else retry
                target.append((delivery.outbox_id, now + timedelta(seconds=wait)))
                log.info(
                    "send_retry",
                    outbox_id=delivery.outbox_id,
                    attempts=delivery.attempts,
                    ambiguous=isinstance(outcome, Ambiguous),
                    reason=outcome.reason,
                )
        recorded = await self.store.record(
            BatchOutcome(
                owner=self.owner,
                now=now,
                real_now=real_now,
                sent=sent,
                deferred=later,
                retry=retry,
                unsure=unsure,
                failed=failed,
                blocked=blocked,
                replan=replan,
                not_before=self._not_before,
                went_out=went_out,
            )
        )
        if recorded.not_before is not None:
            self._not_before = recorded.not_before
        for user_id in blocked:
            log.info("user_blocked_bot", user_id=user_id, via="send")
        report.pause_offers = recorded.pause_offers
        report.sent = recorded.sent
        report.deferred = len(later)
        report.retried = len(retry)
        report.ambiguous = len(unsure)
        report.failed = len(failed)
        report.blocked = len(blocked)
        return report


class DispatchLoop:
    """Runs ticks one after another, sleeping in between until the next tick has something to
    do (``Dispatcher.seconds_until_wake``: a row falls due, a row lease runs out, the lease
    needs renewing) or until ``wake`` is called (a handler stored a row due soon). An idle bot
    wakes a few times a minute, for its lease. Sleeps are on the dispatcher's real clock."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        unavailable: Callable[[Exception], str | None] | None = None,
    ) -> None:
        """``unavailable(error)``: why storage cannot be used when ``error`` says it cannot
        (a full disk, a database that is down), None for anything else. Such a failure is one
        warning line when it starts, not a traceback a tick."""
        self.dispatcher = dispatcher
        self._unavailable = unavailable
        self._outage: str | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask for a tick as soon as the current one (if any) ends."""
        self._wake.set()

    def start(self) -> None:
        """Start the loop in the running event loop: the first tick runs at once."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="closer-dispatch")

    async def run(self) -> None:
        """Tick, then sleep until the next tick is due or ``wake`` is called, until ``stop``."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.dispatcher.tick()
                seconds = await self.dispatcher.seconds_until_wake()
            except Exception as exc:  # keep dispatching: the next wake tries again
                reason = self._unavailable(exc) if self._unavailable is not None else None
                if reason is None:
                    log.exception("dispatch_tick_failed")
                elif reason != self._outage:
                    log.warning("dispatch_paused", storage=reason)
                self._outage = reason
                seconds = ERROR_RETRY_SECONDS
            else:
                if self._outage is not None:
                    log.info("dispatch_resumed", after=self._outage)
                    self._outage = None
            await self._sleep(seconds)

    async def _sleep(self, seconds: float) -> None:
        if self._wake.is_set() or self._stopping:
            return
        sleeping = asyncio.ensure_future(self.dispatcher.real_clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            woken.cancel()

    async def stop(self) -> None:
        """Stop at once (``Dispatcher.halt``: no new send, in-flight sends finish or are cut),
        record what was sent, give the rest back and release the dispatcher lease."""
        self._stopping = True
        self.dispatcher.halt()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.dispatcher.release()

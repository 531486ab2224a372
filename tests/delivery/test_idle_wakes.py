"""An idle dispatcher sleeps: it wakes when a row falls due, for its lease, or when woken.

The dispatch loop runs on a ManualClock (its sleeps jump the clock instead of waiting) against
a store that counts its calls, so ten idle minutes take no time and every wake is seen.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from scheduler.clock import ManualClock
from scheduler.dispatcher import STANDBY_RETRY_SECONDS, Dispatcher, DispatchLoop
from scheduler.policy import CatalogItem
from scheduler.ports import BatchOutcome, Claim, LeaseState, Recorded, Settled
from scheduler.sending import Delivery, Receipt, SendResult, Sent

START = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=10)
IDLE = timedelta(minutes=10)


class OneRowStore:
    """A database with at most one waiting row (due at ``due``), every call counted.

    ``holder``: another dispatcher holds the lease (this one stands by)."""

    def __init__(self, due: datetime | None = None, holder: str | None = None) -> None:
        self.due = due
        self.holder = holder
        self.calls: Counter[str] = Counter()

    async def take_lease(
        self, owner: str, *, now: datetime, until: datetime, dead_owner: str | None = None
    ) -> LeaseState:
        self.calls["take_lease"] += 1
        if self.holder is not None:
            return LeaseState(held=False, fresh=False, owner=self.holder, until=now + LEASE)
        return LeaseState(held=True, fresh=self.calls["take_lease"] == 1, owner=owner, until=until)

    async def renew_lease(
        self, owner: str, *, now: datetime, until: datetime, rows_until: datetime
    ) -> bool:
        self.calls["renew_lease"] += 1
        return True

    async def lease_holders(self) -> set[str]:
        self.calls["lease_holders"] += 1
        return set()

    async def start_sending(self, owner: str, ids: Collection[int]) -> set[int]:
        self.calls["start_sending"] += 1
        return set(ids)

    async def release_lease(self, owner: str, now: datetime) -> None:
        self.calls["release_lease"] += 1

    async def not_before(self) -> datetime | None:
        self.calls["not_before"] += 1
        return None

    async def next_wakes(self) -> tuple[datetime | None, datetime | None]:
        self.calls["next_wakes"] += 1
        return self.due, None

    async def claim(self, claim: Claim, catalog: Sequence[CatalogItem]) -> tuple[int, Settled]:
        self.calls["claim"] += 1
        if self.due is None or self.due > claim.now:
            return 0, Settled()
        delivery = Delivery(
            outbox_id=1,
            user_id=1,
            chat_id=1,
            kind="text",
            item_id=None,
            payload={},
            due_at=self.due,
            attempts=1,
            planned=False,
        )
        self.due = None
        return 1, Settled(deliveries=[delivery])

    async def record(self, outcome: BatchOutcome) -> Recorded:
        self.calls["record"] += 1
        return Recorded(sent=len(outcome.sent), pause_offers=0, not_before=None)


class ClockedSender:
    """Notes the time of each send."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sent_at: list[datetime] = []

    async def send(self, delivery: Delivery, receipt: Receipt) -> SendResult:
        self.sent_at.append(self.clock.now())
        return Sent(message_id=len(self.sent_at))


def _loop(store: OneRowStore, clock: ManualClock) -> tuple[DispatchLoop, ClockedSender]:
    sender = ClockedSender(clock)
    dispatcher = Dispatcher(
        store, sender, [], clock=clock, real_clock=clock, dispatcher_lease=LEASE, owner="me"
    )
    return DispatchLoop(dispatcher), sender


async def _run_for(loop: DispatchLoop, clock: ManualClock, span: timedelta) -> None:
    """Run the loop until the clock has moved ``span``. The loop is the clock's only sleeper,
    so the clock jumps from one of its wakes to the next."""
    end = clock.now() + span
    loop.start()
    while clock.now() < end:  # noqa: ASYNC110 - turns, not time: the clock is the loop's
        await asyncio.sleep(0)
    await loop.stop()


async def test_an_idle_dispatcher_wakes_only_to_renew_its_lease() -> None:
    clock = ManualClock(START)
    store = OneRowStore(due=None)
    loop, sender = _loop(store, clock)

    await _run_for(loop, clock, IDLE)

    renewals = IDLE / (LEASE / 3)  # a third of the lease: 180 in ten minutes, not 600 ticks
    assert store.calls["take_lease"] <= renewals + 1
    assert store.calls["take_lease"] >= renewals - 1, "the lease is still kept"
    assert store.calls["claim"] == 0, "nothing was due: nothing claimed"
    assert store.calls["next_wakes"] <= store.calls["take_lease"], "one read per wake"
    assert sender.sent_at == []


async def test_a_row_that_falls_due_while_idle_goes_out_on_time() -> None:
    clock = ManualClock(START)
    due = START + timedelta(seconds=95.5)  # between two renewals
    store = OneRowStore(due=due)
    loop, sender = _loop(store, clock)

    await _run_for(loop, clock, timedelta(minutes=3))

    assert sender.sent_at == [due]
    assert store.calls["claim"] == 2, "claims only in the tick where it fell due (then: no more)"


async def test_a_row_far_ahead_costs_no_wake_of_its_own_until_it_is_due() -> None:
    clock = ManualClock(START)
    due = START + timedelta(hours=2)
    store = OneRowStore(due=due)
    loop, sender = _loop(store, clock)

    await _run_for(loop, clock, timedelta(hours=2, minutes=1))

    assert sender.sent_at == [due]
    # one wake per renewal, one at the due time, one at the start
    assert store.calls["take_lease"] <= timedelta(hours=2, minutes=1) / (LEASE / 3) + 3


async def test_woken_it_sends_a_new_row_at_once() -> None:
    clock = ManualClock(START)
    store = OneRowStore(due=None)
    loop, sender = _loop(store, clock)
    loop.start()
    await clock.sleep(61)  # idle, asleep until its next renewal (at 63.3 s); the test's own
    # sleeps keep the clock from jumping to it
    store.due = clock.now()  # a handler stored a row due now, and wakes the dispatcher
    woken_at = clock.now()
    loop.wake()
    for _ in range(1000):  # the clock moves a millisecond a turn: the renewal stays ahead
        if sender.sent_at:
            break
        await clock.sleep(0.001)
    await loop.stop()
    assert len(sender.sent_at) == 1
    assert sender.sent_at[0] - woken_at < timedelta(seconds=0.1), "at once, not at the renewal"


async def test_standing_by_it_asks_for_the_lease_every_second() -> None:
    clock = ManualClock(START)
    store = OneRowStore(due=None, holder="another")
    loop, _ = _loop(store, clock)

    await _run_for(loop, clock, timedelta(minutes=1))

    asks = timedelta(minutes=1).total_seconds() / STANDBY_RETRY_SECONDS
    assert asks - 1 <= store.calls["take_lease"] <= asks + 1
    assert store.calls["claim"] == 0

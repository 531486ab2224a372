"""A copy is counted only when a send may have happened: a row counts toward the two-copy bound
(``ambiguous_count``) once it was handed over for sending, not when it was only claimed.

The crash points are reached through the real storage functions (``claim_due``, the store's
``start_sending``) under the lease owner name of a process that has exited, so the successor
dispatcher proves it dead and adopts its rows at once, as after a SIGKILL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, select

from bot.delivery import build_dispatcher
from bot.storage.bot_state import DISPATCHER_LEASE_KEY, take_lease
from bot.storage.dispatch_store import SqlDispatchStore
from bot.storage.models import OutboxMessage
from bot.storage.outbox import AHEAD, claim_due
from scheduler.dispatcher import MAX_UNKNOWN_OUTCOMES, Dispatcher
from scheduler.ports import Claim
from scheduler.sending import Delivery, Receipt, Sender, SendResult
from tests.delivery.conftest import MONDAY, Harness, at
from tests.delivery.seeding import seed_due, seed_users
from tests.delivery.test_single_dispatcher import dead_owner

NOON = at(MONDAY, 12)
LEASE = timedelta(minutes=5)


async def due_rows(h: Harness, users: int) -> list[int]:
    """``users`` users, each with a nudge due at noon (now); the rows' ids."""
    h.clock.set(NOON)
    seeded = await seed_users(h.db, users, now=h.clock.now())
    for _, telegram_id in seeded:
        h.standin.user(telegram_id)
    return await seed_due(h.db, [user_id for user_id, _ in seeded], NOON)


async def claim_ahead(h: Harness, owner: str, adopt: frozenset[str] = frozenset()) -> list[int]:
    """``owner`` claims the due rows (and adopts those of ``adopt``) ahead, as a dispatcher
    with the rate limiter does, and holds the dispatcher lease: then it dies."""
    now = h.clock.now()
    claim = Claim(
        now=now,
        lease_now=now,
        owner=owner,
        lease_until=now + LEASE,
        limit=100,
        adopt_owners=adopt,
        ahead=True,
        max_unknown=MAX_UNKNOWN_OUTCOMES,
    )
    async with h.db.transaction(write=True) as session:
        claimed = await session.run_sync(lambda s: claim_due(s.connection(), claim))
    await h.db.run(take_lease, DISPATCHER_LEASE_KEY, owner, now=now, until=now + LEASE)
    assert not claimed.given_up
    return [row.id for row in claimed.rows]


async def outbox(h: Harness, ids: list[int]) -> dict[int, OutboxMessage]:
    async with h.db.transaction(write=False) as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        return {row.id: row for row in rows}


async def test_a_row_claimed_but_never_handed_over_is_sent_uncounted_and_a_handed_over_one_counts(
    harness: Harness,
) -> None:
    h = harness
    handed, claimed_only = await due_rows(h, 2)
    crashed = dead_owner()
    assert await claim_ahead(h, crashed) == [handed, claimed_only]
    store = SqlDispatchStore(h.db)
    assert await store.start_sending(crashed, [handed]) == {handed}  # then SIGKILL
    before = await outbox(h, [handed, claimed_only])
    assert before[handed].lease_owner == crashed
    assert before[claimed_only].lease_owner == crashed + AHEAD

    report = await build_dispatcher(h.app, h.services, real_clock=h.clock, owner="next").tick()

    assert report.sent == 2 and report.given_up == 0
    after = await outbox(h, [handed, claimed_only])
    assert after[handed].status == "sent"
    assert after[handed].ambiguous_count == 1, "handed over: its send may have arrived"
    assert after[handed].attempts == 2
    assert after[claimed_only].status == "sent"
    assert after[claimed_only].ambiguous_count == 0, "never handed over: not counted"
    assert after[claimed_only].attempts == 1, "nor an attempt"


async def test_however_often_its_holder_dies_a_row_never_handed_over_is_not_given_up(
    harness: Harness,
) -> None:
    h = harness
    (row_id,) = await due_rows(h, 1)
    user = h.standin.user(10_000)
    holder = dead_owner()
    await claim_ahead(h, holder)
    for _ in range(MAX_UNKNOWN_OUTCOMES + 1):  # each successor dies before handing it over
        successor = dead_owner()
        assert await claim_ahead(h, successor, adopt=frozenset({holder})) == [row_id]
        holder = successor
        (row,) = (await outbox(h, [row_id])).values()
        assert row.status == "sending" and row.ambiguous_count == 0 and row.attempts == 1

    report = await build_dispatcher(h.app, h.services, real_clock=h.clock, owner="last").tick()

    assert report.sent == 1 and report.given_up == 0
    (row,) = (await outbox(h, [row_id])).values()
    assert row.status == "sent" and row.ambiguous_count == 0 and row.last_error is None
    assert len(user.messages) == 1, "sent once"


class Watching:
    """The real sender, and at each send which rows of the batch are marked handed over in the
    database (lease owner without the ``AHEAD`` suffix) while not yet sent."""

    def __init__(self, h: Harness, sender: Sender, owner: str) -> None:
        self.h = h
        self.sender = sender
        self.owner = owner
        self.sent: set[int] = set()
        self.marked_itself: list[bool] = []  # whether the row was marked when its send began
        self.marked_others: list[set[int]] = []  # other rows marked, not sent, at that moment

    def _marked(self, connection: Connection) -> set[int]:
        rows = connection.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status == "sending", OutboxMessage.lease_owner == self.owner
            )
        )
        return set(rows)

    async def send(self, delivery: Delivery, receipt: Receipt) -> SendResult:
        marked = await self.h.db.run_read(self._marked)  # on SQLite, without a turn of the loop
        self.marked_itself.append(delivery.outbox_id in marked)
        self.marked_others.append(marked - self.sent - {delivery.outbox_id})
        self.sent.add(delivery.outbox_id)
        return await self.sender.send(delivery, receipt)


def watched(h: Harness, *, rate_limit: bool, batch_size: int = 100) -> tuple[Dispatcher, Watching]:
    dispatcher = build_dispatcher(
        h.app,
        h.services,
        real_clock=h.clock,
        rate_limit=rate_limit,
        batch_size=batch_size,
        owner="watched",
    )
    watching = Watching(h, dispatcher.sender, dispatcher.owner)
    dispatcher.sender = watching
    return dispatcher, watching


async def test_with_the_limiter_only_the_row_being_sent_is_marked_handed_over(
    harness: Harness,
) -> None:
    h = harness
    ids = await due_rows(h, 40)  # more than a wave, more than a second of sends
    dispatcher, watching = watched(h, rate_limit=True)

    report = await dispatcher.tick()

    assert report.sent == len(ids)
    assert all(watching.marked_itself), "each row is marked before its send"
    assert watching.marked_others == [set()] * len(ids), (
        "no other row is marked and unsent when a send begins: a crash over-counts at most the "
        "row being sent"
    )
    assert dispatcher.stats.handovers == len(ids)  # a mark a row, at the limiter's pace


async def test_without_the_limiter_a_batch_is_marked_in_one_transaction(harness: Harness) -> None:
    h = harness
    ids = await due_rows(h, 250)
    dispatcher, watching = watched(h, rate_limit=False, batch_size=100)

    report = await dispatcher.tick()

    assert report.sent == len(ids) and report.batches == 3 + 1  # the last claim finds none
    assert dispatcher.stats.handovers == 3, "one mark a batch, not a row"
    assert all(watching.marked_itself)
    assert max(len(others) for others in watching.marked_others) < 100, "within its batch"

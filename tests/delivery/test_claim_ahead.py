"""Without the rate limiter the next batch is claimed while the current one is being sent: its
rows are leased claimed ahead (not handed over), none of them belongs to a user of the batch
being sent, and where the tick stops early (a stop, a crash) they go back as they were.

The real dispatcher and sender on the stand-in, on SQLite and PostgreSQL; the sender is wrapped
only to hold a send of the first batch while the test looks at the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import Connection, select

from bot.delivery import build_dispatcher
from bot.storage.models import OutboxMessage
from bot.storage.outbox import AHEAD
from scheduler.dispatcher import Dispatcher
from scheduler.sending import Delivery, Receipt, SendResult, Transient
from tests.delivery.conftest import Harness
from tests.delivery.seeding import seed_due, seed_users
from tests.delivery.test_handover import NOON, due_rows, outbox
from tests.delivery.test_single_dispatcher import dead_owner

BATCH = 20
SEEN_WITHIN = 5.0  # real seconds the held send waits for the next batch to be claimed ahead


@pytest.fixture
def h(harness_on_any_db: Harness) -> Harness:
    return harness_on_any_db


class Held:
    """The real sender; the first send waits until rows are leased claimed ahead (the next
    batch), notes them and which rows were then handed over and unrecorded, and runs
    ``at_first``. At every send it notes how many rows are handed over and unrecorded."""

    def __init__(
        self,
        h: Harness,
        dispatcher: Dispatcher,
        at_first: Callable[[], Awaitable[object]] | None = None,
        *,
        send: bool = True,
    ) -> None:
        self.h = h
        self.sender = dispatcher.sender
        self.owner = dispatcher.owner
        self.at_first = at_first
        self.send_for_real = send
        self.ahead: set[int] | None = None  # leased ahead while the first send was held
        self.handed_over: set[int] = set()  # handed over, unrecorded, at that moment
        self.unrecorded: list[int] = []  # at each send: rows handed over and not recorded
        self.seen = asyncio.Event()
        dispatcher.sender = self

    def _leased(self, connection: Connection, owner: str) -> set[int]:
        rows = connection.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status == "sending", OutboxMessage.lease_owner == owner
            )
        )
        return set(rows)

    async def _wait_for_ahead(self) -> set[int]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEEN_WITHIN
        while loop.time() < deadline:
            ahead = await self.h.db.run_read(self._leased, self.owner + AHEAD)
            if ahead:
                return ahead
            await asyncio.sleep(0.01)
        return set()

    async def send(self, delivery: Delivery, receipt: Receipt) -> SendResult:
        first = self.ahead is None
        if first:
            self.ahead = set()
            self.ahead = await self._wait_for_ahead()
            self.handed_over = await self.h.db.run_read(self._leased, self.owner)
            self.seen.set()
            if self.at_first is not None:
                await self.at_first()
        self.unrecorded.append(len(await self.h.db.run_read(self._leased, self.owner)))
        if not self.send_for_real:
            return Transient("abandoned")
        return await self.sender.send(delivery, receipt)


def dispatcher(h: Harness, owner: str) -> Dispatcher:
    return build_dispatcher(
        h.app, h.services, real_clock=h.clock, rate_limit=False, batch_size=BATCH, owner=owner
    )


async def user_ids(h: Harness, ids: list[int]) -> dict[int, int]:
    return {row.id: row.user_id for row in (await outbox(h, ids)).values()}


async def messages_per_chat(h: Harness, count: int) -> list[int]:
    return [len(h.standin.user(10_000 + n).messages) for n in range(count)]


async def test_the_next_batch_is_claimed_ahead_while_one_is_sent_and_each_row_goes_once(
    h: Harness,
) -> None:
    ids = await due_rows(h, 2 * BATCH + BATCH // 2)
    sending = dispatcher(h, "pipe")
    held = Held(h, sending)

    report = await sending.tick()

    assert held.ahead, "the next batch was claimed while a send of the first was in flight"
    assert len(held.ahead) == BATCH and len(held.handed_over) == BATCH
    assert not held.ahead & held.handed_over
    users = await user_ids(h, ids)
    assert not {users[i] for i in held.ahead} & {users[i] for i in held.handed_over}
    assert max(held.unrecorded) <= BATCH, "one batch sent and not recorded, no more"
    assert report.sent == len(ids) and report.deferred == 0
    assert report.batches == 4  # three claims of rows; the last finds none
    rows = await outbox(h, ids)
    assert all(row.status == "sent" and row.attempts == 1 for row in rows.values())
    assert all(row.ambiguous_count == 0 for row in rows.values())
    assert await messages_per_chat(h, len(ids)) == [1] * len(ids), "each row sent once"


async def test_a_stop_while_a_batch_is_sent_gives_the_batch_claimed_ahead_back(
    h: Harness,
) -> None:
    ids = await due_rows(h, 2 * BATCH + BATCH // 2)
    sending = dispatcher(h, "pipe")

    async def stop() -> None:
        sending.halt()

    held = Held(h, sending, stop)

    report = await sending.tick()
    await sending.release()

    assert held.ahead and len(held.ahead) == BATCH
    assert report.sent == BATCH and report.deferred == BATCH
    rows = await outbox(h, ids)
    for row_id in held.ahead:
        row = rows[row_id]
        assert row.status == "pending" and row.lease_until is None
        assert row.attempts == 0 and row.ambiguous_count == 0, "given back as it was"
    assert all(rows[i].status == "sent" for i in held.handed_over)

    after = await dispatcher(h, "next").tick()

    assert after.sent == len(ids) - BATCH
    rows = await outbox(h, ids)
    assert all(row.status == "sent" and row.attempts == 1 for row in rows.values())
    assert all(row.ambiguous_count == 0 for row in rows.values())
    assert await messages_per_chat(h, len(ids)) == [1] * len(ids)


async def test_a_user_in_the_batch_being_sent_is_left_out_of_the_batch_claimed_ahead(
    h: Harness,
) -> None:
    """Her second row is settled only after her first is recorded: it moves to another day
    (one nudge a local day) instead of going out with the same item."""
    h.clock.set(NOON)
    seeded = await seed_users(h.db, 2 * BATCH + 5, now=NOON)
    for _, telegram_id in seeded:
        h.standin.user(telegram_id)
    users = [user_id for user_id, _ in seeded]
    her = users[0]
    first = await seed_due(h.db, users[:BATCH], NOON - timedelta(minutes=2))
    (her_first,) = [i for i, u in (await user_ids(h, first)).items() if u == her]
    # Her second row is the first due after the first batch: claimed ahead, were she not
    # left out.
    (her_second,) = set(await seed_due(h.db, [her], NOON - timedelta(minutes=1))) - set(first)
    await seed_due(h.db, users[BATCH:], NOON - timedelta(minutes=1))
    sending = dispatcher(h, "pipe")

    report = await sending.tick()

    chat = h.standin.user(seeded[0][1])
    assert len(chat.messages) == 1, "one nudge, not her second with the same item"
    rows = await outbox(h, [her_first, her_second])
    assert rows[her_first].status == "sent"
    assert rows[her_second].status != "sent"
    assert report.sent == len(users) and report.moved == 1, "moved: she had her nudge today"


async def test_after_a_crash_the_batch_claimed_ahead_is_taken_again_uncounted(
    h: Harness,
) -> None:
    ids = await due_rows(h, 2 * BATCH + BATCH // 2)
    crashed = dispatcher(h, dead_owner())
    resume = asyncio.Event()
    held = Held(h, crashed, resume.wait, send=False)  # its sends never leave
    abandoned = asyncio.ensure_future(crashed.tick())
    try:
        await asyncio.wait_for(held.seen.wait(), SEEN_WITHIN * 2)
        assert held.ahead and len(held.ahead) == BATCH
        at_crash = await outbox(h, ids)
        assert {at_crash[i].lease_owner for i in held.ahead} == {crashed.owner + AHEAD}
        assert {at_crash[i].lease_owner for i in held.handed_over} == {crashed.owner}

        report = await dispatcher(h, "successor").tick()  # proves it dead: adopts at once

        assert report.sent == len(ids)
        rows = await outbox(h, ids)
        assert all(row.status == "sent" for row in rows.values())
        for row_id in held.ahead:
            assert rows[row_id].ambiguous_count == 0, "never handed over: not counted"
            assert rows[row_id].attempts == 1, "nor an attempt"
        for row_id in held.handed_over:
            assert rows[row_id].ambiguous_count == 1 and rows[row_id].attempts == 2
        assert await messages_per_chat(h, len(ids)) == [1] * len(ids)
    finally:
        crashed.halt()
        resume.set()
        await abandoned

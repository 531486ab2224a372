"""Only one dispatcher sends for a bot; a successor adopts what a dead one left in flight."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select, update
from structlog.testing import capture_logs

from bot.delivery import build_dispatcher
from bot.storage.bot_state import DISPATCHER_LEASE_KEY, take_lease
from bot.storage.models import OutboxMessage
from bot.storage.outbox import UNKNOWN_TWICE, claim_due
from scheduler.dispatcher import default_owner, owner_is_dead
from scheduler.ports import Claim
from tests.delivery.conftest import Harness, onboard


async def test_a_second_dispatcher_on_the_same_database_refuses_to_send(
    harness: Harness,
) -> None:
    h = harness
    user = h.standin.user(42)
    await onboard(h, user)
    second = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="second")
    due = await h.next_due()
    assert due is not None
    h.clock.set(due - timedelta(seconds=1))
    assert (await h.tick()).active  # the first dispatcher holds the lease
    h.clock.set(due)
    before = len(user.messages)

    with capture_logs() as logs:
        report = await second.tick()
        again = await second.tick()

    assert not report.active and report.claimed == 0 and not again.active
    assert len(user.messages) == before, "the second instance sent nothing"
    standby = [entry for entry in logs if entry["event"] == "dispatcher_standby"]
    assert len(standby) == 1, "it says so, once"
    assert "another dispatcher is active" in standby[0]["reason"]

    assert (await h.tick()).sent == 1, "the first one carries on"


async def test_a_successor_takes_over_after_a_clean_stop_or_when_the_lease_runs_out(
    harness: Harness,
) -> None:
    h = harness
    await h.tick()
    second = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="second")
    assert not (await second.tick()).active

    await h.dispatcher.release()  # a clean stop gives the lease up at once
    assert (await second.tick()).active

    third = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="third")
    assert not (await third.tick()).active
    h.clock.advance(h.dispatcher.dispatcher_lease + timedelta(seconds=1))  # "second" died
    assert (await third.tick()).active


def dead_owner() -> str:
    """The lease owner name of a process of this host that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    host, _, namespace, _ = default_owner().split(":")
    return f"{host}:{process.pid}:{namespace}:deadbeef"


async def _claim_as(h: Harness, owner: str, lease: timedelta) -> int:
    """``owner`` claims the due row, as a dispatcher that then stops answering would."""
    async with h.db.transaction(write=True) as session:
        claim = Claim(
            now=h.clock.now(),
            lease_now=h.clock.now(),
            owner=owner,
            lease_until=h.clock.now() + lease,
            limit=10,
        )
        (row,) = (await session.run_sync(lambda s: claim_due(s.connection(), claim))).rows
    return row.id


async def _due_row(h: Harness) -> None:
    user = h.standin.user(42)
    await onboard(h, user)
    due = await h.next_due()
    assert due is not None
    h.clock.set(due)


async def test_rows_of_a_dead_process_on_this_host_are_adopted_at_once_and_counted_ambiguous(
    harness: Harness,
) -> None:
    h = harness
    await _due_row(h)
    owner = dead_owner()
    assert owner_is_dead(owner) and not owner_is_dead(h.dispatcher.owner)
    row_id = await _claim_as(h, owner, timedelta(minutes=5))
    now = h.clock.now()  # it held the dispatcher lease too
    await h.db.run(
        take_lease, DISPATCHER_LEASE_KEY, owner, now=now, until=now + timedelta(minutes=5)
    )
    successor = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="successor")

    report = await successor.tick()

    assert report.active and report.sent == 1, "adopted at once, without waiting out the leases"
    async with h.db.transaction(write=False) as session:
        sent = await session.get(OutboxMessage, row_id)
        assert sent is not None and sent.status == "sent" and sent.ambiguous_count == 1
        pending = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "sending")
        )
        assert list(pending) == []


async def test_rows_of_a_live_owner_wait_until_their_own_lease_runs_out(harness: Harness) -> None:
    h = harness
    await _due_row(h)
    alive = "another-host:4242:1:cafecafe"  # nothing proves it dead
    row_id = await _claim_as(h, alive, timedelta(seconds=30))
    h.clock.advance(h.dispatcher.dispatcher_lease + timedelta(seconds=1))
    successor = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="successor")

    report = await successor.tick()
    assert report.active and report.claimed == 0, "its row lease still runs: not adopted"

    h.clock.advance(timedelta(seconds=30))
    report = await successor.tick()
    assert report.sent == 1, "adopted once its own lease ran out"
    async with h.db.transaction(write=False) as session:
        sent = await session.get(OutboxMessage, row_id)
        assert sent is not None and sent.status == "sent" and sent.ambiguous_count == 1


async def test_a_row_whose_outcome_was_unknown_twice_is_not_sent_a_third_time(
    harness: Harness,
) -> None:
    h = harness
    await _due_row(h)
    user = h.standin.user(42)
    before = len(user.messages)
    row_id = await _claim_as(h, dead_owner(), timedelta(minutes=5))  # crash one
    async with h.db.transaction(write=True) as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(ambiguous_count=1)  # crash zero: it was adopted once already
        )
    successor = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="successor")

    report = await successor.tick()

    assert report.given_up == 1 and report.sent == 0
    assert len(user.messages) == before, "not sent a third time"
    async with h.db.transaction(write=False) as session:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None and row.status == "failed" and row.ambiguous_count == 2
        assert row.last_error == UNKNOWN_TWICE
        waiting = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.status == "pending", OutboxMessage.planned.is_(True)
            )
        )
        assert list(waiting), "the next nudge is planned"


async def test_after_a_nudge_given_up_as_unknown_twice_the_next_one_is_not_the_same_day(
    harness: Harness,
) -> None:
    """Given up after two unknown outcomes, the nudge most likely reached her (perhaps twice):
    the next one is planned as after a sent nudge, not at a slot still ahead that same day."""
    h = harness
    user = h.standin.user(42)
    await onboard(h, user)
    slot = await h.next_due()  # a later day's slot
    assert slot is not None
    async with h.db.transaction(write=True) as session:
        await session.execute(  # a nudge held over from yesterday, still being tried today
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.kind == "item")
            .values(due_at=slot - timedelta(days=1))
        )
    h.clock.set(slot - timedelta(minutes=20))  # today's slot is still ahead
    before = len(user.messages)
    row_id = await _claim_as(h, dead_owner(), timedelta(minutes=5))
    async with h.db.transaction(write=True) as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row_id).values(ambiguous_count=1)
        )
    successor = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="successor")

    report = await successor.tick()

    assert report.given_up == 1 and len(user.messages) == before
    async with h.db.transaction(write=False) as session:
        planned = list(
            await session.scalars(
                select(OutboxMessage.due_at).where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.planned.is_(True),
                    OutboxMessage.kind == "item",
                )
            )
        )
    assert len(planned) == 1, planned
    assert planned[0].date() > slot.date(), (
        f"the next nudge is not planned later the same day ({planned[0]:%H:%M}, the slot)"
    )

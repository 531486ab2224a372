"""Only one dispatcher sends for a bot; a successor adopts what a dead one left in flight."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from structlog.testing import capture_logs

from bot.delivery import build_dispatcher
from bot.storage.models import OutboxMessage
from bot.storage.outbox import claim_due
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


async def test_rows_a_dead_dispatcher_held_are_sent_by_its_successor_and_counted_ambiguous(
    harness: Harness,
) -> None:
    h = harness
    user = h.standin.user(42)
    await onboard(h, user)
    due = await h.next_due()
    assert due is not None
    h.clock.set(due - timedelta(seconds=1))
    await h.tick()  # the first dispatcher holds the lease
    h.clock.set(due)
    # It claims the row and dies before sending (or before recording the send).
    async with h.db.transaction() as session:
        (row,) = await claim_due(
            session,
            now=h.clock.now(),
            lease_now=h.clock.now(),
            owner=h.dispatcher.owner,
            lease_until=h.clock.now() + timedelta(minutes=5),
            limit=10,
        )
    h.clock.advance(h.dispatcher.dispatcher_lease + timedelta(seconds=1))
    successor = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="successor")

    report = await successor.tick()

    assert report.active and report.sent == 1, "adopted at once, without waiting out the lease"
    async with h.db.transaction(write=False) as session:
        sent = await session.get(OutboxMessage, row.id)
        assert sent is not None and sent.status == "sent" and sent.ambiguous_count == 1
        pending = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "sending")
        )
        assert list(pending) == []

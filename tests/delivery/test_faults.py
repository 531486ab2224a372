"""Telegram's faults, injected into the stand-in: flood control, 403, 5xx, timeouts."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.delivery import build_dispatcher
from bot.standin import UserActor, faults
from bot.storage.bot_state import not_before as flood_wait_until
from bot.storage.models import OutboxMessage, User
from scheduler.dispatcher import retry_delay
from tests.delivery.conftest import MONDAY, Harness, days, onboard


async def item_rows(h: Harness, status: str | None = None) -> list[OutboxMessage]:
    async with h.db.transaction(write=False) as session:
        statement = select(OutboxMessage).where(OutboxMessage.kind == "item")
        if status is not None:
            statement = statement.where(OutboxMessage.status == status)
        return list(await session.scalars(statement.order_by(OutboxMessage.id)))


def sends_to(h: Harness, chat_id: int, *, ok: bool | None = None, since: int = 0) -> int:
    """sendMessage calls to this chat (from index ``since`` of the stand-in's call log)."""
    return len(
        [
            call
            for call in h.standin.calls[since:]
            if call.method.lower() == "sendmessage"
            if str(call.params.get("chat_id")) == str(chat_id) and (ok is None or call.ok == ok)
        ]
    )


async def first_slot(h: Harness, user: UserActor) -> datetime:
    """Onboard the user and move the clock to their first planned nudge."""
    await onboard(h, user)
    due = await h.next_due()
    assert due is not None
    h.clock.set(due)
    return due


def mark(h: Harness) -> int:
    return len(h.standin.calls)


async def test_a_429_is_waited_out_even_across_a_restart(harness: Harness) -> None:
    h = harness
    user = h.standin.user(42)
    await first_slot(h, user)
    start = mark(h)
    h.standin.inject_fault("sendMessage", faults.RetryAfter(30))

    report = await h.tick()
    assert report.flood_wait and report.sent == 0 and report.deferred == 1
    hit = h.clock.now()
    not_before = await h.db.run_read(flood_wait_until)
    assert not_before is not None and not_before >= hit + timedelta(seconds=29)

    h.clock.advance(seconds=10)
    assert (await h.tick()).claimed == 0, "nothing is even claimed during the wait"

    # A restart (a new dispatcher, as after a crash or a deploy) honours the stored time.
    await h.dispatcher.release()
    successor = build_dispatcher(h.app, h.services, real_clock=h.clock, owner="successor")
    report = await successor.tick()
    assert report.active and report.flood_wait and report.sent == 0

    h.clock.set(not_before)
    report = await successor.tick()
    assert report.sent == 1
    assert user.messages[-1].date >= not_before, "the next send happens only after the wait"
    assert sends_to(h, 42, ok=True, since=start) == 1


async def test_a_403_marks_the_user_blocked_and_stops_every_send(harness: Harness) -> None:
    h = harness
    blocker, other = h.standin.user(42), h.standin.user(43)
    await onboard(h, blocker)
    await onboard(h, other)
    start = mark(h)
    h.standin.inject_fault("sendMessage", faults.Forbidden(), times=1000, chat_id=42)

    await h.run_until(MONDAY + days(14))

    assert sends_to(h, 42, since=start) == 1, "one 403, then nothing more is tried"
    async with h.db.transaction(write=False) as session:
        users = {u.telegram_id: u for u in await session.scalars(select(User))}
        waiting = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.user_id == users[42].id,
                OutboxMessage.status.in_(("pending", "ambiguous", "sending")),
            )
        )
        assert list(waiting) == []
    assert users[42].blocked_at is not None and users[43].blocked_at is None
    assert sends_to(h, 43, ok=True, since=start) >= 4, "other users are not affected"


async def test_5xx_errors_are_retried_with_backoff_and_nothing_is_lost(harness: Harness) -> None:
    h = harness
    user = h.standin.user(42)
    due = await first_slot(h, user)
    start = mark(h)
    h.standin.inject_fault("sendMessage", faults.ServerError(502), times=2)

    await h.run_until(due + timedelta(hours=1))

    sent = await item_rows(h, "sent")
    assert len(sent) == 2  # onboarding's step 1, then this nudge
    assert sends_to(h, 42, ok=False, since=start) == 2
    assert sends_to(h, 42, ok=True, since=start) == 1
    row = sent[-1]
    assert row.attempts == 3 and row.ambiguous_count == 0
    assert row.sent_at is not None
    assert row.sent_at >= due + timedelta(seconds=retry_delay(1) + retry_delay(2))


async def test_a_timeout_is_counted_ambiguous_and_retried(harness: Harness) -> None:
    h = harness
    user = h.standin.user(42)
    due = await first_slot(h, user)
    start = mark(h)
    h.standin.inject_fault("sendMessage", faults.Timeout(delivered=False))

    report = await h.tick()
    assert report.ambiguous == 1
    (row,) = await item_rows(h, "ambiguous")
    assert row.ambiguous_count == 1

    await h.run_until(due + timedelta(hours=1))
    sent = await item_rows(h, "sent")
    assert sends_to(h, 42, ok=True, since=start) == 1 and len(sent) == 2
    assert sent[-1].ambiguous_count == 1


async def test_a_timeout_that_did_arrive_duplicates_once_within_the_in_flight_bound(
    harness: Harness,
) -> None:
    h = harness
    user = h.standin.user(42)
    due = await first_slot(h, user)
    h.standin.inject_fault("sendMessage", faults.Timeout(delivered=True))

    await h.run_until(due + timedelta(hours=1))

    texts = [m.text for m in user.messages if m.date >= due]
    assert len(texts) == 2 and texts[0] == texts[1], "at least once: the retry is a duplicate"
    assert len(texts) - 1 <= h.dispatcher.batch_size
    (row,) = [r for r in await item_rows(h, "sent") if r.planned]
    assert row.ambiguous_count == 1


async def test_many_users_through_5xx_and_timeouts_all_get_their_nudge(harness: Harness) -> None:
    h = harness
    users = [h.standin.user(100 + n) for n in range(12)]
    for user in users:
        await onboard(h, user)
    start = mark(h)
    h.standin.inject_fault("sendMessage", faults.ServerError(503), times=5)
    h.standin.inject_fault("sendMessage", faults.Timeout(delivered=False), times=3)
    h.standin.inject_fault("sendMessage", faults.ServerError(500), times=2)

    await h.run_until(MONDAY + days(2) + timedelta(hours=12))  # past Wednesday's slots

    for user in users:
        assert sends_to(h, user.user_id, ok=True, since=start) == 1, f"user {user.user_id}"
    assert all(r.status == "sent" for r in await item_rows(h) if r.planned and r.sent_at)


async def test_a_send_that_keeps_failing_is_given_up_and_the_next_slot_still_comes(
    harness: Harness,
) -> None:
    h = harness
    user = h.standin.user(42)
    due = await first_slot(h, user)
    start = mark(h)
    attempts = h.dispatcher.max_attempts
    h.standin.inject_fault("sendMessage", faults.ServerError(502), times=attempts)

    await h.run_until(due + timedelta(hours=1))
    failed = await item_rows(h, "failed")
    assert len(failed) == 1 and failed[0].attempts == h.dispatcher.max_attempts

    await h.run_until(due + days(3))
    assert sends_to(h, 42, ok=True, since=start) == 1, "the following slot is planned and sent"


async def test_a_tip_whose_send_failed_after_its_commit_goes_out_once_later(
    harness: Harness,
) -> None:
    # /tip's update is recorded as handled with the tip's row, so it is not handled again:
    # the row is leased to the handler for a while, then the dispatcher sends it.
    h = harness
    user = h.standin.user(42)
    await onboard(h, user)
    start = mark(h)
    h.standin.inject_fault("sendMessage", faults.ServerError(502), chat_id=42)
    await user.send("/tip")
    with contextlib.suppress(AssertionError):  # the send's error reached the error handler
        await h.pump()
    assert [type(error).__name__ for error in h.errors] == ["NetworkError"]
    h.errors.clear()
    (tip,) = [row for row in await item_rows(h, "sending")]
    assert sends_to(h, 42, ok=False, since=start) == 1  # the tip, refused
    after = mark(h)

    assert (await h.tick()).sent == 0  # still the handler's
    h.clock.advance(minutes=3)
    assert (await h.tick()).sent == 1
    sent = {row.id: row for row in await item_rows(h, "sent")}
    assert sent[tip.id].ambiguous_count == 1  # its outcome was unknown: a copy counted
    assert sends_to(h, 42, since=after) == 1  # the tip, once
    assert (await h.tick()).sent == 0

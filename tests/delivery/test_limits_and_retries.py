"""Telegram's own flood limits switched on in the stand-in, a check-in that fails part-way,
snoozed nudges against quiet hours and one nudge a local day, and the nudge fast path."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from bot.standin import ApiError, RateLimits, TelegramStandIn
from bot.storage.db import Database
from bot.storage.models import OutboxMessage, Poll
from scheduler.clock import ManualClock
from scheduler.planner import PAUSE_OFFER_TEXT
from tests.delivery.conftest import MONDAY, Harness, at, days, make_harness, onboard
from tests.delivery.seeding import seed_due, seed_users

NOON = at(MONDAY, 12)
USERS = 70  # more than Telegram's 30 a second
EXTRA_TO_ONE_CHAT = 4  # several messages to one chat: 1 a second there


@pytest.fixture
async def unlimited(
    standin: TelegramStandIn, migrated_db: Database, clock: ManualClock
) -> AsyncIterator[Harness]:
    """A harness whose dispatcher does not pace itself (CLOSER_RATE_LIMIT=false)."""
    async for made in make_harness(standin, migrated_db, clock, rate_limit=False):
        yield made


async def seed_burst(h: Harness) -> dict[int, int]:
    """``USERS`` users each with a nudge due at noon, one of them with several more messages
    (pause offers); the messages each chat should get."""
    h.clock.set(NOON)
    users = await seed_users(h.db, USERS, now=h.clock.now())
    for _, telegram_id in users:
        h.standin.user(telegram_id)
    await seed_due(h.db, [user_id for user_id, _ in users], NOON)
    crowded_user, crowded_chat = users[0]
    async with h.db.transaction(write=True) as session:
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "user_id": crowded_user,
                    "kind": "text",
                    "payload": {"text": PAUSE_OFFER_TEXT},
                    "due_at": NOON,
                    "status": "pending",
                    "planned": False,
                    "created_at": NOON,
                }
                for _ in range(EXTRA_TO_ONE_CHAT)
            ],
        )
    expected = {telegram_id: 1 for _, telegram_id in users}
    expected[crowded_chat] += EXTRA_TO_ONE_CHAT
    return expected


def delivered(h: Harness) -> Counter[int]:
    return Counter(
        int(call.params["chat_id"])
        for call in h.standin.calls
        if call.method.lower() == "sendmessage" and call.ok
    )


def answered_429(h: Harness) -> int:
    return sum(1 for call in h.standin.calls if call.error_code == 429)


async def all_rows_sent(h: Harness) -> bool:
    """Every row due at noon is sent (the next ones planned after them are not due yet)."""
    async with h.db.transaction(write=False) as session:
        due = select(OutboxMessage.status).where(OutboxMessage.due_at <= NOON)
        statuses = list(await session.scalars(due))
    return len(statuses) == USERS + EXTRA_TO_ONE_CHAT and set(statuses) == {"sent"}


async def test_closers_limiter_keeps_under_telegrams_limits(harness: Harness) -> None:
    h = harness
    expected = await seed_burst(h)
    h.standin.enable_rate_limits(RateLimits())

    report = await h.tick()

    assert report.sent == sum(expected.values()) and not report.flood_wait
    assert delivered(h) == expected, "every nudge arrives, once"
    assert answered_429(h) == 0, "Closer's own limiter kept under Telegram's limits"
    assert await all_rows_sent(h)
    assert h.clock.now() - NOON >= timedelta(seconds=(sum(expected.values()) - 1) / 30)


async def test_without_the_limiter_telegrams_429s_are_waited_out_and_nothing_is_lost(
    unlimited: Harness,
) -> None:
    h = unlimited
    expected = await seed_burst(h)
    h.standin.enable_rate_limits(RateLimits())

    for _ in range(60):
        report = await h.tick()
        if delivered(h) == expected and not report.flood_wait:
            break
        h.clock.advance(seconds=1)

    assert answered_429(h) > 0, "the burst did hit Telegram's limits"
    assert delivered(h) == expected, "every nudge arrives, once"
    assert await all_rows_sent(h)


@pytest.mark.parametrize("failing_poll", [1, 2, 3])
async def test_a_checkin_that_fails_part_way_sends_only_what_is_missing(
    harness: Harness, failing_poll: int
) -> None:
    h = harness
    user = h.standin.user(42)
    await onboard(h, user)
    send_poll = h.standin._methods["sendpoll"]
    polls_tried = 0

    async def second_poll_fails(params: Any, files: Any) -> Any:
        nonlocal polls_tried
        polls_tried += 1
        if polls_tried == failing_poll:
            raise ApiError(502, "Bad Gateway")
        return await send_poll(params, files)

    h.standin._methods["sendpoll"] = second_poll_fails

    await h.run_until(MONDAY + days(7))  # past the first Sunday's check-in

    assert polls_tried == 5, "four questions, one of them tried twice"
    polls = [m for m in user.messages if m.poll is not None]
    assert len(polls) == 4
    intro = h.services.library.render_text("checkin_intro")
    intros = [
        call
        for call in h.standin.calls
        if call.method.lower() == "sendmessage" and call.ok and call.params.get("text") == intro
    ]
    assert len(intros) == 1, "the intro is not sent again"
    async with h.db.transaction(write=False) as session:
        stored = list(await session.scalars(select(Poll).order_by(Poll.id)))
        (row,) = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "poll", OutboxMessage.status == "sent"
            )
        )
    assert len(stored) == 4 and len({p.question_id for p in stored}) == 4
    assert {p.outbox_id for p in stored} == {row.id}
    assert row.status == "sent" and row.attempts == 2
    assert row.telegram_message_id == stored[0].telegram_message_id


async def add_snooze(h: Harness, user_id: int, item_id: str, due: datetime) -> int:
    (row_id,) = [
        i
        for i in await seed_due(h.db, [user_id], due, planned=False, item_id=item_id)
        if i not in {r.id for r in await h.rows() if r.due_at != due or r.planned}
    ]
    return row_id


async def mark_sent(h: Harness, user_id: int, item_id: str, at_: datetime) -> None:
    async with h.db.transaction(write=True) as session:
        await session.execute(
            insert(OutboxMessage).values(
                user_id=user_id,
                kind="item",
                item_id=item_id,
                due_at=at_,
                status="sent",
                planned=True,
                sent_at=at_,
                telegram_message_id=1,
                created_at=at_,
            )
        )


async def row(h: Harness, row_id: int) -> OutboxMessage:
    return next(r for r in await h.rows() if r.id == row_id)


async def test_a_snooze_goes_when_promised_and_the_planned_nudge_of_its_day_moves(
    harness: Harness,
) -> None:
    h = harness
    h.clock.set(at(MONDAY, 9))
    ((user_id, telegram_id),) = await seed_users(h.db, 1, now=h.clock.now())
    user = h.standin.user(telegram_id)
    first, second = (item.id for item in h.services.library.all_items()[:2])
    await mark_sent(h, user_id, first, at(MONDAY, 9))  # today's nudge

    # A snooze is a promise: one nudge a local day does not push it to another day.
    other = await add_snooze(h, user_id, second, at(MONDAY, 15))
    h.clock.set(at(MONDAY, 15))
    report = await h.tick()
    assert report.sent == 1 and report.moved == 0
    assert (await row(h, other)).status == "sent"
    assert len(user.messages) == 1

    # One snoozed to a day with a planned nudge takes that day: the planned one moves.
    (planned,) = await seed_due(h.db, [user_id], at(MONDAY + days(1), 9, 5))
    snoozed = await add_snooze(h, user_id, first, at(MONDAY + days(1), 9, 10))
    h.clock.set(at(MONDAY + days(1), 9, 5))
    report = await h.tick()
    assert report.sent == 0 and report.moved == 1
    assert (await row(h, planned)).due_at.date() > (MONDAY + days(1)).date()
    h.clock.set(at(MONDAY + days(1), 9, 10))
    assert (await h.tick()).sent == 1
    assert (await row(h, snoozed)).status == "sent"


async def test_a_snooze_missed_by_an_outage_into_quiet_hours_waits_for_her_time(
    harness: Harness,
) -> None:
    h = harness
    h.clock.set(at(MONDAY, 9))
    ((user_id, telegram_id),) = await seed_users(h.db, 1, now=h.clock.now())
    h.standin.user(telegram_id)
    item = h.services.library.all_items()[0].id
    snoozed = await add_snooze(h, user_id, item, at(MONDAY, 19))
    h.clock.set(at(MONDAY, 23))  # quiet hours are 21:30-08:00 by default; the bot was down

    report = await h.tick()

    assert report.sent == 0 and report.moved == 1
    moved = await row(h, snoozed)
    assert moved.status == "pending"
    assert (MONDAY + days(1)).replace(hour=8) <= moved.due_at < (MONDAY + days(2))


async def test_a_snooze_goes_before_a_planned_nudge_due_with_it(harness: Harness) -> None:
    h = harness
    h.clock.set(NOON)
    ((user_id, telegram_id),) = await seed_users(h.db, 1, now=h.clock.now())
    user = h.standin.user(telegram_id)
    (planned,) = await seed_due(h.db, [user_id], NOON)
    snoozed = await add_snooze(h, user_id, h.services.library.all_items()[3].id, NOON)

    report = await h.tick()

    assert report.sent == 1 and report.moved == 1 and len(user.messages) == 1
    assert (await row(h, snoozed)).status == "sent"
    assert (await row(h, planned)).due_at > MONDAY + days(1)

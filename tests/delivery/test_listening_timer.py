"""The listening timer lives in the database like nudges (issue 22): one outbox row a minute,
sent by the dispatcher on the schedule's clock, so a restart keeps it and a sped-up clock runs it
as fast as everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import build_application
from bot.config import Settings
from bot.delivery import build_dispatcher, start_dispatching
from bot.handlers.moments import MOMENT_LABELS
from bot.polling import UpdatePoller
from bot.services import Services
from bot.standin import StandInRequest, TelegramStandIn, UserActor
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import ConversationLog, OutboxMessage
from content import default_library, load_library
from scheduler.clock import ManualClock, ScaledClock
from tests.delivery.conftest import TOKEN, Harness, make_harness, onboard

DEBRIEF = "😊 Went well"


def _debrief_shown(user: UserActor, message_id: int) -> bool:
    return any(label == DEBRIEF for row in user.keyboard(message_id) for label, _ in row)


async def _start_timer(h: Harness, user: UserActor) -> int:
    """/now, "He's opening up", "Start a 5-minute timer": the timer message's id."""
    await h.act(user, "/now")
    menu = user.messages[-1]
    await h.press(
        user, default_library().label(MOMENT_LABELS["opening-up"]), message_id=menu.message_id
    )
    await h.press(user, "⏱ Start a 5-minute timer")
    timer = user.messages[-1]
    assert "five minutes" in (timer.text or "")
    return timer.message_id


async def test_the_timer_counts_down_on_the_schedule_clock_then_logs_the_conversation(
    harness: Harness,
) -> None:
    h = harness
    user = h.standin.user(1001)
    await onboard(h, user)
    started = h.clock.now()
    timer = await _start_timer(h, user)
    await h.run_until(started + timedelta(minutes=4, seconds=59))
    shown = h.standin.message(user.user_id, timer)
    assert shown is not None
    assert [edit for edit in shown.edits if "min left" in edit][-1:] and not _debrief_shown(
        user, timer
    )
    await h.run_until(started + timedelta(minutes=5))
    assert _debrief_shown(user, timer)
    await h.press(user, DEBRIEF, message_id=timer)
    async with h.db.transaction(write=False) as session:
        assert list(await session.scalars(select(ConversationLog.outcome))) == ["went_well"]
        kinds = list(
            await session.execute(
                select(OutboxMessage.status, OutboxMessage.due_at).where(
                    OutboxMessage.kind == "timer"
                )
            )
        )
    assert [status for status, _ in kinds] == ["sent"] * 5
    assert [due - started for _, due in kinds] == [timedelta(minutes=m) for m in range(1, 6)]


async def test_a_new_timer_replaces_the_one_still_running(harness: Harness) -> None:
    h = harness
    user = h.standin.user(1001)
    await onboard(h, user)
    first = await _start_timer(h, user)
    await h.run_until(h.clock.now() + timedelta(minutes=2))
    second = await _start_timer(h, user)
    await h.run_until(h.clock.now() + timedelta(minutes=10))
    assert _debrief_shown(user, second) and not _debrief_shown(user, first)


async def test_the_timer_survives_a_restart_of_the_application(
    standin: TelegramStandIn, migrated_db: Database, clock: ManualClock
) -> None:
    user = standin.user(1001)
    async for first in make_harness(standin, migrated_db, clock):
        await onboard(first, user)
        started = clock.now()
        timer = await _start_timer(first, user)
        await first.run_until(started + timedelta(minutes=1))  # one minute shown, then down
        shown = standin.message(user.user_id, timer)
        assert shown is not None and len(shown.edits) == 1
    clock.advance(minutes=30)  # the bot was away past the timer's end
    async for second in make_harness(standin, migrated_db, clock):  # a new Application
        await second.run_until(clock.now())
        assert _debrief_shown(user, timer)
        shown = standin.message(user.user_id, timer)
        assert shown is not None
        assert len(shown.edits) == 2  # the minutes it missed are not replayed: only the end
        await second.press(user, DEBRIEF, message_id=timer)
        async with migrated_db.transaction(write=False) as session:
            assert await session.scalar(select(ConversationLog.outcome)) == "went_well"


# -- a sped-up clock, through the real dispatch loop ---------------------------------------------

SPEED = 3600.0  # `closer try`'s speed: an hour a second


@contextlib.asynccontextmanager
async def _running(db: Database, clock: ScaledClock) -> AsyncIterator[TelegramStandIn]:
    """The Application polling an in-process stand-in, dispatching as `closer try` does."""
    standin = TelegramStandIn(TOKEN)
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN, database_url=db.url)
    services = Services(settings=settings, db=db, library=load_library(), clock=clock)
    app = build_application(
        services, request=StandInRequest(standin), updates_request=StandInRequest(standin)
    )
    stop = asyncio.Event()
    async with app:
        await app.start()
        polling = asyncio.create_task(UpdatePoller(app, timeout=1).run(stop))
        loop = start_dispatching(app, build_dispatcher(app, services, rate_limit=False))
        try:
            yield standin
        finally:
            stop.set()
            await loop.stop()
            await polling
            await app.stop()


async def _button(standin: TelegramStandIn, user: UserActor, label: str) -> int:
    """Wait for a message with this button; its id."""

    def found() -> int | None:
        for message in reversed(user.messages):
            if any(shown == label for row in message.keyboard for shown, _ in row):
                return message.message_id
        return None

    await standin.wait_until(lambda: found() is not None, timeout=10)
    message_id = found()
    assert message_id is not None
    return message_id


async def test_in_a_sped_up_run_the_debrief_comes_five_virtual_minutes_later(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'closer.sqlite3'}")
    await upgrade(db)
    clock = ScaledClock(SPEED, start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    try:
        async with _running(db, clock) as standin:
            user = standin.user(1001)
            await user.send("/start")  # she is known (the timer needs no finished onboarding)
            await _button(standin, user, "Berlin")
            await user.send("/now")
            label = default_library().label(MOMENT_LABELS["opening-up"])
            await user.press(label, await _button(standin, user, label))
            start = "⏱ Start a 5-minute timer"
            pressed_at = clock.now()
            await user.press(start, await _button(standin, user, start))
            arrived: list[datetime] = []

            def debrief() -> bool:
                timers = [m for m in user.messages if "five minutes" in (m.text or "")]
                if timers and _debrief_shown(user, timers[-1].message_id) and not arrived:
                    arrived.append(clock.now())
                return bool(arrived)

            await standin.wait_until(debrief, timeout=10)  # 5 real minutes before issue 22
    finally:
        await db.dispose()
    took = arrived[0] - pressed_at
    # Five virtual minutes is 83 real milliseconds: allow a few more for a busy machine.
    assert timedelta(minutes=5) <= took <= timedelta(minutes=20), took

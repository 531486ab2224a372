"""CLOSER_CLOCK_SPEED: `closer run` lives through days in seconds, through the same code path
(the dispatch loop's wakes, the dispatcher, the planner), against the stand-in over HTTP."""

from __future__ import annotations

import itertools
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.standin import TelegramStandIn, serve_http
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.planning import replan_user
from tests.delivery.conftest import TOKEN
from tests.delivery.seeding import midday_zone, seed_users
from tests.delivery.test_crash import start, until

pytestmark = pytest.mark.slow

SPEED = 86_400  # a day a second


async def test_a_week_of_nudges_and_a_check_in_arrive_in_seconds(
    tmp_path: Path, sqlite_url: str
) -> None:
    now = datetime.now(UTC)
    db = Database(sqlite_url)
    await upgrade(db)
    ((user_id, telegram_id),) = await seed_users(db, 1, timezone=midday_zone(now), now=now)
    async with db.transaction(write=True) as session:
        await session.run_sync(lambda s: replan_user(s.connection(), user_id, now))
    await db.dispose()
    standin = TelegramStandIn(TOKEN)
    user = standin.user(telegram_id)
    runner, url_root = await serve_http(standin)
    log = tmp_path / "closer.log"

    def polls() -> list[datetime]:
        return [m.date for m in user.messages if m.poll is not None]

    def nudges() -> list[datetime]:
        return [m.date for m in user.messages if m.poll is None and m.keyboard]

    try:
        process = start(url_root, sqlite_url, log, CLOSER_CLOCK_SPEED=str(SPEED))
        try:
            await until(process, lambda: bool(polls()) and len(nudges()) >= 3, 30, log)
        finally:
            process.send_signal(signal.SIGTERM)
            await until(process, lambda: process.poll() is not None, 15, log, dies=True)
    finally:
        await runner.cleanup()
    assert process.returncode == 0
    # Message dates are real time and a bot-day lasts a second: pace days are a day or more
    # apart (give or take the slot jitter), so no burst. A burst would be milliseconds apart;
    # half a second (twelve bot-hours) leaves room for a send held up on a loaded machine.
    gaps = [b - a for a, b in itertools.pairwise(nudges())]
    assert all(gap >= timedelta(seconds=0.5) for gap in gaps), gaps

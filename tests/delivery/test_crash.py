"""Crash: `closer run` in its own process, killed with SIGKILL in the middle of 5,000 due
nudges, then started again. Every due nudge arrives; duplicates stay within the in-flight bound.

The stand-in is served over HTTP from this test's event loop; the process harness
(tests/processes.py) waits without blocking it. About 20-40 s.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.standin import ApiResponse, TelegramStandIn, serve_http
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import OutboxMessage
from tests.delivery.conftest import TOKEN
from tests.delivery.seeding import midday_zone, seed_due, seed_users
from tests.processes import CloserProcess, closer_environment, watch

__all__ = ["midday_zone"]  # imported from here by other tests

pytestmark = pytest.mark.slow

DUE = 5_000
BATCH = 100  # the in-flight bound: one batch at a time
KILL_AFTER = 1_550  # mid-batch: 50 of the batch answered, 50 still in flight


def delivered(standin: TelegramStandIn, chats: set[int]) -> Counter[int]:
    return Counter(
        int(call.params["chat_id"])
        for call in standin.calls_to("sendMessage")
        if call.ok and int(call.params.get("chat_id", 0)) in chats
    )


def start(url_root: str, database_url: str, log: Path, **extra: str) -> CloserProcess:
    """`closer run` on the stand-in at ``url_root``; stdout and stderr both go to ``log``."""
    env = closer_environment(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=url_root,
        DATABASE_URL=database_url,
        CLOSER_RATE_LIMIT="false",
        CLOSER_DISPATCH_BATCH_SIZE=str(BATCH),
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return CloserProcess(log, env=env)


async def until(
    process: CloserProcess,
    condition: Callable[[], bool],
    seconds: float,
    log: Path,
    *,
    dies: bool = False,
) -> None:
    """Wait until ``condition`` holds; fail if the process exits first (unless ``dies``) or
    time runs out. (``log`` is where its output goes, shown on failure.)"""
    del log
    if dies:
        await process.wait_dying(condition, seconds)
    else:
        await process.until(condition, seconds, "the condition")


def kill_mid_batch(standin: TelegramStandIn, chats: set[int], victim: list[CloserProcess]) -> None:
    """SIGKILL the bot from inside the stand-in, right after it answered send KILL_AFTER: the
    rest of that batch is still in flight, which is the worst moment for a crash."""
    watch(standin)
    answer = standin.handle
    sends = 0

    async def handle(method: str, token: str, params: Any, files: Any = None) -> ApiResponse:
        nonlocal sends
        response = await answer(method, token, params, files)
        if method.lower() == "sendmessage" and int(params.get("chat_id", 0)) in chats:
            sends += 1
            if sends == KILL_AFTER and victim:
                victim[0].send_signal(signal.SIGKILL)
        return response

    standin.handle = handle  # type: ignore[method-assign]


async def test_sigkill_mid_batch_loses_nothing_and_duplicates_stay_within_the_bound(
    tmp_path: Path, sqlite_url: str
) -> None:
    now = datetime.now(UTC)
    db = Database(sqlite_url)
    await upgrade(db)
    users = await seed_users(db, DUE, timezone=midday_zone(now), now=now - timedelta(days=1))
    ids = await seed_due(db, [user_id for user_id, _ in users], now - timedelta(minutes=1))
    assert len(ids) == DUE
    await db.dispose()

    standin = TelegramStandIn(TOKEN)
    chats = {telegram_id for _, telegram_id in users}
    for telegram_id in chats:
        standin.user(telegram_id)
    victim: list[CloserProcess] = []
    kill_mid_batch(standin, chats, victim)
    runner, url_root = await serve_http(standin)
    log = tmp_path / "closer.log"
    try:
        first = start(url_root, sqlite_url, log)
        victim.append(first)
        try:
            await until(first, lambda: first.poll() is not None, 60, log, dies=True)
            assert first.returncode == -signal.SIGKILL
        finally:
            first.kill()
            first.wait()
        at_kill = sum(delivered(standin, chats).values())
        assert KILL_AFTER <= at_kill < DUE, "killed in the middle"

        second = start(url_root, sqlite_url, log)
        try:
            await until(second, lambda: len(delivered(standin, chats)) == DUE, 90, log)
        finally:
            # Wait without blocking: this loop serves the stand-in the bot needs to shut down.
            second.send_signal(signal.SIGTERM)
            await until(second, lambda: second.poll() is not None, 15, log, dies=True)
        assert second.returncode == 0, "a clean stop after the restart"
    finally:
        await runner.cleanup()

    counts = delivered(standin, chats)
    assert set(counts) == chats, "every due nudge arrived"
    duplicates = sum(counts.values()) - DUE
    assert duplicates <= BATCH, f"{duplicates} duplicates, more than the in-flight bound"

    db = Database(sqlite_url)
    try:
        async with db.transaction(write=False) as session:
            statuses = dict(
                (
                    await session.execute(
                        select(OutboxMessage.status, func.count())
                        .where(OutboxMessage.id.in_(ids))
                        .group_by(OutboxMessage.status)
                    )
                ).all()
            )
            adopted = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.id.in_(ids), OutboxMessage.ambiguous_count > 0
                )
            )
    finally:
        await db.dispose()
    assert statuses == {"sent": DUE}
    assert adopted is not None and 0 < adopted <= BATCH, "rows in flight at the crash"
    print(f"killed at {at_kill}, duplicates {duplicates}, adopted {adopted}")

"""Real `closer run` processes against the stand-in served over HTTP on loopback (issue 14).

The stand-in runs in the test's event loop, so waits poll with ``asyncio.sleep`` and keep it
answering. Each send to a seeded chat is stamped with the monotonic time it was answered, so a
test can tell what was sent after a signal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.standin import ApiResponse, TelegramStandIn
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import BotState, OutboxMessage
from tests.delivery.conftest import TOKEN
from tests.delivery.seeding import seed_due, seed_users
from tests.delivery.test_crash import midday_zone

CLOSER = Path(sys.executable).with_name("closer")


@dataclass
class Sends:
    """Every answered sendMessage to a seeded chat: (monotonic time, chat id), in order."""

    chats: set[int]
    log: list[tuple[float, int]] = field(default_factory=list)
    conflicts: int = 0  # getUpdates answered 409: two pollers at once
    hooks: list[Callable[[int], None]] = field(default_factory=list)  # called with the count

    def counts(self, before: float | None = None) -> Counter[int]:
        return Counter(chat for at, chat in self.log if before is None or at < before)

    def after(self, moment: float) -> int:
        return sum(1 for at, _ in self.log if at >= moment)


def record_sends(standin: TelegramStandIn, chats: set[int]) -> Sends:
    sends = Sends(chats)
    answer = standin.handle

    async def handle(method: str, token: str, params: Any, files: Any = None) -> ApiResponse:
        response = await answer(method, token, params, files)
        name = method.lower()
        if name == "sendmessage" and response.status == 200:
            chat = int(params.get("chat_id", 0))
            if chat in chats:
                sends.log.append((time.monotonic(), chat))
                for hook in list(sends.hooks):
                    hook(len(sends.log))
        elif name == "getupdates" and response.status == 409:
            sends.conflicts += 1
        return response

    standin.handle = handle  # type: ignore[method-assign]
    return sends


async def seed(database_url: str, users: int) -> tuple[set[int], list[int]]:
    """``users`` onboarded users, one nudge each due a minute ago; (chat ids, outbox ids)."""
    now = datetime.now(UTC)
    db = Database(database_url)
    try:
        await upgrade(db)
        seeded = await seed_users(db, users, timezone=midday_zone(now), now=now - timedelta(days=1))
        ids = await seed_due(db, [user_id for user_id, _ in seeded], now - timedelta(minutes=1))
    finally:
        await db.dispose()
    return {telegram_id for _, telegram_id in seeded}, ids


class Closer:
    """One `closer run` process; its output goes to ``log``."""

    def __init__(self, url_root: str, database_url: str, log: Path, **extra: str) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.upper().startswith(("TELEGRAM_", "DATABASE_", "CLOSER_", "LOG_", "DATA_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=url_root,
            DATABASE_URL=database_url,
            LOG_LEVEL="INFO",
        )
        env.update(extra)
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(CLOSER), "run"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def until(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        """Poll ``condition``; fail if this process exits first or time runs out."""
        deadline = time.monotonic() + seconds
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(
                    f"closer run exited early ({self.process.returncode}) waiting for "
                    f"{what}:\n{self.output()[-3000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"timed out after {seconds}s waiting for {what}:\n{self.output()[-3000:]}"
                )
            await asyncio.sleep(0.02)

    async def exit(self, seconds: float = 15.0) -> int:
        """Wait for the process to end (without blocking the stand-in); its exit code."""
        deadline = time.monotonic() + seconds
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"closer run did not exit within {seconds}s:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.01)
        return self.process.returncode

    async def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                await self.exit()
            except BaseException:
                self.process.kill()
                self.process.wait()
                raise


async def statuses(database_url: str, ids: list[int]) -> dict[str, int]:
    db = Database(database_url)
    try:
        async with db.transaction(write=False) as session:
            rows = await session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.id.in_(ids))
                .group_by(OutboxMessage.status)
            )
            return {str(status): int(count) for status, count in rows.all()}
    finally:
        await db.dispose()


async def dispatcher_pid(database_url: str) -> int | None:
    """The pid of the process holding the dispatcher lease (owner ``host:pid:ns:random``)."""
    db = Database(database_url)
    try:
        async with db.transaction(write=False) as session:
            owner = await session.scalar(select(BotState.owner).where(BotState.key == "dispatcher"))
    finally:
        await db.dispose()
    parts = (owner or "").split(":")
    return int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else None

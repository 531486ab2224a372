"""Real `closer run` processes against the stand-in served over HTTP on loopback (issue 14).

The stand-in runs in the test's event loop; the processes are the shared harness's
(tests/processes.py), whose waits keep it answering. Each send to a seeded chat is stamped with
the monotonic time it was answered, so a test can tell what was sent after a signal.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.standin import ApiResponse, TelegramStandIn
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import BotState, OutboxMessage, User
from tests.delivery.conftest import TOKEN
from tests.delivery.seeding import midday_zone, seed_due, seed_users
from tests.processes import CloserProcess, closer_environment, watch


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

    async def drained(self, quiet: float = 0.25, longest: float = 5.0) -> None:
        """Wait until no send has arrived for ``quiet`` seconds (``longest`` at most): requests
        a killed process had already written are answered by then, so they are not taken for
        its successor's."""
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline:
            count = len(self.log)
            await asyncio.sleep(quiet)
            if len(self.log) == count:
                return


def record_sends(standin: TelegramStandIn, chats: set[int]) -> Sends:
    sends = Sends(chats)
    watch(standin)
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


class Closer(CloserProcess):
    """One `closer run` process; its output (stdout and stderr) goes to ``log``."""

    def __init__(self, url_root: str, database_url: str, log: Path, **extra: str) -> None:
        env = closer_environment(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=url_root,
            DATABASE_URL=database_url,
            LOG_LEVEL="INFO",
        )
        env.update(extra)
        super().__init__(log, env=env)


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


@dataclass(frozen=True)
class Row:
    """An outbox row as a crash test checks it: where it goes and how it ended."""

    chat: int
    status: str
    attempts: int
    ambiguous_count: int
    last_error: str | None


async def rows(database_url: str, ids: list[int]) -> list[Row]:
    db = Database(database_url)
    try:
        async with db.transaction(write=False) as session:
            found = await session.execute(
                select(
                    User.chat_id,
                    OutboxMessage.status,
                    OutboxMessage.attempts,
                    OutboxMessage.ambiguous_count,
                    OutboxMessage.last_error,
                )
                .join(User, User.id == OutboxMessage.user_id)
                .where(OutboxMessage.id.in_(ids))
            )
            return [Row(int(c), str(s), int(a), int(n), e) for c, s, a, n, e in found.all()]
    finally:
        await db.dispose()

"""A webhook worker on PostgreSQL whose database is dropped under it, then re-created.

The worker is a real `closer run` in webhook mode; Telegram's pushes come from the stand-in,
which retries an update that was not answered 2xx (as the Bot API does). While the database is
gone, and while it is back but empty, an update is answered 503 and /healthz says why; once
it is migrated again, the retried updates are recorded, each once, with their replies once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.standin import TelegramStandIn
from bot.storage.db import Database
from bot.storage.models import User
from tests.conftest import DEFAULT_POSTGRES_URL, POSTGRES_URL_ENV
from tests.webhook.conftest import Worker, closer_cli, http_get, register_webhook, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
async def own_database() -> AsyncIterator[tuple[str, str]]:
    """A database of this test's own on the server: (its URL, the server's admin DSN)."""
    base = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"closer_drop_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False), name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _admin(sql: str) -> None:
    base = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    admin = await asyncpg.connect(
        base.set(drivername="postgresql").render_as_string(hide_password=False), timeout=5
    )
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


async def _users(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.transaction(write=False) as session:
            return int(await session.scalar(select(func.count()).select_from(User)) or 0)
    finally:
        await db.dispose()


def _statuses(standin: TelegramStandIn, update_id: int) -> list[int | None]:
    return [a.status for a in standin.webhook_attempts if a.update_id == update_id]


async def test_a_dropped_database_gets_503_until_it_is_back_then_each_update_once(
    standin_http: tuple[TelegramStandIn, str],
    start_worker: Callable[..., Worker],
    own_database: tuple[str, str],
) -> None:
    standin, url_root = standin_http
    database_url, name = own_database
    worker = await start_worker(database_url).started()
    await register_webhook(standin, url_root, database_url, [worker])
    first = standin.user(610_001, first_name="Ana")
    await first.send("/start")
    assert ((await first.next_message(timeout=15)).text or "").startswith("Hi, I'm Closer")
    # Her /start answered 200 (the reply goes out before the handling ends).
    await worker.until(lambda: not standin.pending_updates, 15, "the first /start confirmed")

    await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    late = [standin.user(610_100 + n) for n in range(3)]
    for user in late:
        await user.send("/start")
    update_ids = [int(u["update_id"]) for u in standin.pending_updates]
    assert len(update_ids) == len(late)
    await worker.until(
        lambda: all(503 in _statuses(standin, i) for i in update_ids), 30, "503 while it is gone"
    )
    status, body = await http_get(f"{worker.base}/healthz")
    assert status == 503
    assert json.loads(body)["storage"] != "ok"

    # Back, but empty: still 503 (its tables are missing), nothing answered 2xx.
    await _admin(f'CREATE DATABASE "{name}"')
    await worker.until(
        lambda: sum(s == 503 for i in update_ids for s in _statuses(standin, i)) >= 6,
        30,
        "503 while it is empty",
    )
    assert not any(s == 200 for i in update_ids for s in _statuses(standin, i))

    code, _, err = await closer_cli(worker_env(url_root, database_url), "migrate")
    assert code == 0, err
    await worker.until(lambda: not standin.deliverable_updates(), 30, "every update answered")
    assert await _users(database_url) == len(late)  # the re-created database: the late ones
    for user in late:
        texts = [m.text or "" for m in user.messages]
        assert sum(t.startswith("Hi, I'm Closer") for t in texts) == 1, texts
        assert sum(t.startswith("I can't save anything right now") for t in texts) <= 1, texts
    status, body = await http_get(f"{worker.base}/healthz")
    assert status == 200, body
    assert "Traceback" not in worker.stderr()

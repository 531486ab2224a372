"""`closer run` (long polling) when storage fails under it: nothing she sends is lost.

The real command in a subprocess against the stand-in over HTTP. A full disk on SQLite comes
from the bot's test-only fault setting (tests/faults.py: a real SQLITE_FULL, no mount); a
PostgreSQL connection is cut with ``pg_terminate_backend``. Every press and ``/start`` sent
during the outage is recorded once afterwards, with its normal reply once, and she hears at
most once that Closer cannot save right now.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.standin import TelegramStandIn, UserActor
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import User
from bot.storage.set_aside import SetAside, keep
from content import default_library
from content.render import visible_text
from tests.conftest import DEFAULT_POSTGRES_URL, POSTGRES_URL_ENV
from tests.faults import fill_the_disk
from tests.processes import CloserProcess, closer_environment, run_async
from tests.test_run_over_http import TOKEN, assert_clean_log, standin_root

__all__ = ["standin_root"]  # the stand-in served over HTTP, the fixture of test_run_over_http

pytestmark = pytest.mark.slow

START_TIMEOUT = 25.0
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WAIT = visible_text(default_library().render_text("storage_wait")).split("\n")[0]
WELCOME = "Hi, I'm Closer"
TIME_QUESTION = "Step 2 of 3"


def _start(tmp_path: Path, url_root: str, database_url: str, **extra: str) -> CloserProcess:
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    env = closer_environment(
        TELEGRAM_BASE_URL=url_root,
        TELEGRAM_BOT_TOKEN=TOKEN,
        DATABASE_URL=database_url,
        LOG_LEVEL="INFO",
        **extra,
    )
    return CloserProcess(
        tmp_path / "stderr.log", env=env, cwd=workdir, stdout_log=tmp_path / "stdout.log"
    )


def _texts(user: UserActor) -> list[str]:
    return [m.text or "" for m in user.messages]


def _count(user: UserActor, part: str) -> int:
    return sum(part in t for t in _texts(user))


async def _started(closer: CloserProcess) -> None:
    await closer.line("event='bot_started'", START_TIMEOUT, "bot_started")


async def _welcomed(users: list[UserActor], closer: CloserProcess, seconds: float) -> None:
    await closer.until(
        lambda: all(_count(u, WELCOME) for u in users), seconds, "every /start welcomed"
    )


async def _steps(database_url: str, telegram_ids: list[int]) -> dict[int, str | None]:
    """Each of these users' onboarding step (absent: no user row)."""
    db = Database(database_url)
    try:
        async with db.transaction(write=False) as session:
            rows = await session.execute(
                select(User.telegram_id, User.onboarding_step).where(
                    User.telegram_id.in_(telegram_ids)
                )
            )
            return {int(telegram_id): step for telegram_id, step in rows}
    finally:
        await db.dispose()


def _assert_recorded(
    steps: dict[int, str | None], pressers: list[UserActor], newcomers: list[UserActor]
) -> None:
    """Every user has a row; the pressers are one step further than the newcomers."""
    assert set(steps) == {u.user_id for u in pressers + newcomers}
    first = {steps[u.user_id] for u in newcomers}
    second = {steps[u.user_id] for u in pressers}
    assert len(first) == 1 and len(second) == 1 and first != second, (first, second)


async def test_a_full_disk_loses_no_press_and_no_start(
    tmp_path: Path, standin_root: tuple[TelegramStandIn, str]
) -> None:
    standin, url_root = standin_root
    database = tmp_path / "closer.sqlite3"
    database_url = f"sqlite:///{database.as_posix()}"
    flag = tmp_path / "disk-full"
    closer = _start(tmp_path, url_root, database_url, CLOSER_FAULT_DISK_FULL_FILE=flag.as_posix())
    await _started(closer)
    pressers = [standin.user(9100 + n) for n in range(8)]
    for user in pressers:
        await user.send("/start")
    await _welcomed(pressers, closer, 20)
    await closer.until(
        lambda: all(any(u.keyboard(m.message_id) for m in u.messages) for u in pressers),
        15,
        "the time-zone buttons",
    )

    db = Database(database_url, disk_full_file=flag)
    try:
        await fill_the_disk(db, flag)
    finally:
        await db.dispose()
    newcomers = [standin.user(9200 + n) for n in range(16)]
    for user in pressers:
        await user.press("UTC")
    for user in newcomers:
        await user.send("/start")
    everyone = pressers + newcomers
    await closer.until(
        lambda: all(_count(u, WAIT) == 1 for u in newcomers), 30, "the word that it cannot save"
    )
    assert not any(_count(u, WELCOME) for u in newcomers), "nothing got through the full disk"
    assert "event='update_unconfirmed'" in closer.stderr()

    flag.unlink()  # the space is back
    await _welcomed(newcomers, closer, 60)
    await closer.until(
        lambda: all(_count(u, TIME_QUESTION) for u in pressers), 30, "the presses took effect"
    )
    await closer.until(lambda: not standin.pending_updates, 30, "every update confirmed")
    _assert_recorded(await _steps(database_url, [u.user_id for u in everyone]), pressers, newcomers)
    for user in everyone:
        assert _count(user, WELCOME) == 1, _texts(user)
        assert _count(user, WAIT) <= 1, _texts(user)
    for user in pressers:
        assert _count(user, TIME_QUESTION) == 1, _texts(user)
    assert await closer.exit_code_after(signal.SIGTERM) == 0
    assert_clean_log(closer.stderr())


@pytest.fixture
async def postgres_named() -> AsyncIterator[tuple[str, str]]:
    """A PostgreSQL URL whose connections carry an application_name of their own, so that a
    test can cut exactly them: (the URL, that name)."""
    base = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    name = f"closer_cut_{uuid.uuid4().hex[:8]}"
    try:
        admin = await asyncpg.connect(dsn, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc!r}")
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        options = f"-csearch_path={schema} -capplication_name={name}"
        yield (
            base.update_query_dict({"options": options}).render_as_string(hide_password=False),
            name,
        )
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


async def _cut(name: str) -> int:
    base = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    admin = await asyncpg.connect(
        base.set(drivername="postgresql").render_as_string(hide_password=False), timeout=5
    )
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            name,
        )
        return len(rows)
    finally:
        await admin.close()


@pytest.mark.postgres
async def test_cut_postgresql_connections_lose_no_press_and_no_start(
    tmp_path: Path,
    standin_root: tuple[TelegramStandIn, str],
    postgres_named: tuple[str, str],
) -> None:
    standin, url_root = standin_root
    database_url, name = postgres_named
    closer = _start(tmp_path, url_root, database_url)
    await _started(closer)
    pressers = [standin.user(9300 + n) for n in range(6)]
    for user in pressers:
        await user.send("/start")
    await _welcomed(pressers, closer, 20)
    await closer.until(
        lambda: all(any(u.keyboard(m.message_id) for m in u.messages) for u in pressers),
        15,
        "the time-zone buttons",
    )
    newcomers = [standin.user(9400 + n) for n in range(10)]
    assert await _cut(name) >= 1  # the pool's idle connections
    for user in pressers:
        await user.press("UTC")
    for user in newcomers:
        await user.send("/start")
    for _ in range(3):  # and again while those updates are handled
        await asyncio.sleep(0.2)
        await _cut(name)
    await _welcomed(newcomers, closer, 60)
    await closer.until(
        lambda: all(_count(u, TIME_QUESTION) for u in pressers), 30, "the presses took effect"
    )
    await closer.until(lambda: not standin.pending_updates, 30, "every update confirmed")
    everyone = pressers + newcomers
    _assert_recorded(await _steps(database_url, [u.user_id for u in everyone]), pressers, newcomers)
    for user in everyone:
        assert _count(user, WELCOME) == 1, _texts(user)
        assert _count(user, WAIT) <= 1, _texts(user)
    for user in pressers:
        assert _count(user, TIME_QUESTION) == 1, _texts(user)


async def test_closer_set_aside_lists_and_replays(
    tmp_path: Path, standin_root: tuple[TelegramStandIn, str]
) -> None:
    standin, url_root = standin_root
    user = standin.user(9500, first_name="Rosa")
    database_url = f"sqlite:///{(tmp_path / 'closer.sqlite3').as_posix()}"
    db = Database(database_url)
    try:
        await upgrade(db)
        command = {
            "update_id": 77,
            "message": {
                "message_id": 1,
                "date": 1_796_000_000,
                "chat": {"id": user.user_id, "type": "private"},
                "from": {"id": user.user_id, "is_bot": False, "first_name": ""},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        for row in (
            SetAside(77, "message", "RuntimeError", "bug", user.user_id, json.dumps(command), NOW),
            SetAside(78, "message", "KeyError", "bug", user.user_id, None, NOW),
        ):
            await db.run(keep, row)
    finally:
        await db.dispose()
    env = closer_environment(
        TELEGRAM_BASE_URL=url_root, TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=database_url
    )
    listed = await run_async(tmp_path, "set-aside", "list", env=env)
    assert listed.returncode == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("77  message  RuntimeError  bug") and "replayable" in lines[0]
    assert lines[1].startswith("78  message  KeyError") and "text not kept" in lines[1]
    refused = await run_async(tmp_path, "set-aside", "replay", env=env)
    assert refused.returncode != 0 and "--all" in refused.stderr
    replayed = await run_async(tmp_path, "set-aside", "replay", "--all", env=env)
    assert replayed.returncode == 0, replayed.output
    assert "77  done" in replayed.stdout and "78  not replayable" in replayed.stdout
    assert any("/checklist" in (m.text or "") for m in user.messages), "the help went out"
    after = await run_async(tmp_path, "set-aside", "list", env=env)
    assert [line.split()[0] for line in after.stdout.splitlines()] == ["78"]

"""The webhook face as a good citizen, and each update once behind it.

Closer's real Application behind the real HTTP face, in this process, on the stand-in:

- two workers (two Applications, two engines) on one PostgreSQL database take the same
  update at once and in a row: it takes effect once, every call is answered 200;
- /healthz is 503 until the schema is at the head revision;
- JSON nested 100,000 deep is a 400, with no traceback in the log;
- a slow request head or body is cut off, and connections over the cap are closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import metrics
from bot.app import build_application
from bot.context import CloserApplication
from bot.services import Services
from bot.standin import StandInRequest
from bot.storage.db import Database
from bot.storage.migrate import head_revision, upgrade
from bot.storage.models import OutboxMessage
from bot.webhook import SECRET_HEADER, HttpFace, WebhookTarget
from tests.bot.conftest import Closer, running_closer

SECRET = "good-citizen-secret"
HOOK = "/hook"


@pytest.fixture
async def closer(tmp_path: Path) -> AsyncIterator[Closer]:
    """Closer on a fresh SQLite file (the harness of tests/bot)."""
    async with running_closer(f"sqlite:///{tmp_path / 'closer.sqlite3'}") as harness:
        yield harness


@contextlib.asynccontextmanager
async def serving(closer: Closer, **limits: Any) -> AsyncIterator[str]:
    """The harness's Application behind an HttpFace; its base URL."""
    assert closer.app is not None
    face = HttpFace(
        closer.db, application=closer.app, webhook=WebhookTarget(HOOK, SECRET), **limits
    )
    port = await face.start("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await face.stop()


@contextlib.asynccontextmanager
async def second_worker(closer: Closer) -> AsyncIterator[str]:
    """Another worker on the same database: its own engine and Application, its own face."""
    db = Database(closer.settings.resolved_database_url)
    services = Services(
        settings=closer.settings, db=db, library=closer.services.library, clock=closer.clock
    )
    app: CloserApplication = build_application(services, request=StandInRequest(closer.standin))
    await app.initialize()
    await app.start()
    face = HttpFace(db, application=app, webhook=WebhookTarget(HOOK, SECRET))
    port = await face.start("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await face.stop()
        await app.stop()
        await app.shutdown()
        await db.dispose()


async def post(base: str, body: bytes) -> int:
    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + HOOK, data=body, headers=headers) as response,
    ):
        await response.read()
        return response.status


async def get(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


def _sent(closer: Closer, method: str, chat_id: int) -> int:
    return sum(
        1
        for call in closer.standin.calls_to(method)
        if str(call.params.get("chat_id")) == str(chat_id)
    )


async def _outbox_rows(closer: Closer) -> tuple[int, int]:
    async with closer.db.transaction(write=False) as session:
        rows = int(await session.scalar(select(func.count(OutboxMessage.id))) or 0)
        sending = int(
            await session.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sending")
            )
            or 0
        )
    return rows, sending


async def test_two_workers_on_postgres_take_each_update_once(postgres_url: str) -> None:
    async with running_closer(postgres_url) as closer:
        user = closer.user(4242, "Twice")
        await closer.onboard(user)
        await closer.hold_polling()  # from here on, updates come only through the webhooks
        async with serving(closer) as one, second_worker(closer) as two:

            async def deliver(text: str, *, at_once: bool) -> list[int]:
                before = len(closer.standin.pending_updates)
                await user.send(text)
                (raw,) = closer.standin.pending_updates[before:]
                body = json.dumps(raw).encode()
                if at_once:
                    return list(await asyncio.gather(post(one, body), post(two, body)))
                return [await post(one, body), await post(two, body)]

            duplicates = metrics.REGISTRY.get_sample_value("closer_duplicate_updates_total")
            rows, _ = await _outbox_rows(closer)
            messages = _sent(closer, "sendMessage", user.user_id)
            assert await deliver("/tip", at_once=True) == [200, 200]
            assert _sent(closer, "sendMessage", user.user_id) == messages + 1
            assert await deliver("/tip", at_once=False) == [200, 200]
            assert _sent(closer, "sendMessage", user.user_id) == messages + 2
            assert await _outbox_rows(closer) == (rows + 2, 0)  # one nudge each, none sending

            for at_once in (True, False):
                documents = _sent(closer, "sendDocument", user.user_id)
                assert await deliver("/export", at_once=at_once) == [200, 200]
                assert _sent(closer, "sendDocument", user.user_id) == documents + 2

            stranger = closer.user(4343, "New")
            before = len(closer.standin.pending_updates)
            await stranger.send("/start")
            (raw,) = closer.standin.pending_updates[before:]
            body = json.dumps(raw).encode()
            assert list(await asyncio.gather(post(one, body), post(two, body))) == [200, 200]
            assert _sent(closer, "sendMessage", stranger.user_id) == 2  # welcome, question
            after = metrics.REGISTRY.get_sample_value("closer_duplicate_updates_total")
            assert (after or 0) - (duplicates or 0) == 5  # one of each pair
        assert not closer.errors
        closer.resume_polling()


async def test_healthz_is_503_until_the_schema_is_at_the_head_revision(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    face = HttpFace(db)
    port = await face.start("127.0.0.1", 0)
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:
        status, body = await get(healthz)
        assert (status, body["schema"], body["database"]) == (503, "not migrated", "ok")
        await upgrade(db, "0004")
        status, body = await get(healthz)
        assert (status, body["schema"]) == (503, f"at 0004, not {head_revision()}")
        await upgrade(db)
        status, body = await get(healthz)
        assert (status, body["status"], body["schema"]) == (200, "ok", "ok")
    finally:
        await face.stop()
        await db.dispose()


async def test_json_nested_100000_deep_is_a_400_without_a_traceback(
    closer: Closer, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_in_update = b'{"update_id": 7, "message": ' + deep + b"}"
    async with serving(closer) as base:
        assert await post(base, deep) == 400
        assert await post(base, deep_in_update) == 400
        status, _ = await get(base + "/healthz")
        assert status == 200  # the worker is fine
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "RecursionError" not in captured.err + captured.out


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the server closed the connection within ``seconds`` (EOF or a reset)."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(1024):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def test_slow_heads_and_bodies_are_cut_and_connections_are_capped(closer: Closer) -> None:
    async with serving(closer, header_timeout=0.5, body_timeout=0.5, max_connections=8) as base:
        port = int(base.rsplit(":", 1)[1])
        slow = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]
        for _, writer in slow:
            writer.write(b"POST /hook HTTP/1.1\r\nHost: closer\r\n")  # and never the rest
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _closed_within(reader, 0.3)  # the ninth: closed at once
        writer.close()
        started = asyncio.get_running_loop().time()
        assert all([await _closed_within(r, 3) for r, _ in slow])
        assert asyncio.get_running_loop().time() - started < 2  # after about half a second
        for _, writer in slow:
            writer.close()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /hook HTTP/1.1\r\nHost: closer\r\nContent-Type: application/json\r\n"
            + f"{SECRET_HEADER}: {SECRET}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"update_id": 1'
        )
        async with asyncio.timeout(3):
            head = await reader.readline()
        assert head.startswith(b"HTTP/1.1 408")
        assert await _closed_within(reader, 3)
        writer.close()

        status, _ = await get(base + "/healthz")  # a well-behaved client is served as ever
        assert status == 200

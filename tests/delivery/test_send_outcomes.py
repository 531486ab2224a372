""" "Delivered or not", classified honestly (issue 14): a connection dropped after the request
was written may follow a delivered message (ambiguous); one refused before anything was sent is
certainly not delivered (transient). Real sockets on loopback, both transports."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings
from bot.delivery import TelegramSender
from bot.services import Services
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.transport import AiohttpRequest
from content import load_library
from scheduler.sending import Ambiguous, Delivery, Receipt, Transient
from tests.delivery.conftest import TOKEN


def _request(transport: str) -> BaseRequest:
    if transport == "aiohttp":
        return AiohttpRequest(read_timeout=2.0)
    return HTTPXRequest(read_timeout=2.0)


@pytest.fixture
async def dropping_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads each request whole, then drops the connection without answering."""
    received: list[bytes] = []

    async def drop(request: web.Request) -> web.StreamResponse:
        received.append(await request.read())
        assert request.transport is not None
        request.transport.close()
        return web.Response()  # never reaches the client

    app = web.Application()
    app.router.add_post("/{path:.*}", drop)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        await runner.cleanup()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _send(root: str, transport: str, sqlite_url: str) -> object:
    library = load_library()
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN, database_url=sqlite_url)
    db = Database(sqlite_url)
    await upgrade(db)  # the sender reads her language from the users table
    bot = Bot(TOKEN, base_url=f"{root}/bot", request=_request(transport))
    await bot.request.initialize()
    try:
        sender = TelegramSender(bot, Services(settings=settings, db=db, library=library))
        item = library.all_items()[0]
        delivery = Delivery(
            outbox_id=7,
            user_id=1,
            chat_id=42,
            kind="item",
            item_id=item.id,
            payload=None,
            due_at=datetime.now(UTC),
            attempts=1,
            planned=True,
        )
        return await sender.send(delivery, Receipt())
    finally:
        await bot.request.shutdown()
        await db.dispose()


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_connection_dropped_after_the_request_was_written_is_ambiguous(
    dropping_server: tuple[str, list[bytes]], transport: str, sqlite_url: str
) -> None:
    root, received = dropping_server
    outcome = await _send(root, transport, sqlite_url)
    assert received, "the server had the whole request"
    assert isinstance(outcome, Ambiguous), outcome
    print(f"{transport}: dropped after the request -> {outcome}")


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_refused_connection_is_certainly_not_delivered(
    transport: str, sqlite_url: str
) -> None:
    outcome = await _send(f"http://127.0.0.1:{_closed_port()}", transport, sqlite_url)
    assert isinstance(outcome, Transient), outcome

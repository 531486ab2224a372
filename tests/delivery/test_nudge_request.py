"""The dispatcher's nudge path sends exactly the request ``send_message`` would.

``TelegramSender`` sends a nudge as a request encoded once per item (``bot.wire``, on a private
class of python-telegram-bot; docs/BENCHMARKS.md gives what it saves). These tests hold what it
puts on the wire to the bytes ``bot.send_message(chat_id, *render_nudge(item, outbox_id))`` gives,
for every item of the content with the application's own defaults, so that an upgrade that
changes them fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Message
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import RequestData

from bot.app import build_application
from bot.config import Settings
from bot.context import CloserApplication
from bot.delivery import TelegramSender
from bot.nudges import render_nudge
from bot.services import Services
from bot.standin import StandInRequest, TelegramStandIn, faults
from bot.storage.db import Database
from content import load_library
from scheduler.sending import Blocked, Delivery, FloodWait, Receipt, Sent
from tests.delivery.conftest import TOKEN


class RecordingRequest(StandInRequest):
    """The stand-in's request layer, keeping the JSON body of every sendMessage."""

    __slots__ = ("bodies",)

    def __init__(self, standin: TelegramStandIn) -> None:
        super().__init__(standin)
        self.bodies: list[bytes] = []

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: object,
        **kwargs: object,
    ) -> tuple[int, bytes]:
        if url.endswith("/sendMessage") and request_data is not None:
            assert not request_data.contains_files
            self.bodies.append(request_data.json_payload)
        return await super().do_request(url, method, request_data, *args, **kwargs)


@dataclass
class Wired:
    """A Closer application on the stand-in whose sendMessage bodies are kept, a sender of its
    own, and user 42 to send to."""

    app: CloserApplication
    services: Services
    wire: RecordingRequest
    standin: TelegramStandIn
    sender: TelegramSender

    async def dispatched_and_direct(self, outbox_id: int, item_id: str) -> tuple[Sent, Message]:
        """Send ``item_id`` as the dispatcher does, then with ``send_message``; both results."""
        result = await self.sender.send(delivery(outbox_id, 42, item_id), Receipt())
        assert isinstance(result, Sent)
        text, markup = render_nudge(self.services.library.item(item_id), outbox_id)
        return result, await self.app.bot.send_message(42, text, reply_markup=markup)


@pytest.fixture
async def wired(migrated_db: Database) -> AsyncIterator[Wired]:
    standin = TelegramStandIn(TOKEN)
    standin.user(42)
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        database_url=migrated_db.url,
    )
    services = Services(settings=settings, db=migrated_db, library=load_library())
    wire = RecordingRequest(standin)
    app = build_application(services, request=wire, updates_request=StandInRequest(standin))
    async with app:
        yield Wired(app, services, wire, standin, TelegramSender(app.bot, services))


def delivery(outbox_id: int, chat_id: int, item_id: str) -> Delivery:
    return Delivery(
        outbox_id=outbox_id,
        user_id=1,
        chat_id=chat_id,
        kind="item",
        item_id=item_id,
        payload=None,
        due_at=datetime(2025, 3, 3, tzinfo=UTC),
        attempts=1,
        planned=True,
    )


async def test_every_items_nudge_goes_out_byte_for_byte_as_send_message_would(
    wired: Wired,
) -> None:
    items = wired.services.library.all_items()
    assert len(items) > 20
    for number, item in enumerate(items, start=1):
        result, expected = await wired.dispatched_and_direct(7_000 + number, item.id)
        dispatched, direct = wired.wire.bodies[-2:]
        assert dispatched == direct, item.id
        assert result.message_id == expected.message_id - 1
    assert len(wired.wire.bodies) == 2 * len(items)
    assert b'"parse_mode": "HTML"' in wired.wire.bodies[0]  # the application's defaults


async def test_telegrams_errors_on_the_nudge_path_map_to_send_results(wired: Wired) -> None:
    item = wired.services.library.all_items()[0]
    wired.standin.inject_fault("sendMessage", faults.RetryAfter(7))
    assert await wired.sender.send(delivery(1, 42, item.id), Receipt()) == FloodWait(7.0)
    wired.standin.inject_fault("sendMessage", faults.Forbidden())
    result = await wired.sender.send(delivery(2, 42, item.id), Receipt())
    assert isinstance(result, Blocked)
    assert "Forbidden" in result.reason
    assert len(wired.wire.bodies) == 2  # both went out, and neither fault delivered anything
    assert wired.standin.user(42).messages == []


class CountingLimiter(BaseRateLimiter[None]):
    """A rate limiter that limits nothing and notes each endpoint it is asked about."""

    def __init__(self) -> None:
        self.endpoints: list[str] = []

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        self.endpoints.append(endpoint)
        return await callback(*args, **kwargs)


async def test_a_bot_with_a_rate_limiter_sees_every_nudge(migrated_db: Database) -> None:
    """python-telegram-bot's own rate limiter only sees requests made by the bot's methods: a
    nudge goes through one (Closer's dispatcher also has its own limiter)."""
    standin = TelegramStandIn(TOKEN)
    user = standin.user(42)
    services = Services(
        settings=Settings(_env_file=None, telegram_bot_token=TOKEN),
        db=migrated_db,
        library=load_library(),
    )
    limiter = CountingLimiter()
    bot = ExtBot(TOKEN, request=StandInRequest(standin), rate_limiter=limiter)
    async with bot:
        item = services.library.all_items()[0]
        result = await TelegramSender(bot, services).send(delivery(3, 42, item.id), Receipt())
    assert isinstance(result, Sent)
    assert limiter.endpoints[-1:] == ["sendMessage"]  # after getMe at start-up
    assert len(user.messages) == 1

"""The aiohttp transport through python-telegram-bot, against the stand-in over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InputFile
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest

from bot.standin import TelegramStandIn, faults, serve_http
from bot.transport import AiohttpRequest, _pick
from tests.delivery.conftest import TOKEN


@pytest.fixture
async def served() -> AsyncIterator[tuple[TelegramStandIn, Bot]]:
    standin = TelegramStandIn(TOKEN)
    runner, url_root = await serve_http(standin)
    bot = Bot(TOKEN, base_url=f"{url_root}/bot", request=AiohttpRequest(read_timeout=0.5))
    try:
        async with bot:
            yield standin, bot
    finally:
        await runner.cleanup()


async def test_messages_with_html_and_buttons_go_through_as_json(
    served: tuple[TelegramStandIn, Bot],
) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    standin, bot = served
    user = standin.user(42)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Tried it", callback_data="1:n:1:t")]])
    message = await bot.send_message(
        42, "<b>Step 1</b> – “quotes”", parse_mode="HTML", reply_markup=markup
    )
    assert message.text == "Step 1 – “quotes”"
    assert user.messages[-1].keyboard == [[("✅ Tried it", "1:n:1:t")]]


async def test_telegrams_errors_come_back_as_python_telegram_bots(
    served: tuple[TelegramStandIn, Bot],
) -> None:
    standin, bot = served
    standin.user(42)
    standin.inject_fault("sendMessage", faults.RetryAfter(7))
    with pytest.raises(RetryAfter):
        await bot.send_message(42, "x")
    standin.inject_fault("sendMessage", faults.Forbidden())
    with pytest.raises(Forbidden):
        await bot.send_message(42, "x")
    standin.inject_fault("sendMessage", faults.ServerError(502))
    with pytest.raises(NetworkError):
        await bot.send_message(42, "x")
    standin.inject_fault("sendMessage", faults.Timeout(delivered=True, hold_seconds=2))
    with pytest.raises(TimedOut):
        await bot.send_message(42, "x")


async def test_a_document_goes_up_as_multipart_with_its_name_and_caption(
    served: tuple[TelegramStandIn, Bot],
) -> None:
    """/export's path: a file in the request makes it multipart, the other parameters beside it."""
    standin, bot = served
    user = standin.user(42)
    payload = '{"tables": {"users": [{"id": 1, "zone": "Europe/Kyiv"}]}, "note": "é"}'.encode()
    message = await bot.send_document(
        42, InputFile(payload, filename="closer-export-2026-11-30.json"), caption="Here it is."
    )
    assert message.document is not None
    assert message.caption == "Here it is."
    document = user.messages[-1].document
    assert document is not None
    assert document.filename == "closer-export-2026-11-30.json"
    assert document.content == payload


async def test_a_timeout_given_to_a_call_overrides_the_transports_own() -> None:
    """The transport waits forever by default here; the call's own read timeout still holds."""
    standin = TelegramStandIn(TOKEN)
    standin.user(42)
    runner, url_root = await serve_http(standin)
    bot = Bot(TOKEN, base_url=f"{url_root}/bot", request=AiohttpRequest(read_timeout=None))
    try:
        async with bot:
            standin.inject_fault("sendMessage", faults.Timeout(delivered=True, hold_seconds=2))
            with pytest.raises(TimedOut):
                await bot.send_message(42, "x", read_timeout=0.2)
    finally:
        await runner.cleanup()


def test_an_unset_timeout_is_the_transports_and_none_means_no_limit() -> None:
    assert _pick(BaseRequest.DEFAULT_NONE, 5.0) == 5.0
    assert _pick(None, 5.0) is None
    assert _pick(2, 5.0) == 2.0
    assert _pick(0.25, None) == 0.25

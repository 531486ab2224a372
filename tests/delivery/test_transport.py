"""The aiohttp transport through python-telegram-bot, against the stand-in over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.standin import TelegramStandIn, faults, serve_http
from bot.transport import AiohttpRequest
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

"""The stand-in over HTTP, with python-telegram-bot's default HTTPXRequest transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, TimedOut
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.standin import TelegramStandIn, faults, serve_http

from .conftest import AppFactory


@pytest.fixture
async def url_root(standin: TelegramStandIn) -> AsyncIterator[str]:
    runner, root = await serve_http(standin)
    try:
        yield root
    finally:
        await runner.cleanup()


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with one button."""
    assert update.effective_message is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Got it", callback_data="ack:1")]])
    await update.effective_message.reply_text("Hello over HTTP", reply_markup=markup)


async def acknowledge(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press."""
    assert update.callback_query is not None
    await update.callback_query.answer("Noted")


async def test_polling_app_over_http(
    standin: TelegramStandIn, url_root: str, running_app: AppFactory
) -> None:
    user = standin.user(42)
    async with running_app(
        CommandHandler("start", menu),
        CallbackQueryHandler(acknowledge),
        base_url=f"{url_root}/bot",
        http=True,
    ):
        await user.send("/start")
        reply = await user.next_message(timeout=3)
        assert reply.text == "Hello over HTTP"
        query_id = await user.press("Got it")
        call = await standin.wait_for_call(
            "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id, 3
        )
    assert call.ok
    assert standin.callback_answers[-1].text == "Noted"


@pytest.fixture
async def http_bot(standin: TelegramStandIn, url_root: str) -> AsyncIterator[Bot]:
    async with Bot(
        standin.token,
        base_url=f"{url_root}/bot",
        base_file_url=f"{url_root}/file/bot",
        request=HTTPXRequest(read_timeout=0.3),
    ) as bot:
        yield bot


async def test_errors_over_http(http_bot: Bot, standin: TelegramStandIn, url_root: str) -> None:
    standin.user(42)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await http_bot.send_message(
            42,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("a", callback_data="x" * 65)]]
            ),
        )
    with pytest.raises(BadRequest, match="Chat not found"):
        await http_bot.send_message(1, "x")
    standin.inject_fault("sendMessage", faults.ServerError(502))
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await http_bot.send_message(42, "x")


async def test_wrong_token_over_http(standin: TelegramStandIn, url_root: str) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=f"{url_root}/bot"):
            pass


async def test_timeout_over_http_holds_the_answer(http_bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    standin.inject_fault("sendMessage", faults.Timeout(delivered=True, hold_seconds=2))
    with pytest.raises(TimedOut):
        await http_bot.send_message(42, "maybe")
    assert [m.text for m in user.messages] == ["maybe"]


async def test_dropped_connection_is_a_network_error(
    http_bot: Bot, standin: TelegramStandIn
) -> None:
    standin.user(42)
    standin.inject_fault("sendMessage", faults.Timeout(drop=True))
    with pytest.raises(NetworkError):
        await http_bot.send_message(42, "lost")


async def test_multipart_document_and_download_over_http(
    http_bot: Bot, standin: TelegramStandIn
) -> None:
    user = standin.user(42)
    sent = await http_bot.send_document(
        42, InputFile(b"\x00\x01data", filename="export.json"), caption="Your data"
    )
    assert user.messages[-1].document_bytes == b"\x00\x01data"
    assert sent.document is not None
    file = await http_bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"\x00\x01data"


async def test_json_body_and_control_endpoint(standin: TelegramStandIn, url_root: str) -> None:
    async with httpx.AsyncClient(base_url=url_root) as client:
        sent = await client.post(
            "/_control/user/7/send", json={"text": "/start", "first_name": "Jo"}
        )
        assert sent.json() == {"message_id": 1}
        update = standin.pending_updates[-1]["message"]
        assert update["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
        answer = await client.post(
            f"/bot{standin.token}/sendMessage",
            json={
                "chat_id": 7,
                "text": "Hi <b>Jo</b>",
                "parse_mode": "HTML",
                "reply_markup": {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]},
            },
        )
        assert answer.json()["ok"] is True
        messages = (await client.get("/_control/user/7/messages")).json()
        assert [m["text"] for m in messages] == ["Hi Jo"]
        pressed = await client.post("/_control/user/7/press", json={"label": "Go"})
        assert pressed.json()["callback_query_id"]
        calls = (await client.get("/_control/calls")).json()
        assert [c["method"] for c in calls] == ["sendMessage"]
        unknown = await client.get(f"/bot{standin.token}/noSuchMethod")
        assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")
        bad = await client.post("/botnope/getMe")
        assert (bad.status_code, bad.json()["description"]) == (401, "Unauthorized")
        fault = await client.post(
            "/_control/fault", json={"method": "getMe", "kind": "retry_after", "seconds": 3}
        )
        assert fault.status_code == 200
        limited = await client.get(f"/bot{standin.token}/getMe")
        assert limited.json()["parameters"] == {"retry_after": 3}


async def test_long_poll_is_released_when_the_server_stops(standin: TelegramStandIn) -> None:
    runner, root = await serve_http(standin)
    async with httpx.AsyncClient(base_url=root) as client:
        poll = asyncio.create_task(client.get(f"/bot{standin.token}/getUpdates?timeout=30"))
        await asyncio.sleep(0.05)
        start = asyncio.get_running_loop().time()
        await runner.cleanup()
        response = await asyncio.wait_for(poll, 2)
        assert response.status_code == 503
        assert asyncio.get_running_loop().time() - start < 2

"""python-telegram-bot raises its real errors from the stand-in's answers."""

from __future__ import annotations

import datetime as dtm

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.standin import RateLimits, StandInRequest, TelegramStandIn, faults

from .conftest import Clock


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Tap", callback_data=data)]])


async def test_get_me_answers_the_bots_identity(bot: Bot, standin: TelegramStandIn) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (standin.bot_id, standin.username, True)


async def test_wrong_token_raises_invalid_token(standin: TelegramStandIn) -> None:
    wrong = Bot("999:nope", request=StandInRequest(standin))
    with pytest.raises(InvalidToken):
        await wrong.initialize()


async def test_unknown_method_is_404(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound, match="sendTelepathy"):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})


async def test_callback_data_is_limited_to_64_bytes(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    await bot.send_message(42, "ok", reply_markup=keyboard("x" * 64))
    await bot.send_message(42, "ok", reply_markup=keyboard("é" * 32))  # 64 bytes
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(42, "no", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(42, "no", reply_markup=keyboard("é" * 32 + "x"))  # 65 bytes
    assert [m.text for m in user.messages] == ["ok", "ok"]


async def test_button_without_action_is_refused(bot: Bot, standin: TelegramStandIn) -> None:
    standin.user(42)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Just text")]])
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed in the inline keyboard"):
        await bot.send_message(42, "x", reply_markup=markup)


async def test_text_is_limited_to_4096_characters(bot: Bot, standin: TelegramStandIn) -> None:
    standin.user(42)
    await bot.send_message(42, "a" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(42, "a" * 4097)
    # the limit applies after entity parsing
    await bot.send_message(42, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)


async def test_empty_text_is_refused(bot: Bot, standin: TelegramStandIn) -> None:
    standin.user(42)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(42, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_bad_html_raises_cant_parse_entities(bot: Bot, standin: TelegramStandIn) -> None:
    standin.user(42)
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "foo" at byte offset 6'):
        await bot.send_message(42, "Hello <foo>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(42, "<b>open", parse_mode=ParseMode.HTML)
    sent = await bot.send_message(42, "<b>fine</b> &amp; good", parse_mode=ParseMode.HTML)
    assert sent.text == "fine & good"
    assert sent.entities[0].type == "bold"


async def test_unknown_chat_is_chat_not_found(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(777, "hi")


async def test_blocked_user_raises_forbidden_until_unblocked(
    bot: Bot, standin: TelegramStandIn
) -> None:
    user = standin.user(42)
    sent = await bot.send_message(42, "hi")
    await user.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "still there?")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("edited", chat_id=42, message_id=sent.message_id)
    await user.unblock()
    await bot.send_message(42, "welcome back")
    kinds = [next(k for k in u if k != "update_id") for u in standin.pending_updates]
    assert kinds == ["my_chat_member", "my_chat_member"]


async def test_user_who_never_started_the_bot_is_forbidden(
    bot: Bot, standin: TelegramStandIn
) -> None:
    standin.user(42, started=False)
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(42, "hi")


async def test_edit_not_modified_and_not_found(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    sent = await bot.send_message(42, "v1", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match="Message is not modified: specified new message content"):
        await bot.edit_message_text(
            "v1", chat_id=42, message_id=sent.message_id, reply_markup=keyboard("a")
        )
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("v2", chat_id=42, message_id=999)
    await bot.edit_message_text("v2", chat_id=42, message_id=sent.message_id)
    # an edit without reply_markup drops the keyboard, as on Telegram
    assert user.messages[0].text == "v2"
    assert user.messages[0].edits == ["v1"]
    assert user.messages[0].keyboard == []
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id)


async def test_delete_then_edit_is_not_found(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    sent = await bot.send_message(42, "bye")
    assert await bot.delete_message(42, sent.message_id)
    assert user.messages == []
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(42, sent.message_id)


async def test_poll_limits(bot: Bot, standin: TelegramStandIn) -> None:
    standin.user(42)
    with pytest.raises(BadRequest, match=r"(?i)poll_options_too_much"):
        await bot.send_poll(42, "Q?", [str(n) for n in range(11)])
    with pytest.raises(BadRequest, match="at least 2 option"):
        await bot.send_poll(42, "Q?", ["only"])
    with pytest.raises(BadRequest, match=r"(?i)poll_option_invalid"):
        await bot.send_poll(42, "Q?", ["a", "b" * 101])
    with pytest.raises(BadRequest, match=r"(?i)poll_question_invalid"):
        await bot.send_poll(42, "q" * 301, ["a", "b"])
    message = await bot.send_poll(42, "How close?", ["Closer", "Same"], is_anonymous=False)
    assert message.poll is not None
    assert message.poll.question == "How close?"
    assert [o.voter_count for o in message.poll.options] == [0, 0]
    assert message.poll.is_anonymous is False
    stopped = await bot.stop_poll(42, message.message_id)
    assert stopped.is_closed
    with pytest.raises(BadRequest, match="Poll has already been closed"):
        await bot.stop_poll(42, message.message_id)


async def test_caption_limit_and_document_bytes(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(42, InputFile(b"{}", filename="x.json"), caption="c" * 1025)
    sent = await bot.send_document(
        42, InputFile(b'{"a": 1}', filename="export.json"), caption="Your data"
    )
    assert sent.document is not None
    assert sent.document.file_name == "export.json"
    assert user.messages[-1].document_bytes == b'{"a": 1}'
    assert user.messages[-1].filename == "export.json"
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b'{"a": 1}'


async def test_commands_are_validated(bot: Bot) -> None:
    await bot.set_my_commands([("start", "Begin"), ("log_talk", "Log a conversation")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "log_talk"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Start", "Begin")])
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("start", "x" * 257)])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_injected_retry_after(bot: Bot, standin: TelegramStandIn) -> None:
    standin.user(42)
    standin.inject_fault("sendMessage", faults.RetryAfter(7))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(42, "hi")  # only once


async def test_injected_server_error_is_network_error(bot: Bot, standin: TelegramStandIn) -> None:
    standin.user(42)
    standin.inject_fault("sendMessage", faults.ServerError(502), times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(42, "hi")
    assert standin.user(42).messages == []


async def test_timeout_fault_delivered_or_not(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    standin.inject_fault("sendMessage", faults.Timeout(delivered=False))
    with pytest.raises(TimedOut):
        await bot.send_message(42, "lost")
    standin.inject_fault("sendMessage", faults.Timeout(delivered=True))
    with pytest.raises(TimedOut):
        await bot.send_message(42, "ambiguous")
    assert [m.text for m in user.messages] == ["ambiguous"]
    assert [c.timed_out for c in standin.calls_to("sendMessage")] == [True, True]


async def test_fault_for_one_chat_only(bot: Bot, standin: TelegramStandIn) -> None:
    standin.user(1)
    standin.user(2)
    standin.inject_fault("sendMessage", faults.Forbidden(), chat_id=2)
    await bot.send_message(1, "fine")
    with pytest.raises(Forbidden):
        await bot.send_message(2, "blocked")


async def test_rate_limits_per_chat_and_overall(bot: Bot, clock: Clock) -> None:
    now = [0.0]
    standin = TelegramStandIn(monotonic=lambda: now[0])
    async with Bot(standin.token, request=StandInRequest(standin)) as limited:
        for user_id in range(1, 40):
            standin.user(user_id)
        standin.enable_rate_limits(RateLimits(per_second=30, per_chat_per_second=1.0))
        await limited.send_message(1, "one")
        with pytest.raises(RetryAfter) as caught:
            await limited.send_message(1, "two")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        now[0] += 1.0
        await limited.send_message(1, "two")
        for user_id in range(2, 31):
            await limited.send_message(user_id, "burst")
        with pytest.raises(RetryAfter):
            await limited.send_message(31, "over thirty")
        now[0] += 1.0
        await limited.send_message(31, "later")


@pytest.mark.parametrize(
    "base_url",
    ["https://api.telegram.org/bot", "http://stand.in:8081/bot", "http://stand.in/api/{token}"],
)
async def test_any_base_url_reaches_the_stand_in(standin: TelegramStandIn, base_url: str) -> None:
    async with Bot(standin.token, base_url=base_url, request=StandInRequest(standin)) as bot:
        assert (await bot.get_me()).username == standin.username

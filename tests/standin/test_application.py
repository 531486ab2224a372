"""A real Application on the real polling updater, driven by stand-in users."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    filters,
)

from bot.standin import TelegramStandIn

from .conftest import AppFactory, Clock


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with a keyboard."""
    assert update.effective_message is not None
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Tried it", callback_data="tried:step1")],
            [InlineKeyboardButton("Not yet", callback_data="notyet:step1")],
        ]
    )
    await update.effective_message.reply_text(
        "<b>Welcome</b> to Closer", parse_mode=ParseMode.HTML, reply_markup=markup
    )


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer first, then show what was logged."""
    query = update.callback_query
    assert query is not None
    await query.answer("Logged")
    await query.edit_message_text(f"Logged: {query.data}")


async def test_start_gets_a_reply_through_polling(
    standin: TelegramStandIn, running_app: AppFactory
) -> None:
    user = standin.user(42, "Sam")
    async with running_app(CommandHandler("start", start)):
        await user.send("/start")
        reply = await user.next_message(timeout=3)
    assert reply.text == "Welcome to Closer"
    assert reply.entities == [{"type": "bold", "offset": 0, "length": 7}]
    assert reply.keyboard == [[("Tried it", "tried:step1")], [("Not yet", "notyet:step1")]]
    assert reply.reply_to_message_id is None or reply.reply_to_message_id == 1


async def test_press_reaches_the_callback_handler_and_is_answered_once(
    standin: TelegramStandIn, running_app: AppFactory
) -> None:
    user = standin.user(42)
    async with running_app(CommandHandler("start", start), CallbackQueryHandler(pressed)):
        await user.send("/start")
        menu = await user.next_message(timeout=3)
        query_id = await user.press("Tried it")
        await standin.wait_for_call(
            "editMessageText", lambda c: c.ok and c.params["message_id"] == str(menu.message_id)
        )
    answers = [a for a in standin.callback_answers if a.callback_query_id == query_id]
    assert [a.text for a in answers] == ["Logged"]
    assert user.messages[0].text == "Logged: tried:step1"
    assert user.messages[0].keyboard == []


async def test_replaying_a_callback_answer_fails_like_telegram(
    standin: TelegramStandIn, bot: Bot, clock: Clock
) -> None:
    user = standin.user(42)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    await bot.send_message(42, "x", reply_markup=markup)
    query_id = await user.press("Go")
    assert await bot.answer_callback_query(query_id, text="ok")
    too_old = r"(?i)query is too old and response timeout expired or query id is invalid"
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query("12345")
    stale = await user.press("Go")
    clock.advance(minutes=16)
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query(stale)
    long_text = await user.press("Go")
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await bot.answer_callback_query(long_text, text="x" * 201)
    assert [a.text for a in standin.callback_answers] == ["ok"]


async def test_poll_answers_arrive_and_counts_update(
    standin: TelegramStandIn, running_app: AppFactory
) -> None:
    user = standin.user(42)
    answers: list[tuple[int, list[int]]] = []

    async def on_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Store the answer."""
        assert update.poll_answer is not None and update.poll_answer.user is not None
        answers.append((update.poll_answer.user.id, list(update.poll_answer.option_ids)))

    async with running_app(PollAnswerHandler(on_answer)) as app:
        sent = await app.bot.send_poll(
            42, "Connection this week?", ["Closer", "Same", "Further"], is_anonymous=False
        )
        await user.answer_poll(sent.message_id, [0])
        await standin.wait_until(lambda: len(answers) == 1, timeout=3)
    assert answers == [(42, [0])]
    poll = user.messages[0].poll
    assert poll is not None and poll.counts == [1, 0, 0]


async def test_block_sends_my_chat_member_kicked(
    standin: TelegramStandIn, running_app: AppFactory
) -> None:
    user = standin.user(42)
    statuses: list[str] = []

    async def on_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Record the bot's new status."""
        assert update.my_chat_member is not None
        statuses.append(update.my_chat_member.new_chat_member.status)

    async with running_app(ChatMemberHandler(on_member, ChatMemberHandler.MY_CHAT_MEMBER)):
        await user.block()
        await user.unblock()
        await standin.wait_until(lambda: len(statuses) == 2, timeout=3)
    assert statuses == ["kicked", "member"]


async def test_other_user_inputs_reach_handlers(
    standin: TelegramStandIn, running_app: AppFactory
) -> None:
    user = standin.user(42)
    group = standin.group(-500, "Family")
    seen: list[str] = []

    async def on_any(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Name what arrived."""
        message = update.effective_message
        assert message is not None
        if update.edited_message:
            seen.append(f"edited:{message.text}")
        elif message.location:
            seen.append("location")
        elif message.sticker:
            seen.append("sticker")
        elif message.photo:
            seen.append("photo")
        else:
            seen.append(f"{message.chat.type}:{message.text}")

    async with running_app(MessageHandler(filters.ALL, on_any)):
        first = await user.send("hello")
        await user.edit(first, "hello again")
        await user.share_location(52.5, 13.4)
        await user.send_sticker()
        await user.send_photo()
        await user.send_in(group, "hi all")
        await standin.wait_until(lambda: len(seen) == 6, timeout=3)
    assert seen == [
        "private:hello",
        "edited:hello again",
        "location",
        "sticker",
        "photo",
        "group:hi all",
    ]


async def test_forged_press_data_and_poll_votes_by_poll_id(
    standin: TelegramStandIn, bot: Bot
) -> None:
    user = standin.user(42)
    other = standin.user(43)
    sent = await bot.send_message(
        42,
        "x",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]]),
    )
    await user.press_data(sent.message_id, "forged:" + "z" * 80)
    update = standin.pending_updates[-1]["callback_query"]
    assert update["data"].startswith("forged:")
    poll_message = await bot.send_poll(42, "Did he open up?", ["Yes", "A bit", "No"])
    assert poll_message.poll is not None
    await user.answer_poll(poll_message.poll.id, [1])
    await user.answer_poll(poll_message.message_id, [2])  # changes the vote
    with pytest.raises(LookupError):
        await other.answer_poll(poll_message.message_id, [0])  # not in their chat
    stored = standin.poll(poll_message.poll.id)
    assert stored is not None and stored.counts == [0, 0, 1]
    # anonymous poll: "poll" updates only, no poll_answer
    kinds = {next(k for k in u if k != "update_id") for u in standin.pending_updates}
    assert "poll_answer" not in kinds and "poll" in kinds


async def test_bot_messages_in_a_group(standin: TelegramStandIn, bot: Bot) -> None:
    group = standin.group(-100500, "Family")
    user = standin.user(42)
    await user.send_in(group, "hello group")
    await bot.send_message(-100500, "hi everyone")
    assert [m.text for m in group.messages] == ["hi everyone"]
    assert user.messages == []

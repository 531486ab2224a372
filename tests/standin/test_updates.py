"""getUpdates semantics: offset confirms, limit, long polling, allowed_updates, conflicts."""

from __future__ import annotations

import asyncio
import datetime as dtm

import pytest
from telegram import Bot
from telegram.error import Conflict

from bot.standin import TelegramStandIn


async def test_offset_confirms_and_drops_older_updates(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    for text in ("one", "two", "three"):
        await user.send(text)
    first = await bot.get_updates()
    assert [u.message.text for u in first if u.message] == ["one", "two", "three"]
    ids = [u.update_id for u in first]
    assert ids == sorted(ids) and len(set(ids)) == 3
    again = await bot.get_updates()  # not confirmed yet: delivered again
    assert [u.update_id for u in again] == ids
    rest = await bot.get_updates(offset=ids[1])
    assert [u.update_id for u in rest] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(offset=ids[-1] + 1)] == []
    assert standin.pending_updates == []


async def test_limit_and_negative_offset(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    for n in range(5):
        await user.send(str(n))
    assert [u.message.text for u in await bot.get_updates(limit=2) if u.message] == ["0", "1"]
    last_two = await bot.get_updates(offset=-2)
    assert [u.message.text for u in last_two if u.message] == ["3", "4"]


async def test_long_poll_returns_when_an_update_arrives(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    poll = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=5)))
    await asyncio.sleep(0.01)
    assert not poll.done()
    await user.send("wake up")
    updates = await asyncio.wait_for(poll, 1)
    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.05)) == ()


async def test_allowed_updates_filters_and_persists(bot: Bot, standin: TelegramStandIn) -> None:
    user = standin.user(42)
    await user.send("text")
    await user.block()
    updates = await bot.get_updates(allowed_updates=["my_chat_member"])
    assert [u.my_chat_member is not None for u in updates] == [True]
    await user.send("dropped")
    # the filter persists, as on Telegram
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()


async def test_a_second_poller_conflicts_with_the_first(bot: Bot, standin: TelegramStandIn) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=5)))
    await asyncio.sleep(0.01)
    await bot.get_updates()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 1)


async def test_webhook_blocks_get_updates(bot: Bot) -> None:
    await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()

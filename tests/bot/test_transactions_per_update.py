"""An update opens the transactions it needs: reads read-only, a recorded press one write.

A press is checked read-only first; only one that records something opens a write
transaction, so stale, foreign and replayed presses never take the write lock.

Counted by the Database itself (``Database.transactions``), around updates the real Application
handled from the stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.storage.db import TransactionCount
from tests.bot.conftest import Closer, running_closer


@pytest.fixture
async def closer(any_db_url: str) -> AsyncIterator[Closer]:
    """Closer on a fresh SQLite file, then on a fresh PostgreSQL schema."""
    async with running_closer(any_db_url) as harness:
        yield harness


def _count(closer: Closer) -> TransactionCount:
    return replace(closer.db.transactions)


def _since(closer: Closer, before: TransactionCount) -> TransactionCount:
    now = closer.db.transactions
    return TransactionCount(read=now.read - before.read, write=now.write - before.write)


async def test_reading_updates_open_no_write_transaction(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    for text in ("/help", "/about", "/checklist", "/progress", "he went quiet again"):
        before = _count(closer)
        await closer.say(user, text)
        await closer.settle()
        spent = _since(closer, before)
        assert spent.write == 0, text
        assert spent.read == 1, text
    before = _count(closer)
    await closer.press(user, "✅ Tried it", message_id=nudge.message_id)  # only opens a menu
    assert _since(closer, before) == TransactionCount(read=1, write=0)


async def test_a_recorded_press_opens_exactly_one_transaction_and_a_replay_none(
    closer: Closer,
) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "✅ Tried it", message_id=nudge.message_id)
    went_well = dict(pair for row in user.keyboard(nudge.message_id) for pair in row)[
        "😊 Went well"
    ]
    assert went_well is not None
    before = _count(closer)
    assert await closer.press(user, "😊 Went well", message_id=nudge.message_id) == "Saved ✓"
    assert _since(closer, before) == TransactionCount(read=1, write=1)
    # The same press replayed (a double tap, or Telegram sending the update again).
    before = _count(closer)
    answer = await closer.answered(await user.press_data(nudge.message_id, went_well))
    await closer.settle()
    assert "Already saved" in str(answer.params.get("text"))
    assert _since(closer, before) == TransactionCount(read=1, write=0)
    stale_before = _count(closer)
    answer = await closer.answered(await user.press_data(nudge.message_id, "1:n:999999:w"))
    await closer.settle()
    assert "isn't one of yours" in str(answer.params.get("text"))
    assert _since(closer, stale_before) == TransactionCount(read=1, write=0)


async def test_a_command_ends_an_open_question_without_a_write_when_none_is_open(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.say(user, "/settings")
    await closer.press(user, "Time zone")  # a typed answer is now awaited
    before = _count(closer)
    await closer.say(user, "/help")
    await closer.settle()
    assert _since(closer, before) == TransactionCount(read=1, write=1)  # the question ends
    before = _count(closer)
    await closer.say(user, "/help")
    await closer.settle()
    assert _since(closer, before) == TransactionCount(read=1, write=0)

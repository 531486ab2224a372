"""What PostgreSQL cannot take never reaches it: ids beyond its int range, NUL in a note.

Forged callback ids at or above 2^31 get the polite "not yours" answer (no "value out of int32
range" traceback); a typed note with NUL (or a lone surrogate) is stored without it, and the
user is told. Both databases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.storage.models import ConversationLog
from tests.bot.conftest import Closer, running_closer


@pytest.fixture
async def any_closer(any_db_url: str) -> AsyncIterator[Closer]:
    async with running_closer(any_db_url) as harness:
        yield harness


@pytest.mark.parametrize(
    "data",
    [
        "1:n:2147483648:t",
        "1:n:9223372036854775807:w",
        "1:lg:i:2147483648:acknowledge-conditioning",
        "1:lg:n:99999999999999",
        "1:pz:2147483648",
    ],
)
async def test_forged_ids_beyond_the_database_range_get_a_polite_answer(
    any_closer: Closer, data: str
) -> None:
    user = any_closer.user()
    nudge = await any_closer.onboard(user)
    before = await any_closer.rows_of(user.user_id)
    answer = await any_closer.answered(await user.press_data(nudge.message_id, data))
    await any_closer.settle()
    text = str(answer.params.get("text"))
    assert "Sorry" in text and "went wrong" not in text
    assert await any_closer.rows_of(user.user_id) == before
    assert not any_closer.errors


async def test_a_note_with_nul_is_kept_without_it_and_the_user_is_told(any_closer: Closer) -> None:
    user = any_closer.user()
    await any_closer.onboard(user)
    await any_closer.say(user, "/log")
    await any_closer.press(user, "😐 Mixed")
    await any_closer.press(user, "Skip")
    done = await any_closer.say(user, "we talked\x00 over dinner \ud800ok")
    assert "left out a few characters" in (done.text or "")
    async with any_closer.db.transaction(write=False) as session:
        notes = list(await session.scalars(select(ConversationLog.note)))
    assert notes == ["we talked over dinner ?ok"]

"""An update is confirmed only when its effect is durable or deliberately set aside.

The real Application polling the Telegram stand-in, on a real SQLite file. A full disk is made
with the bot's test-only fault setting (``disk_full_file``: the database cannot grow); a bug
is a handler that raises.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot import metrics
from bot.set_aside import replay
from bot.standin import UserActor
from bot.storage.models import ConversationLog, User, metadata
from bot.storage.set_aside import listing
from content import default_library
from content.render import visible_text
from tests.bot.conftest import Closer, running_closer
from tests.faults import fill_the_disk
from tests.templates import copy_migrated_sqlite

SET_ASIDE = metadata.tables["set_aside_updates"]
LIBRARY = default_library()
WAIT = visible_text(LIBRARY.render_text("storage_wait"))
WAIT_TOAST = visible_text(LIBRARY.render_text("storage_wait_toast"))
KEPT_TOAST = visible_text(LIBRARY.render_text("kept_toast"))
ERROR_REPLY = visible_text(LIBRARY.render_text("error_reply"))
WELCOME_START = visible_text(LIBRARY.render_text("welcome")).split("\n")[0]


@pytest.fixture
async def full_disk(tmp_path: Path, migrated_sqlite_template: Path) -> AsyncIterator[Any]:
    """Closer whose SQLite file stops growing while ``tmp_path / 'full'`` exists."""
    url = f"sqlite:///{tmp_path / 'closer.sqlite3'}"
    copy_migrated_sqlite(migrated_sqlite_template, url)
    flag = tmp_path / "full"
    async with running_closer(url, disk_full_file=flag) as harness:
        yield harness, flag


async def fill(closer: Closer, flag: Path) -> None:
    await fill_the_disk(closer.db, flag)


def _texts(user: UserActor) -> list[str]:
    return [m.text or "" for m in user.messages]


async def _count(closer: Closer, table: Any, *where: Any) -> int:
    async with closer.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def test_a_full_disk_holds_every_start_until_space_returns(full_disk: Any) -> None:
    closer, flag = full_disk
    users = [closer.user(user_id=5000 + n, first_name=f"U{n}") for n in range(40)]
    await fill(closer, flag)
    for user in users:
        await user.send("/start")
    # Storage fails under some of them: those are not confirmed, and each of their users
    # hears once that Closer cannot save right now.
    await closer.standin.wait_until(lambda: closer.db.watch.outage is not None, timeout=15)
    await closer.standin.wait_until(lambda: any(WAIT in _texts(u) for u in users), timeout=15)
    assert closer.db.watch.outage is not None
    assert closer.db.watch.outage.reason == "disk full"
    await closer.standin.wait_until(lambda: all(WAIT in _texts(u) for u in users), timeout=15)
    assert not any(WELCOME_START in "\n".join(_texts(u)) for u in users), "none got through"
    flag.unlink()
    await closer.standin.wait_until(
        lambda: all(WELCOME_START in "\n".join(_texts(u)) for u in users), timeout=30
    )
    await closer.settle()
    for user in users:
        texts = _texts(user)
        assert sum(WELCOME_START in t for t in texts) == 1, "the welcome went out once"
        assert texts.count(WAIT) <= 1, "one short word per outage at most"
    assert await _count(closer, User.__table__, User.telegram_id >= 5000) == len(users)
    assert closer.db.watch.state() == "ok"
    assert await _count(closer, SET_ASIDE) == 0


async def test_a_press_during_a_full_disk_is_recorded_once_afterwards(full_disk: Any) -> None:
    closer, flag = full_disk
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "✅ Tried it", nudge.message_id)
    newcomers = [closer.user(user_id=7000 + n) for n in range(5)]
    await fill(closer, flag)
    for newcomer in newcomers:
        await newcomer.send("/start")
    await closer.standin.wait_until(lambda: closer.db.watch.outage is not None, timeout=15)
    query_id = await user.press("😊 Went well", nudge.message_id)
    answer = await closer.answered(query_id)
    assert answer.params.get("text") == WAIT_TOAST
    flag.unlink()
    await closer.standin.wait_until(
        lambda: all(WELCOME_START in "\n".join(_texts(u)) for u in newcomers), timeout=30
    )
    await closer.settle()
    logs = await _count(closer, ConversationLog.__table__)
    assert logs == 1, "the press took effect once"
    edited = closer.standin.message(user.user_id, nudge.message_id)
    assert edited is not None and "Logged: it went well" in (edited.text or "")


async def test_a_bug_sets_the_update_aside_and_a_replay_finishes_it(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    broken = {"on": True}

    async def bug(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if broken["on"]:
            raise RuntimeError("a bug in a handler")

    assert closer.app is not None
    closer.app.add_handler(TypeHandler(Update, bug), group=-10)
    before = metrics.SET_ASIDE.labels("callback_query", "bug")._value.get()

    toast = await closer.press(user, "✅ Tried it", nudge.message_id)
    assert toast == KEPT_TOAST
    await user.send("he went quiet again last night and I feel lost")
    reply = await user.next_message()
    assert visible_text(reply.text or "") == ERROR_REPLY
    await closer.settle()
    assert metrics.SET_ASIDE.labels("callback_query", "bug")._value.get() == before + 1
    closer.errors.clear()

    rows = await closer.db.run_read(listing)
    assert {row.kind for row in rows} == {"callback_query", "message"}
    press = next(row for row in rows if row.kind == "callback_query")
    text = next(row for row in rows if row.kind == "message")
    assert text.replay is None, "what she wrote is never kept"
    assert press.replay is not None and press.error_type == "RuntimeError"
    kept = json.loads(press.replay)
    assert kept["callback_query"]["from"]["first_name"] == ""
    assert "Alex" not in press.replay
    assert press.chat_id == user.user_id

    broken["on"] = False
    results = await replay(closer.app, closer.db, None, closer.clock())
    assert {(r.update_id, r.result) for r in results} == {
        (press.update_id, "done"),
        (text.update_id, "not replayable"),
    }
    await closer.settle()
    labels = [label for row in user.keyboard(nudge.message_id) for label, _ in row]
    assert labels == ["😊 Went well", "😐 Mixed", "😣 Hard", "‹ Back"]
    left = await closer.db.run_read(listing)
    assert [row.update_id for row in left] == [text.update_id]
    # A second replay finds nothing more to do for the press.
    again = await replay(closer.app, closer.db, {press.update_id}, closer.clock())
    assert again == []


async def test_forget_erases_her_set_aside_updates(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)

    async def bug(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            raise RuntimeError("a bug in a handler")

    assert closer.app is not None
    closer.app.add_handler(TypeHandler(Update, bug), group=-10)
    await closer.press(user, "✅ Tried it", nudge.message_id)
    closer.errors.clear()
    assert await _count(closer, SET_ASIDE, SET_ASIDE.c.chat_id == user.user_id) == 1
    closer.app.remove_handler(closer.app.handlers[-10][0], group=-10)
    await closer.say(user, "/forget")
    await closer.press(user, "Yes, erase everything")
    assert await _count(closer, SET_ASIDE, SET_ASIDE.c.chat_id == user.user_id) == 0


async def test_an_outage_past_the_bound_sets_the_update_aside(full_disk: Any) -> None:
    closer, flag = full_disk
    closer.db.watch.attempts_bound = 2
    closer.db.watch.seconds_bound = 0.0
    newcomers = [closer.user(user_id=8000 + n) for n in range(5)]
    await fill(closer, flag)
    for newcomer in newcomers:
        await newcomer.send("/start")
    await closer.standin.wait_until(lambda: closer.db.watch.outage is not None, timeout=15)
    # Each held /start is set aside after its second try: the poller moves on.
    await closer.standin.wait_until(lambda: not closer.standin.pending_updates, timeout=30)
    rows = await closer.db.run_read(listing)
    assert rows, "nothing was held past the bound"
    assert {row.reason for row in rows} == {"outage"}
    assert all(row.replay is not None and row.kind == "message" for row in rows)
    flag.unlink()
    results = await replay(closer.app, closer.db, None, closer.clock())
    assert {r.result for r in results} == {"done"}
    await closer.standin.wait_until(
        lambda: all(WELCOME_START in "\n".join(_texts(u)) for u in newcomers), timeout=15
    )
    assert await _count(closer, User.__table__, User.telegram_id >= 8000) == len(newcomers)
    assert await _count(closer, ConversationLog.__table__) == 0

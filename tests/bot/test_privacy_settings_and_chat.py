"""/export, /forget, /settings, /pause and /resume, blocking, and everything else a chat sends."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select

from bot.storage.models import User, UserSettings
from tests.bot.conftest import Closer


async def _settings(closer: Closer, telegram_id: int) -> UserSettings:
    async with closer.db.transaction(write=False) as session:
        row = await session.scalar(
            select(UserSettings)
            .join(User, User.id == UserSettings.user_id)
            .where(User.telegram_id == telegram_id)
        )
        assert row is not None
        return row


async def _busy_user(closer: Closer, telegram_id: int, name: str) -> None:
    """A user with rows in every table: settings, progress, outbox, logs, polls, answers."""
    from bot.storage.repositories import UserRepository

    user = closer.user(telegram_id, name)
    await closer.onboard(user)
    await closer.press(user, "✅ Tried it")
    await closer.press(user, "😊 Went well")
    await closer.say(user, "/log")
    await closer.press(user, "😐 Mixed")
    await closer.press(user, "Skip")
    await closer.say(user, f"note from {name}")
    async with closer.db.transaction(write=False) as session:
        snapshot = await session.run_sync(
            lambda s: UserRepository(s).get_by_telegram_id(telegram_id)
        )
    assert snapshot is not None
    polls = await closer.send_checkin(snapshot)
    await user.answer_poll(polls[0], [0])
    await closer.settle()
    user.skip_messages()


async def test_export_holds_all_of_the_users_data_and_none_of_anyone_elses(closer: Closer) -> None:
    await _busy_user(closer, 1001, "Alice")
    await _busy_user(closer, 2002, "Bob")
    alice = closer.user(1001, "Alice")
    await alice.send("/export")
    document = await alice.next_message()
    stored = document.document
    assert stored is not None and stored.filename is not None and stored.content is not None
    assert stored.filename.startswith("closer-export-")
    exported = json.loads(stored.content)
    # Every stored row of hers appears: readable sections for the main tables, "other" for
    # the rest, as stored.
    sections = {
        "users": [exported["you"]],
        "user_settings": [exported["settings"]],
        "item_progress": exported["progress"],
        "conversation_logs": exported["conversations"],
        "poll_answers": exported["check_in_answers"],
        **exported["other"],
    }
    counts = await closer.rows_of(1001)
    assert {name: len(rows) for name, rows in sections.items()} == counts
    assert all(count > 0 for count in counts.values()), counts
    assert exported["you"]["telegram_id"] == 1001
    alice_id = exported["other"]["outbox"][0]["user_id"]
    for name, rows in exported["other"].items():
        assert {row["user_id"] for row in rows} == {alice_id}, name
    for answer in exported["check_in_answers"]:  # the question and the option beside it
        assert answer["question"] and answer["options"]
    text = json.dumps(exported)
    assert "note from Alice" in text and "note from Bob" not in text and "2002" not in text
    table = await alice.next_message()
    csv_file = table.document
    assert csv_file is not None and csv_file.filename is not None and csv_file.content is not None
    assert csv_file.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + len(exported["conversations"])
    assert any("note from Alice" in cell for row in rows for cell in row)


async def test_forget_erases_every_row_of_the_user_and_only_theirs(closer: Closer) -> None:
    await _busy_user(closer, 1001, "Alice")
    await _busy_user(closer, 2002, "Bob")
    bob_before = await closer.rows_of(2002)
    alice = closer.user(1001, "Alice")
    confirm = await closer.say(alice, "/forget")
    assert "can't be undone" in (confirm.text or "")
    await closer.press(alice, "No, keep it")
    assert all(count > 0 for count in (await closer.rows_of(1001)).values())
    await closer.say(alice, "/forget")
    await closer.press(alice, "Yes, erase everything")
    assert "Everything I stored about you is gone" in (alice.messages[-1].text or "")
    assert await closer.rows_of(1001) == {}  # not even a users row to count from
    async with closer.db.transaction(write=False) as session:
        from bot.storage.models import metadata

        for table in metadata.sorted_tables:
            if "user_id" in table.c:
                rows = (await session.execute(select(table.c.user_id))).scalars().all()
                bob = await session.scalar(select(User.id).where(User.telegram_id == 2002))
                assert set(rows) <= {bob}, table.name
    assert await closer.rows_of(2002) == bob_before
    again = await closer.say(alice, "/export")
    assert "don't store anything" in (again.text or "")


async def test_settings_menu_changes_each_answer(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    menu = await closer.say(user, "/settings")
    assert "Your settings" in (menu.text or "")
    await closer.press(user, "Pace")
    await closer.press(user, "Gentle (about 2 a week)")
    await closer.press(user, "Quiet hours")
    await closer.say(user, "22:30-06:45")
    await closer.press(user, "Check-in day")
    await closer.press(user, "Wed")
    await closer.press(user, "Time zone")
    await closer.say(user, "Tokyo")
    await closer.press(user, "Done")
    settings = await _settings(closer, user.user_id)
    assert (settings.pace, settings.quiet_start_minute, settings.quiet_end_minute) == (
        "gentle",
        22 * 60 + 30,
        6 * 60 + 45,
    )
    assert (settings.checkin_weekday, settings.timezone) == (2, "Asia/Tokyo")
    assert "Settings saved" in (user.messages[-1].text or "")


async def test_pause_and_resume(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    bad = await closer.say(user, "/pause soon")
    assert "/pause 3" in (bad.text or "")
    assert (await _settings(closer, user.user_id)).paused_until is None
    paused = await closer.say(user, "/pause 3")
    assert "Paused until" in (paused.text or "")
    until = (await _settings(closer, user.user_id)).paused_until
    assert until == closer.clock.now + timedelta(days=3)
    resumed = await closer.say(user, "/resume")
    assert "Welcome back" in (resumed.text or "")
    assert (await _settings(closer, user.user_id)).paused_until is None
    await closer.say(user, "/pause")
    await closer.press(user, "Until I resume")
    assert "until you send /resume" in (user.messages[-1].text or "")
    not_paused = await closer.say(user, "/resume")
    assert "Welcome back" in (not_paused.text or "")


async def test_blocking_marks_the_user_and_unblocking_brings_them_back(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    await user.block()
    await closer.settle()
    async with closer.db.transaction(write=False) as session:
        blocked = await session.scalar(select(User.blocked_at).where(User.telegram_id == 1001))
    assert blocked == closer.clock.now
    await user.unblock()
    await closer.settle()
    async with closer.db.transaction(write=False) as session:
        blocked = await session.scalar(select(User.blocked_at).where(User.telegram_id == 1001))
    assert blocked is None


async def test_everything_else_gets_a_short_reply_or_deliberate_silence(closer: Closer) -> None:
    user = closer.user()
    hello = await closer.say(user, "hello?")
    assert "/start" in (hello.text or "")
    await closer.onboard(user)
    free = await closer.say(user, "he was quiet again tonight")  # a card, with a way to log
    assert "📝 Log a conversation" in [label for row in free.keyboard for label, _ in row]
    nothing = await closer.say(user, "qwerty zxcv")  # nothing fits: what Closer can do
    assert "/log" in (nothing.text or "") and "/help" in (nothing.text or "")
    unknown = await closer.say(user, "/dance")
    assert "/help" in (unknown.text or "")
    await user.send_sticker()
    assert "only read text" in ((await user.next_message()).text or "")
    await user.send_photo(caption="us")
    assert "only read text" in ((await user.next_message()).text or "")
    before = len(user.messages)
    message_id = await user.send("typo")
    await user.next_message()
    await user.edit(message_id, "typo fixed")
    group = closer.standin.group(-100500, "Friends")
    await user.send_in(group, "/start")
    await user.send_in(group, "hi bot")
    await closer.settle()
    assert len(user.messages) == before + 1  # the edit got no reply
    assert [m for m in group.messages if m.from_bot] == []  # deliberate silence in groups
    for command in ("/help", "/about"):
        answer = await closer.say(user, command)
        assert len(answer.text or "") > 50

"""Old questions, old messages and odd input change nothing they should not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.outreach import send_item_now
from bot.storage.models import ConversationLog, ItemProgress, User
from bot.storage.repositories import UserRepository
from scheduler.policy import ScheduleSettings
from scheduler.promises import snooze_promise
from scheduler.slots import is_quiet
from tests.bot.conftest import Closer


async def _logs(closer: Closer) -> list[ConversationLog]:
    async with closer.db.transaction(write=False) as session:
        return list(await session.scalars(select(ConversationLog)))


async def test_a_command_closes_the_note_question(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.say(user, "/log")
    await closer.press(user, "😐 Mixed")
    await closer.press(user, "Skip")
    await closer.say(user, "/help")
    later = await closer.say(user, "hey, what should I do today?")
    assert "/log" in (later.text or "")  # the free-text reply, not "Saved"
    assert [log.note for log in await _logs(closer)] == [None]


async def test_a_note_typed_long_after_its_question_is_not_taken(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.say(user, "/log")
    await closer.press(user, "😣 Hard")
    await closer.press(user, "Skip")
    closer.clock.advance(hours=3)
    later = await closer.say(user, "random thought")
    assert "/log" in (later.text or "")
    assert [log.note for log in await _logs(closer)] == [None]


async def test_a_settings_question_left_open_does_not_swallow_later_text(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.say(user, "/settings")
    await closer.press(user, "Time zone")
    await closer.say(user, "/help")
    thanks = await closer.say(user, "thanks")
    assert "couldn't place" not in (thanks.text or "")


async def test_a_press_on_an_older_copy_of_a_nudge_changes_nothing(closer: Closer) -> None:
    user = closer.user()
    first = await closer.onboard(user)
    not_yet = dict(pair for row in first.keyboard for pair in row)["Not yet"]
    assert closer.app is not None and not_yet is not None
    async with closer.db.transaction(write=False) as session:
        snapshot = await session.run_sync(
            lambda s: UserRepository(s).get_by_telegram_id(user.user_id)
        )
    assert snapshot is not None
    step = closer.services.library.steps[0]
    newer = await send_item_now(closer.app.bot, closer.services, snapshot, step)
    await closer.press(user, "✅ Tried it", message_id=newer)
    await closer.press(user, "😊 Went well", message_id=newer)
    answer = await closer.answered(await user.press_data(first.message_id, not_yet))
    await closer.settle()
    assert "replaced by a newer message" in str(answer.params.get("text"))
    async with closer.db.transaction(write=False) as session:
        progress = await session.scalar(select(ItemProgress).where(ItemProgress.item_id == step.id))
    assert progress is not None and (progress.box, progress.last_outcome) == (2, "went_well")


async def test_an_old_forget_confirmation_cannot_erase_a_new_account(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    old = await closer.say(user, "/forget")
    yes = dict(pair for row in old.keyboard for pair in row)["Yes, erase everything"]
    assert yes is not None
    await closer.say(user, "/forget")
    await closer.press(user, "Yes, erase everything")
    closer.clock.advance(minutes=5)
    await closer.onboard(user)
    before = await closer.rows_of(user.user_id)
    answer = await closer.answered(await user.press_data(old.message_id, yes))
    await closer.settle()
    assert "out of date" in str(answer.params.get("text"))
    assert await closer.rows_of(user.user_id) == before


async def test_logging_a_conversation_that_leaned_on_a_step_counts_as_a_try(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.say(user, "/log")
    await closer.press(user, "😊 Went well")
    await closer.press(user, "1. Acknowledge the conditioning")
    checklist = await closer.say(user, "/checklist")
    lines = (checklist.text or "").splitlines()
    assert any(line.startswith("✅ 1.") for line in lines)
    assert any(line.startswith("▶️ 2.") for line in lines)


async def test_lookalike_digits_get_a_polite_answer(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    answer = await closer.answered(await user.press_data(nudge.message_id, "1:n:²:w"))
    assert "Sorry" in str(answer.params.get("text"))
    reply = await closer.say(user, "/pause ²")
    assert "/pause 3" in (reply.text or "")
    async with closer.db.transaction(write=False) as session:
        assert await session.scalar(select(User.id)) is not None


def test_a_snooze_press_and_its_row_take_their_time_from_one_promise() -> None:
    schedule = ScheduleSettings(timezone="Europe/Berlin", nudge_minute=9 * 60, pace="steady")
    berlin_2050 = datetime(2026, 6, 10, 18, 50, tzinfo=UTC)  # 20:50 in Berlin (summer), Wednesday
    # An hour would be 21:50, in quiet hours (21:30-08:00): the nearest minute of 30-90 minutes
    # outside them is 21:29: still "in an hour", as worded.
    hour = snooze_promise("hour", berlin_2050, schedule)
    assert hour.as_worded and hour.due == datetime(2026, 6, 10, 19, 29, tzinfo=UTC)
    # At 21:00 nothing of 21:30-22:30 is free: it says so and names tomorrow at her time.
    late = snooze_promise("hour", berlin_2050 + timedelta(minutes=10), schedule)
    assert late.wording == "at" and late.due == datetime(2026, 6, 11, 7, 0, tzinfo=UTC)
    afternoon = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 14:00 Berlin
    evening = snooze_promise("evening", afternoon, schedule)
    assert evening.as_worded and evening.due == datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
    late_night = datetime(2026, 6, 10, 21, 45, tzinfo=UTC)  # 23:45 Berlin
    tomorrow = snooze_promise("tomorrow", late_night, schedule)
    assert tomorrow.as_worded and tomorrow.due == datetime(2026, 6, 11, 7, 0, tzinfo=UTC)
    local = tomorrow.due.astimezone(ZoneInfo("Europe/Berlin"))
    assert not is_quiet(local.hour * 60 + local.minute, 21 * 60 + 30, 8 * 60)
    # Saturday night: tomorrow is her check-in day (Sunday), so it names Monday.
    saturday = datetime(2026, 6, 13, 15, 0, tzinfo=UTC)
    monday = snooze_promise("tomorrow", saturday, schedule)
    assert monday.wording == "at" and monday.due == datetime(2026, 6, 15, 7, 0, tzinfo=UTC)

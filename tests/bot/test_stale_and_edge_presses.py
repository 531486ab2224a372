"""Old questions, old messages and odd input change nothing they should not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.context import CloserContext
from bot.handlers.nudging import send_item_now, snooze_request
from bot.storage.models import ConversationLog, ItemProgress, User
from bot.storage.repositories import SettingsSnapshot, UserRepository
from scheduler.planner import snoozed_send_time
from scheduler.policy import ScheduleSettings
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
        snapshot = await UserRepository(session).get_by_telegram_id(user.user_id)
    assert snapshot is not None
    step = closer.services.library.steps[0]
    newer = await send_item_now(CloserContext(closer.app), snapshot, step)
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


def _settings(**changes: object) -> SettingsSnapshot:
    values: dict[str, object] = {
        "user_id": 1,
        "timezone": "Europe/Berlin",
        "nudge_minute": 9 * 60,
        "pace": "steady",
        "quiet_start_minute": 21 * 60 + 30,
        "quiet_end_minute": 8 * 60,
        "checkin_weekday": 6,
        "paused_until": None,
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(changes)
    return SettingsSnapshot(**values)  # type: ignore[arg-type]


def test_a_snooze_asks_for_its_time_and_the_send_time_rule_keeps_it_out_of_quiet_hours() -> None:
    settings = _settings()
    berlin_21h = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)  # 21:00 in Berlin (summer)
    in_an_hour = snooze_request("later_hour", berlin_21h, settings)
    assert in_an_hour == datetime(2026, 6, 10, 20, 0, tzinfo=UTC)  # 22:00 Berlin: quiet
    evening_at_20h = snooze_request("later_evening", berlin_21h - timedelta(hours=1), settings)
    assert evening_at_20h == datetime(2026, 6, 10, 19, 0, tzinfo=UTC)  # 21:00: still allowed
    afternoon = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 14:00 Berlin
    assert snooze_request("later_evening", afternoon, settings) == datetime(
        2026, 6, 10, 17, 0, tzinfo=UTC
    )
    late_night = datetime(2026, 6, 10, 21, 45, tzinfo=UTC)  # 23:45 Berlin
    assert snooze_request("later_tomorrow", late_night, settings) == datetime(
        2026, 6, 11, 7, 0, tzinfo=UTC
    )  # tomorrow at the user's 09:00
    # One rule decides when a snooze really goes: the one the dispatcher applies at send time.
    schedule = ScheduleSettings(timezone="Europe/Berlin", nudge_minute=9 * 60, pace="steady")
    goes = snoozed_send_time(
        schedule, in_an_hour, seed=1, item_id="x", last_nudge_at=None, last_item_id=None
    )
    local = goes.astimezone(ZoneInfo("Europe/Berlin"))
    assert goes > in_an_hour
    assert not is_quiet(local.hour * 60 + local.minute, 21 * 60 + 30, 8 * 60)
    assert (
        snoozed_send_time(
            schedule, evening_at_20h, seed=1, item_id="x", last_nudge_at=None, last_item_id=None
        )
        == evening_at_20h
    )

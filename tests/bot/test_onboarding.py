"""/start and onboarding, end to end through the real Application and the stand-in."""

from __future__ import annotations

import json

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


async def test_start_greets_and_registers_the_command_menu(closer: Closer) -> None:
    user = closer.user()
    welcome = await closer.say(user, "/start")
    assert welcome.text is not None
    assert welcome.text.startswith("Hi, I'm Closer")
    for promise in ("/forget", "not therapy", "emergency"):
        assert promise in welcome.text
    question = await user.next_message()
    assert "time zone" in (question.text or "")
    labels = [label for row in question.keyboard for label, _ in row]
    assert "London" in labels and "UTC" in labels
    commands = closer.standin.calls_to("setMyCommands")
    sent = commands[-1].params["commands"]
    names = {c["command"] for c in (json.loads(sent) if isinstance(sent, str) else sent)}
    assert {
        "start",
        "help",
        "log",
        "checklist",
        "tip",
        "progress",
        "settings",
        "pause",
        "resume",
        "export",
        "forget",
        "about",
    } <= names


async def test_onboarding_with_buttons_sends_the_first_step(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user, zone="Berlin", time="18:30", pace="Daily")
    assert nudge.text is not None and "Step 1 of 4" in nudge.text
    settings = await _settings(closer, user.user_id)
    assert (settings.timezone, settings.nudge_minute, settings.pace) == (
        "Europe/Berlin",
        18 * 60 + 30,
        "daily",
    )
    summary = next(m for m in user.messages if m.text and m.text.startswith("All set"))
    assert "Europe/Berlin" in (summary.text or "") and "18:30" in (summary.text or "")


async def test_typed_time_zone_and_time_are_understood(closer: Closer) -> None:
    user = closer.user()
    await closer.say(user, "/start")
    await user.next_message()
    question = await closer.say(user, "Lisbon")
    assert "good time of day" in (question.text or "")
    pace = await closer.say(user, "7:45 pm")
    assert "pace" in (pace.text or "").lower()
    settings = await _settings(closer, user.user_id)
    assert settings.timezone == "Europe/Lisbon"
    assert settings.nudge_minute == 19 * 60 + 45


async def test_bad_time_zone_is_asked_again_with_examples_and_changes_nothing(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.say(user, "/start")
    await user.next_message()
    answer = await closer.say(user, "Atlantis under the sea")
    assert "couldn't place" in (answer.text or "")
    assert "UTC" in (answer.text or "") and "Madrid" in (answer.text or "")
    settings = await _settings(closer, user.user_id)
    assert settings.timezone == "UTC"  # the default, untouched
    async with closer.db.transaction(write=False) as session:
        step = await session.scalar(
            select(User.onboarding_step).where(User.telegram_id == user.user_id)
        )
    assert step == "timezone"
    again = await closer.say(user, "UTC+5:30")
    assert "good time of day" in (again.text or "")
    assert (await _settings(closer, user.user_id)).timezone == "Asia/Kolkata"


async def test_ambiguous_city_offers_choices(closer: Closer) -> None:
    user = closer.user()
    await closer.say(user, "/start")
    await user.next_message()
    choices = await closer.say(user, "Portland")
    labels = [label for row in choices.keyboard for label, _ in row]
    assert len(labels) >= 2 and any("Oregon" in label or "Los_Angeles" in label for label in labels)
    await closer.press(user, labels[0])
    assert (await _settings(closer, user.user_id)).timezone in (
        "America/Los_Angeles",
        "America/New_York",
    )


async def test_shared_location_sets_the_time_zone(closer: Closer) -> None:
    user = closer.user()
    await closer.say(user, "/start")
    await user.next_message()
    await user.share_location(52.52, 13.405)
    question = await user.next_message()
    assert "good time of day" in (question.text or "")
    assert (await _settings(closer, user.user_id)).timezone == "Europe/Berlin"


async def test_back_goes_one_step_back(closer: Closer) -> None:
    user = closer.user()
    await closer.say(user, "/start")
    await user.next_message()
    await closer.press(user, "London")
    await closer.press(user, "‹ Back")
    assert "time zone" in (user.messages[-1].text or "")
    await closer.press(user, "Sydney")
    assert (await _settings(closer, user.user_id)).timezone == "Australia/Sydney"


async def test_a_time_in_quiet_hours_is_refused_kindly(closer: Closer) -> None:
    user = closer.user()
    await closer.say(user, "/start")
    await user.next_message()
    await closer.press(user, "UTC")
    answer = await closer.say(user, "23:30")
    assert "quiet hours" in (answer.text or "")
    assert (await _settings(closer, user.user_id)).nudge_minute == 19 * 60  # default kept


async def test_start_again_keeps_data_and_offers_settings(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    again = await closer.say(user, "/start")
    assert "Welcome back" in (again.text or "") and "/settings" in (again.text or "")
    assert (await closer.rows_of(user.user_id))["item_progress"] == 1


async def test_stale_onboarding_button_changes_nothing(closer: Closer) -> None:
    user = closer.user()
    await closer.say(user, "/start")
    question = await user.next_message()
    stale = dict(label_data for row in question.keyboard for label_data in row)["Sydney"]
    await closer.press(user, "London")  # the question moves on to the time of day
    assert stale is not None
    query = await user.press_data(question.message_id, stale)
    answer = await closer.answered(query)
    await closer.settle()
    assert "moved on" in str(answer.params.get("text"))
    assert (await _settings(closer, user.user_id)).timezone == "Europe/London"


async def test_forged_settings_value_is_refused(closer: Closer) -> None:
    user = closer.user()
    await closer.say(user, "/start")
    question = await user.next_message()
    for forged in ("1:set:tz:Mars/Olympus", "1:set:tm:99999", "1:set:pc:hourly", "1:set", "junk"):
        query = await user.press_data(question.message_id, forged)
        answer = await closer.answered(query)
        assert "Sorry" in str(answer.params.get("text")), forged
    await closer.settle()
    settings = await _settings(closer, user.user_id)
    assert (settings.timezone, settings.nudge_minute, settings.pace) == ("UTC", 19 * 60, "steady")

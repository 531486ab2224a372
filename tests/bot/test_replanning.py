"""Every change to a schedule input moves the user's planned outbox rows in the same update.

No later update is needed and there is no after-every-update hook: each test checks the planned
rows right after the handler's answer, against what the spacing policy says for the new settings
(and first that the change really moves something, so the test could fail). Each change goes
through one repository method that marks the plan stale (``bot.storage.uow``): removing that
mark makes these tests fail. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, cast

import pytest
from sqlalchemy import func, select, update

from bot.standin import UserActor
from bot.storage.models import OutboxMessage, User, UserSettings
from scheduler.policy import Pace, ScheduleSettings, next_checkin, next_slot
from tests.bot.conftest import Closer, running_closer


@pytest.fixture
async def any_closer(any_db_url: str) -> AsyncIterator[Closer]:
    """Closer on a fresh SQLite file, then on a fresh PostgreSQL schema."""
    async with running_closer(any_db_url) as harness:
        yield harness


async def _planned(closer: Closer, kind: str) -> list[datetime]:
    async with closer.db.transaction(write=False) as session:
        rows = await session.scalars(
            select(OutboxMessage.due_at)
            .join(User, User.id == OutboxMessage.user_id)
            .where(
                OutboxMessage.kind == kind,
                OutboxMessage.planned.is_(True),
                OutboxMessage.status == "pending",
            )
            .order_by(OutboxMessage.due_at)
        )
        return list(rows)


async def _expected(closer: Closer, kind: str) -> datetime | None:
    """What the policy says the next planned row of ``kind`` should be, from the database."""
    async with closer.db.transaction(write=False) as session:
        user = (await session.execute(select(User))).scalar_one()
        settings = await session.get(UserSettings, user.id)
        assert settings is not None
        last = await session.scalar(
            select(func.max(OutboxMessage.sent_at)).where(
                OutboxMessage.user_id == user.id, OutboxMessage.kind == "item"
            )
        )
    if user.blocked_at is not None:
        return None
    schedule = ScheduleSettings(
        timezone=settings.timezone,
        nudge_minute=settings.nudge_minute,
        pace=cast(Pace, settings.pace),
        quiet_start_minute=settings.quiet_start_minute,
        quiet_end_minute=settings.quiet_end_minute,
        checkin_weekday=settings.checkin_weekday,
        paused_until=settings.paused_until,
        backoff_active=user.backoff_active,
    )
    now = closer.clock()
    if kind == "poll":
        return next_checkin(schedule, now, seed=user.id)
    return next_slot(schedule, now, seed=user.id, last_nudge_at=last)


async def _check_moved(closer: Closer, kind: str, before: list[datetime]) -> None:
    expected = await _expected(closer, kind)
    after = await _planned(closer, kind)
    assert after == ([expected] if expected is not None else [])
    assert after != before, "the change did not move anything: the test proves nothing"


async def _onboarded(closer: Closer) -> UserActor:
    user = closer.user()
    await closer.onboard(user)
    assert await _planned(closer, "item") == [await _expected(closer, "item")]
    assert await _planned(closer, "poll") == [await _expected(closer, "poll")]
    return user


async def _open_setting(closer: Closer, user: UserActor, label: str) -> None:
    await closer.say(user, "/settings")
    await closer.press(user, label)


async def test_finishing_onboarding_plans_the_next_nudge_and_check_in(any_closer: Closer) -> None:
    await _onboarded(any_closer)


async def test_a_new_nudge_time_moves_the_planned_nudge(any_closer: Closer) -> None:
    user = await _onboarded(any_closer)
    before = await _planned(any_closer, "item")
    await _open_setting(any_closer, user, "Nudge time")
    await any_closer.press(user, "17:00")
    await _check_moved(any_closer, "item", before)


async def test_a_new_time_zone_moves_the_planned_nudge(any_closer: Closer) -> None:
    user = await _onboarded(any_closer)
    before = await _planned(any_closer, "item")
    await _open_setting(any_closer, user, "Time zone")
    await any_closer.say(user, "Asia/Tokyo")
    await _check_moved(any_closer, "item", before)


async def test_a_new_pace_moves_the_planned_nudge(any_closer: Closer) -> None:
    user = await _onboarded(any_closer)
    before = await _planned(any_closer, "item")
    await _open_setting(any_closer, user, "Pace")
    await any_closer.press(user, "Daily")
    await _check_moved(any_closer, "item", before)


async def test_new_quiet_hours_move_the_planned_nudge(any_closer: Closer) -> None:
    user = await _onboarded(any_closer)
    before = await _planned(any_closer, "item")
    await _open_setting(any_closer, user, "Quiet hours")
    # Only 08:59 and 09:00 stay open: the jittered slot has to move into them.
    await any_closer.say(user, "09:01-08:59")
    await _check_moved(any_closer, "item", before)


async def test_a_new_check_in_day_moves_the_planned_check_in(any_closer: Closer) -> None:
    user = await _onboarded(any_closer)
    before = await _planned(any_closer, "poll")
    await _open_setting(any_closer, user, "Check-in day")
    await any_closer.press(user, "Wed")
    await _check_moved(any_closer, "poll", before)


async def test_pause_and_resume_move_the_planned_rows(any_closer: Closer) -> None:
    user = await _onboarded(any_closer)
    item, poll = await _planned(any_closer, "item"), await _planned(any_closer, "poll")
    await any_closer.say(user, "/pause 10")
    await _check_moved(any_closer, "item", item)
    await _check_moved(any_closer, "poll", poll)
    paused_item = await _planned(any_closer, "item")
    await any_closer.say(user, "/resume")
    await _check_moved(any_closer, "item", paused_item)
    assert await _planned(any_closer, "item") == item


async def test_blocking_cancels_and_unblocking_replans(any_closer: Closer) -> None:
    user = await _onboarded(any_closer)
    item = await _planned(any_closer, "item")
    await user.block()
    await any_closer.settle()
    await _check_moved(any_closer, "item", item)
    assert await _planned(any_closer, "poll") == []
    await user.unblock()
    await any_closer.settle()
    await _check_moved(any_closer, "item", [])
    assert await _planned(any_closer, "item") == item


@pytest.mark.parametrize(
    "labels",
    [("✅ Tried it", "😊 Went well"), ("Not yet",), ("⏰ Later", "In an hour")],
    ids=["outcome", "not-yet", "snooze"],
)
async def test_a_tap_ends_the_back_off_and_moves_the_planned_nudge(
    any_closer: Closer, labels: tuple[str, ...]
) -> None:
    user = await _onboarded(any_closer)
    nudge = await any_closer.nudge_after(user)
    async with any_closer.db.transaction(write=True) as session:  # three ignored nudges: backed off
        await session.execute(update(User).values(ignored_streak=3, backoff_active=True))
    # Bring the plan in line with the back-off through a settings change that keeps the time.
    await _open_setting(any_closer, user, "Nudge time")
    await any_closer.press(user, "09:00")
    backed_off = await _planned(any_closer, "item")
    assert backed_off == [await _expected(any_closer, "item")]
    for label in labels:
        await any_closer.press(user, label, message_id=nudge.message_id)
    await _check_moved(any_closer, "item", backed_off)


async def test_a_back_off_begun_between_a_press_check_and_its_record_still_ends_and_replans(
    any_closer: Closer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher starts a back-off (and replans for it) after a press was checked but before
    it is recorded: the tap is decided on the user's row as it is then, not on the checked
    snapshot, so the back-off still ends and the plan moves back, in the press's transaction."""
    from bot.storage.planning import replan_users
    from bot.usecases import nudges

    user = await _onboarded(any_closer)
    nudge = await any_closer.nudge_after(user)
    usual = await _planned(any_closer, "item")
    record = nudges._record_checked

    async def dispatcher_first(runner: Any, library: Any, press: Any) -> Any:
        # What a delivery's bookkeeping does:
        async with any_closer.db.transaction(write=True) as session:
            await session.execute(update(User).values(ignored_streak=3, backoff_active=True))
            await session.run_sync(
                lambda s: replan_users(s.connection(), [press.user.id], any_closer.clock())
            )
        assert await _planned(any_closer, "item") != usual  # the back-off moved it
        return await record(runner, library, press)

    monkeypatch.setattr(nudges, "_record_checked", dispatcher_first)
    await any_closer.press(user, "Not yet", message_id=nudge.message_id)
    async with any_closer.db.transaction(write=False) as session:
        row = (await session.execute(select(User))).scalar_one()
        assert (row.ignored_streak, row.backoff_active) == (0, False)
    assert await _planned(any_closer, "item") == usual == [await _expected(any_closer, "item")]

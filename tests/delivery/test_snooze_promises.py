"""A snooze through the real Application, the stand-in and the dispatcher: it comes back when
its button and its confirmation said, and the nudge planned for that day moves."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.storage.models import OutboxMessage
from tests.delivery.conftest import MONDAY, Harness, onboard
from tests.delivery.test_end_to_end import nudges

NEW_YORK = ZoneInfo("America/New_York")


def local(moment: datetime) -> datetime:
    return moment.astimezone(NEW_YORK)


async def test_tomorrow_comes_back_at_her_time_the_next_day_despite_a_planned_nudge(
    harness: Harness,
) -> None:
    h = harness
    h.clock.set(MONDAY + timedelta(hours=6))  # 14:00 UTC: 09:00 in New York, a Monday
    user = h.standin.user(42)
    await onboard(h, user, zone="New York", time="09:00", pace="Daily")
    (first,) = await nudges(h, user)
    h.clock.advance(minutes=1)

    await h.press(user, "⏰ Later", first.message_id)
    labels = [label for row in user.keyboard(first.message_id) for label, _ in row]
    assert labels == ["In an hour", "This evening 19:00", "Tomorrow 9:00", "‹ Back"]
    await h.press(user, "Tomorrow 9:00", first.message_id)
    answered = h.standin.message(user.user_id, first.message_id)
    assert answered is not None and answered.keyboard == []
    assert "I'll bring this back tomorrow, Tuesday, at 9:00." in (answered.text or "")

    tuesday = local(MONDAY).date() + timedelta(days=1)
    async with h.db.transaction(write=False) as session:
        waiting = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "item", OutboxMessage.status == "pending"
                )
            )
        )
    planned = [row for row in waiting if row.planned]
    (snoozed,) = [row for row in waiting if not row.planned]
    assert [local(row.due_at).date() for row in planned] == [tuesday]  # her daily nudge
    assert local(snoozed.due_at) == datetime(2025, 3, 4, 9, 0, tzinfo=NEW_YORK)

    wednesday = datetime.combine(tuesday + timedelta(days=1), datetime.min.time(), NEW_YORK)
    await h.run_until(wednesday)

    on_tuesday = [m for m in await nudges(h, user) if local(m.date).date() == tuesday]
    assert len(on_tuesday) == 1, "the snoozed nudge takes the day; the planned one moves"
    (back,) = on_tuesday
    assert local(back.date) == datetime(2025, 3, 4, 9, 0, tzinfo=NEW_YORK)
    assert (back.text or "").split("\n")[0] == (first.text or "").split("\n")[0]
    async with h.db.transaction(write=False) as session:
        moved = await session.get(OutboxMessage, planned[0].id)
    assert moved is not None and local(moved.due_at).date() > tuesday


async def test_a_pause_carries_a_snooze_to_the_resume_and_both_messages_say_when(
    harness: Harness,
) -> None:
    h = harness
    h.clock.set(MONDAY + timedelta(hours=6))  # 09:00 in New York, a Monday
    user = h.standin.user(42)
    await onboard(h, user, zone="New York", time="09:00", pace="Daily")
    (first,) = await nudges(h, user)
    h.clock.advance(minutes=1)
    await h.press(user, "⏰ Later", first.message_id)
    await h.press(user, "Tomorrow 9:00", first.message_id)

    h.clock.advance(minutes=1)
    await h.act(user, "/pause 3")  # until Thursday 09:02: the snooze waits for Friday 09:00
    assert "The nudge you snoozed will come back after the pause, on Friday, 7 March, at 9:00." in (
        user.messages[-1].text or ""
    )
    tuesday_noon = datetime(2025, 3, 4, 12, 0, tzinfo=NEW_YORK)
    await h.run_until(tuesday_noon)
    assert len(await nudges(h, user)) == 1, "nothing during the pause"

    await h.act(user, "/resume")  # Tuesday's 09:00 has passed: it comes back at the next one
    assert "The nudge you snoozed comes back tomorrow, Wednesday, at 9:00." in (
        user.messages[-1].text or ""
    )
    await h.run_until(datetime(2025, 3, 6, 0, 0, tzinfo=NEW_YORK))
    later = await nudges(h, user, since=tuesday_noon)
    assert [local(m.date) for m in later] == [datetime(2025, 3, 5, 9, 0, tzinfo=NEW_YORK)]


async def test_not_yet_names_her_next_nudge_and_it_brings_the_step_back_then(
    harness: Harness,
) -> None:
    h = harness
    h.clock.set(MONDAY + timedelta(hours=6))  # 09:00 in New York, a Monday
    user = h.standin.user(42)
    await onboard(h, user, zone="New York", time="09:00", pace="Daily")
    (first,) = await nudges(h, user)
    h.clock.advance(minutes=1)
    await h.press(user, "Not yet", first.message_id)
    answered = h.standin.message(user.user_id, first.message_id)
    said = re.search(
        r"your next nudge, tomorrow, Tuesday, at (\d+):(\d\d), comes back to this",
        answered.text or "" if answered is not None else "",
    )
    assert said is not None, answered

    await h.run_until(datetime(2025, 3, 5, 0, 0, tzinfo=NEW_YORK))
    (back,) = await nudges(h, user, since=MONDAY + timedelta(hours=7))
    hour, minute = int(said.group(1)), int(said.group(2))
    assert local(back.date) == datetime(2025, 3, 4, hour, minute, tzinfo=NEW_YORK)
    assert "Step 1 of 4" in (back.text or "")

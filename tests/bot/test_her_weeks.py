"""Weeks are her weeks (issue 22): the look back, the check-in and /progress count by her local
calendar, and a check-in answered across her midnight belongs to the week it was sent in.

Driven through the real Application and the stand-in, for zones far from UTC on either side.
"""

from __future__ import annotations

import datetime as dtm
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from bot.outreach import checkin_questions
from bot.standin import UserActor
from bot.storage.models import OutboxMessage, Poll, User, UserSettings
from bot.storage.repositories import UserRepository
from tests.bot.conftest import Closer


async def _move_to(closer: Closer, user: UserActor, zone: str) -> None:
    async with closer.db.transaction(write=True) as session:
        user_id = await session.scalar(select(User.id).where(User.telegram_id == user.user_id))
        await session.execute(
            update(UserSettings).where(UserSettings.user_id == user_id).values(timezone=zone)
        )


def _at_local(closer: Closer, zone: str, day: dtm.date, hour: int, minute: int = 0) -> None:
    """Move the shared clock to ``hour:minute`` on ``day`` in ``zone``."""
    local = dtm.datetime.combine(day, dtm.time(hour, minute), tzinfo=ZoneInfo(zone))
    moment = local.astimezone(dtm.UTC)
    assert moment >= closer.clock.now
    closer.clock.now = moment


async def _log(closer: Closer, user: UserActor, outcome: str) -> None:
    await closer.say(user, "/log")
    await closer.press(user, outcome)


async def _send_checkin(closer: Closer, user: UserActor) -> list[int]:
    """The weekly check-in for an outbox row, as the sender sends it; the polls' message ids."""
    async with closer.db.transaction(write=True) as session:
        snapshot = await session.run_sync(
            lambda s: UserRepository(s).get_by_telegram_id(user.user_id)
        )
        assert snapshot is not None
        outbox_id = (
            await session.execute(
                insert(OutboxMessage)
                .values(
                    user_id=snapshot.id,
                    kind="poll",
                    due_at=closer.clock(),
                    status="sending",
                    planned=False,
                )
                .returning(OutboxMessage.id)
            )
        ).scalar_one()
    return await closer.send_checkin(snapshot, outbox_id)


@pytest.mark.parametrize("zone", ["America/Toronto", "Pacific/Auckland"])
async def test_a_check_in_answered_past_her_midnight_looks_back_on_the_week_it_was_sent_in(
    closer: Closer, zone: str
) -> None:
    user = closer.user()
    await closer.onboard(user)
    await _move_to(closer, user, zone)
    sunday = dtm.date(2026, 3, 8)  # her check-in day (Sunday); Toronto's clocks spring forward
    _at_local(closer, zone, sunday, 18)
    await _log(closer, user, "😊 Went well")
    await _log(closer, user, "😣 Hard")
    _at_local(closer, zone, sunday, 23, 50)
    polls = await _send_checkin(closer, user)
    # This week's questions are those of her ISO week (in Toronto it is already Monday in UTC).
    async with closer.db.transaction(write=False) as session:
        sent = list(await session.scalars(select(Poll.question_id).order_by(Poll.id)))
    week = sunday.isocalendar().week
    assert sent[-len(polls) :] == [q.id for q in checkin_questions(closer.services, week)]
    user.skip_messages()
    await user.answer_poll(polls[0], [1])
    await closer.settle()
    _at_local(closer, zone, sunday + dtm.timedelta(days=1), 0, 20)  # past her midnight
    for message_id in polls[1:]:
        await user.answer_poll(message_id, [1])
        await closer.settle()
    looked_back = (await user.next_message()).text or ""
    assert "You logged 2 conversations this week (1 went well, 1 hard)" in looked_back
    assert "Skipped the check-in" not in looked_back
    # /progress on her Monday counts them too, in the week they happened.
    progress = await closer.say(user, "/progress")
    shown = progress.caption or progress.text or ""
    assert "Conversations logged: 2" in shown
    assert "Latest check-in:" in shown


def _times(value: object) -> list[str]:
    """Every string in a JSON document that reads as an ISO 8601 date and time."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _times(v)]
    if isinstance(value, list):
        return [t for v in value for t in _times(v)]
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            dtm.datetime.fromisoformat(value)
        except ValueError:
            return []
        return [value]
    return []


async def test_the_export_gives_every_time_in_her_zone_and_progress_names_what_it_counts(
    closer: Closer,
) -> None:
    zone = "Pacific/Auckland"  # +13:00 in March (daylight time)
    user = closer.user()
    await closer.onboard(user)
    await _move_to(closer, user, zone)
    await closer.press(user, "✅ Tried it")
    await closer.press(user, "😊 Went well")
    polls = await _send_checkin(closer, user)
    async with closer.db.transaction(write=True) as session:  # as the dispatcher records a sent row
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "poll", OutboxMessage.status == "sending")
            .values(status="sent", sent_at=closer.clock())
        )
    for message_id in polls:
        await user.answer_poll(message_id, [1])
        await closer.settle()
    user.skip_messages()
    await user.send("/export")
    exported = await user.next_message()
    assert exported.document is not None and exported.document.content is not None
    document = json.loads(exported.document.content)
    times = _times(document)
    assert len(times) >= 10 and times == [t for t in times if t.endswith("+13:00")], times
    assert document["other"]["outbox"] and document["other"]["polls"]  # the raw rows too
    sheet = await user.next_message()
    assert sheet.document is not None and sheet.document.content is not None
    header = sheet.document.content.decode("utf-8-sig").splitlines()[0]
    assert f"Time ({zone})" in header and "UTC offset" in header
    assert ",UTC+13:00," in sheet.document.content.decode("utf-8-sig")
    # /progress counts nudges and check-ins apart: one of each, both answered.
    progress = await closer.say(user, "/progress")
    shown = progress.caption or progress.text or ""
    assert "Nudges answered: 1 of 1." in shown
    assert "Weekly check-ins answered: 1 of 1." in shown

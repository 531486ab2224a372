"""Progress she can see, through the real Application and the stand-in: the baseline after
onboarding, a look back after each weekly check-in (its numbers checked against the database),
and /progress as a chart with a caption once two weeks have data.
"""

from __future__ import annotations

import io

from matplotlib.image import imread
from sqlalchemy import func, insert, select

from bot.callbacks import Action, encode
from bot.standin import UserActor
from bot.storage.models import ConversationLog, OutboxMessage, Poll, User
from bot.storage.repositories import UserRepository
from tests.bot.conftest import Closer


async def _checkin(closer: Closer, user: UserActor, choice: int) -> str:
    """Send this week's check-in for an outbox row, answer every poll with ``choice``; the
    message that follows the last answer."""
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
    polls = await closer.send_checkin(snapshot, outbox_id)
    user.skip_messages()
    for message_id in polls:
        await user.answer_poll(message_id, [choice])
        await closer.settle()
    return (await user.next_message()).text or ""


async def test_each_check_in_ends_with_a_look_back_that_matches_the_database(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.press(user, "✅ Tried it")
    await closer.press(user, "😊 Went well")
    await closer.say(user, "/log")
    await closer.press(user, "😣 Hard")
    first = await _checkin(closer, user, 1)
    async with closer.db.transaction(write=False) as session:
        counted = dict(
            (
                await session.execute(
                    select(ConversationLog.outcome, func.count()).group_by(ConversationLog.outcome)
                )
            ).all()
        )
    assert counted == {"hard": 1, "went_well": 1}
    assert f"You logged {sum(counted.values())} conversations this week" in first
    assert f"{counted['went_well']} went well" in first and f"{counted['hard']} hard" in first
    assert "One thing to try next week" in first
    # The next week: one more conversation, better answers.
    closer.clock.advance(days=7)
    await closer.say(user, "/log")
    await closer.press(user, "😊 Went well")
    second = await _checkin(closer, user, 0)
    assert "You logged one conversation this week" in second
    assert "Since last week" in second and " up, 3 to 4 of 4" in second
    # Answering again changes a vote, and the look back is not sent twice.
    async with closer.db.transaction(write=False) as session:
        poll_message = await session.scalar(select(func.max(Poll.telegram_message_id)))
    before = len(user.messages)
    await user.answer_poll(int(poll_message or 0), [2])
    await closer.settle()
    assert len(user.messages) == before


async def test_progress_sends_a_chart_with_a_caption_after_two_weeks(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    text_view = await closer.say(user, "/progress")
    assert text_view.photo is None and "Nudges answered" in (text_view.text or "")
    await closer.press(user, "✅ Tried it")
    await closer.press(user, "😐 Mixed")
    await _checkin(closer, user, 2)
    closer.clock.advance(days=7)
    await _checkin(closer, user, 1)
    user.skip_messages()
    await user.send("/progress")
    chart = await user.next_message()
    assert chart.photo is not None
    assert "Conversations logged: 1" in (chart.caption or "")
    pixels = imread(io.BytesIO(chart.photo.content or b""), format="png")
    assert pixels.shape[1] == 1080


async def test_the_baseline_is_offered_after_onboarding_and_can_be_skipped(
    closer: Closer,
) -> None:
    alice, bob = closer.user(1001, "Alice"), closer.user(2002, "Bob")
    await closer.onboard(alice)
    await closer.onboard(bob)
    await closer.press(alice, "Let's do it")
    async with closer.db.transaction(write=False) as session:
        asked = list(
            await session.execute(
                select(User.telegram_id, Poll.question_id).join(User, User.id == Poll.user_id)
            )
        )
    assert sorted(q for _, q in asked) == [
        "baseline-confidence",
        "baseline-connected",
        "baseline-wellbeing",
    ]
    assert {t for t, _ in asked} == {1001}
    await closer.press(bob, "Skip these")
    async with closer.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Poll)) == 3


async def test_the_baseline_goes_out_once_and_a_choice_it_does_not_know_is_stale(
    closer: Closer,
) -> None:
    alice = closer.user()
    await closer.onboard(alice)
    offer = alice.last_message
    assert offer is not None
    go = dict(pair for row in offer.keyboard for pair in row)["Let's do it"]
    assert go is not None
    await closer.press(alice, "Let's do it")
    # A double tap: the same press again sends nothing more.
    await closer.answered(await alice.press_data(offer.message_id, go))
    await closer.settle()
    async with closer.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Poll)) == 3
    forged = await closer.answered(
        await alice.press_data(offer.message_id, encode(Action.BASELINE, "maybe"))
    )
    await closer.settle()
    assert "doesn't work any more" in str(forged.params.get("text"))

"""Buttons under a nudge: every press answered, logged once, checked against the presser."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlalchemy import select

from bot.outreach import send_item_now
from bot.storage.models import ConversationLog, ItemProgress, OutboxMessage, User
from bot.storage.repositories import UserRepository
from tests.bot.conftest import Closer


async def _progress(closer: Closer, telegram_id: int, item_id: str) -> ItemProgress:
    async with closer.db.transaction(write=False) as session:
        row = await session.scalar(
            select(ItemProgress)
            .join(User, User.id == ItemProgress.user_id)
            .where(User.telegram_id == telegram_id, ItemProgress.item_id == item_id)
        )
        assert row is not None
        return row


async def _logs(closer: Closer, telegram_id: int) -> list[ConversationLog]:
    async with closer.db.transaction(write=False) as session:
        return list(
            await session.scalars(
                select(ConversationLog)
                .join(User, User.id == ConversationLog.user_id)
                .where(User.telegram_id == telegram_id)
            )
        )


async def test_tried_it_went_well_logs_moves_the_box_and_edits_the_message(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    assert await closer.press(user, "✅ Tried it") == ""
    labels = [label for row in user.keyboard(nudge.message_id) for label, _ in row]
    assert labels == ["😊 Went well", "😐 Mixed", "😣 Hard", "‹ Back"]
    assert await closer.press(user, "😊 Went well") == "Saved ✓"
    edited = closer.standin.message(user.user_id, nudge.message_id)
    assert edited is not None and edited.keyboard == []
    assert "Logged: it went well" in (edited.text or "")
    progress = await _progress(closer, user.user_id, "acknowledge-conditioning")
    assert (progress.box, progress.tries, progress.last_outcome) == (2, 1, "went_well")
    logs = await _logs(closer, user.user_id)
    assert [(log.outcome, log.source, log.item_id) for log in logs] == [
        ("went_well", "nudge", "acknowledge-conditioning")
    ]


async def test_a_second_tap_changes_nothing_and_says_so(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "✅ Tried it")
    went_well = dict(pair for row in user.keyboard(nudge.message_id) for pair in row)[
        "😊 Went well"
    ]
    hard = dict(pair for row in user.keyboard(nudge.message_id) for pair in row)["😣 Hard"]
    await closer.press(user, "😊 Went well")
    assert went_well is not None and hard is not None
    for data in (went_well, hard):  # an old client still showing the buttons
        answer = await closer.answered(await user.press_data(nudge.message_id, data))
        assert "Already saved" in str(answer.params.get("text"))
    await closer.settle()
    assert len(await _logs(closer, user.user_id)) == 1
    progress = await _progress(closer, user.user_id, "acknowledge-conditioning")
    assert (progress.box, progress.last_outcome) == (2, "went_well")


async def test_a_replayed_update_changes_nothing(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.press(user, "✅ Tried it")
    await user.press("😐 Mixed")
    original = copy.deepcopy(closer.standin.pending_updates[-1])
    await closer.settle()
    closer.standin.add_update("callback_query", original["callback_query"])
    await closer.settle()
    logs = await _logs(closer, user.user_id)
    assert [log.outcome for log in logs] == ["mixed"]


async def test_a_forged_press_with_another_users_nudge_id_changes_nothing(closer: Closer) -> None:
    alice, mallory = closer.user(1001, "Alice"), closer.user(2002, "Mallory")
    await closer.onboard(alice)
    mallory_nudge = await closer.onboard(mallory)
    async with closer.db.transaction(write=False) as session:
        alice_outbox = await session.scalar(
            select(OutboxMessage.id)
            .join(User, User.id == OutboxMessage.user_id)
            .where(User.telegram_id == alice.user_id)
        )
    forged = f"1:n:{alice_outbox}:w"
    answer = await closer.answered(await mallory.press_data(mallory_nudge.message_id, forged))
    await closer.settle()
    assert "isn't one of yours" in str(answer.params.get("text"))
    assert await _logs(closer, alice.user_id) == []
    assert await _logs(closer, mallory.user_id) == []
    async with closer.db.transaction(write=False) as session:
        response = await session.scalar(
            select(OutboxMessage.response).where(OutboxMessage.id == alice_outbox)
        )
    assert response is None


async def test_malformed_callback_data_gets_a_polite_answer(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    for data in ("1:n", "1:n:abc:w", "1:n:1:zz", "2:n:1:w", "\x00", "1:n:99999999:w", "x" * 64):
        answer = await closer.answered(await user.press_data(nudge.message_id, data))
        assert "Sorry" in str(answer.params.get("text")), data
    await closer.settle()
    assert await _logs(closer, user.user_id) == []


async def test_buttons_keep_working_after_the_application_is_rebuilt(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.restart()
    await closer.press(user, "✅ Tried it", message_id=nudge.message_id)
    assert await closer.press(user, "😣 Hard") == "Saved ✓"
    progress = await _progress(closer, user.user_id, "acknowledge-conditioning")
    assert (progress.box, progress.last_outcome) == (1, "hard")  # never below the first box
    assert "gentler tip" in (user.messages[-1].text or "") or any(
        "gentler tip" in (m.text or "") for m in user.messages
    )


async def test_later_snoozes_into_the_outbox(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "⏰ Later")
    labels = [label for row in user.keyboard(nudge.message_id) for label, _ in row]
    # Each button says when it comes back (her zone is UTC, her time 09:00; it is 10:00).
    assert labels == ["In an hour", "This evening 19:00", "Tomorrow 9:00", "‹ Back"]
    await closer.press(user, "‹ Back")
    assert next(label for label, _ in user.keyboard(nudge.message_id)[0]) == "✅ Tried it"
    await closer.press(user, "⏰ Later")
    await closer.press(user, "In an hour")
    async with closer.db.transaction(write=False) as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage)
                .join(User, User.id == OutboxMessage.user_id)
                .where(
                    User.telegram_id == user.user_id,
                    OutboxMessage.item_id == "acknowledge-conditioning",
                )
                .order_by(OutboxMessage.id)
            )
        )
    in_an_hour = closer.clock.now + timedelta(hours=1)
    snoozed = [r for r in rows if r.status == "pending" and r.due_at == in_an_hour]
    assert rows[0].response == "later_hour"
    assert len(snoozed) == 1
    answered = closer.standin.message(user.user_id, nudge.message_id)
    assert answered is not None and "in about an hour, at 11:00" in (answered.text or "")


async def test_not_yet_keeps_the_box_and_logs_no_conversation(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "Not yet")
    progress = await _progress(closer, user.user_id, "acknowledge-conditioning")
    assert (progress.box, progress.tries, progress.last_outcome) == (1, 0, "not_yet")
    assert await _logs(closer, user.user_id) == []
    answered = closer.standin.message(user.user_id, nudge.message_id)
    assert answered is not None and "Not yet" in (answered.text or "")


async def test_an_insight_has_got_it(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    assert closer.app is not None
    insight = closer.services.library.insights[0]
    async with closer.db.transaction(write=False) as session:
        snapshot = await session.run_sync(
            lambda s: UserRepository(s).get_by_telegram_id(user.user_id)
        )
    assert snapshot is not None
    message_id = await send_item_now(closer.app.bot, closer.services, snapshot, insight)
    assert [label for row in user.keyboard(message_id) for label, _ in row] == [
        "👍 Got it",
        "🗣 Talking now",
    ]
    assert await closer.press(user, "👍 Got it") == "Saved ✓"
    message = closer.standin.message(user.user_id, message_id or 0)
    assert message is not None and "Got it" in (message.text or "") and message.keyboard == []


async def test_tip_sends_a_tip_with_buttons(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    tip = await closer.say(user, "/tip")
    titles = {t.title for t in closer.services.library.tips}
    assert any(title in (tip.text or "") for title in titles)
    assert [label for label, _ in tip.keyboard[0]] == ["✅ Tried it", "Not yet", "⏰ Later"]

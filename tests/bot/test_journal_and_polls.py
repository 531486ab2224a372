"""/log, check-in polls, /checklist and /progress."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import ConversationLog, Poll, PollAnswer, User
from bot.storage.repositories import UserRepository
from tests.bot.conftest import Closer


async def _logs(closer: Closer, telegram_id: int) -> list[ConversationLog]:
    async with closer.db.transaction(write=False) as session:
        return list(
            await session.scalars(
                select(ConversationLog)
                .join(User, User.id == ConversationLog.user_id)
                .where(User.telegram_id == telegram_id)
            )
        )


async def test_log_with_step_and_note(closer: Closer, caplog: object) -> None:
    user = closer.user()
    await closer.onboard(user)
    question = await closer.say(user, "/log")
    assert "How did the conversation go" in (question.text or "")
    await closer.press(user, "😐 Mixed")
    await closer.press(user, "3. The five-minute rule")
    note_prompt = user.messages[-1]
    assert "note" in (note_prompt.text or "")
    secret_note = "He talked about his dad for the first time"
    done = await closer.say(user, secret_note)
    assert "Saved" in (done.text or "")
    logs = await _logs(closer, user.user_id)
    assert [(log.outcome, log.source, log.item_id, log.note) for log in logs] == [
        ("mixed", "log", "five-minute-rule", secret_note)
    ]
    # The note is in the export, never in a log line.
    assert secret_note not in getattr(caplog, "text", "")


async def test_log_can_skip_both_optional_questions(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.say(user, "/log")
    await closer.press(user, "😣 Hard")
    await closer.press(user, "Skip")
    await closer.press(user, "Skip the note")
    assert "Saved" in (user.messages[-1].text or "")
    after = await closer.say(user, "just chatting")
    assert "/log" in (after.text or "")  # free text is no longer taken as a note
    logs = await _logs(closer, user.user_id)
    assert [(log.outcome, log.item_id, log.note) for log in logs] == [("hard", None, None)]


async def test_a_replayed_log_press_logs_once(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    question = await closer.say(user, "/log")
    data = dict(pair for row in question.keyboard for pair in row)["😊 Went well"]
    assert data is not None
    await closer.press(user, "😊 Went well")
    answer = await closer.answered(await user.press_data(question.message_id, data))
    await closer.settle()
    assert "Already saved" in str(answer.params.get("text"))
    assert len(await _logs(closer, user.user_id)) == 1


async def test_log_buttons_of_another_user_are_refused(closer: Closer) -> None:
    alice, mallory = closer.user(1001, "Alice"), closer.user(2002, "Mallory")
    await closer.onboard(alice)
    await closer.onboard(mallory)
    await closer.say(alice, "/log")
    await closer.press(alice, "😊 Went well")
    alice_log = (await _logs(closer, alice.user_id))[0]
    own = await closer.say(mallory, "/log")
    answer = await closer.answered(
        await mallory.press_data(own.message_id, f"1:lg:i:{alice_log.id}:five-minute-rule")
    )
    await closer.settle()
    assert "isn't one of yours" in str(answer.params.get("text"))
    assert (await _logs(closer, alice.user_id))[0].item_id is None


async def _send_checkin(closer: Closer, telegram_id: int) -> list[int]:
    async with closer.db.transaction(write=False) as session:
        user = await session.run_sync(lambda s: UserRepository(s).get_by_telegram_id(telegram_id))
    assert user is not None
    return await closer.send_checkin(user)


async def test_checkin_polls_are_native_non_anonymous_and_answers_are_stored(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    message_ids = await _send_checkin(closer, user.user_id)
    assert len(message_ids) >= 2
    first = closer.standin.message(user.user_id, message_ids[0])
    assert first is not None and first.poll is not None
    polls = closer.standin.calls_to("sendPoll")
    assert all(str(call.params.get("is_anonymous")).lower() == "false" for call in polls)
    await user.answer_poll(message_ids[0], [1])
    await user.answer_poll(message_ids[1], [0])
    await closer.settle()
    async with closer.db.transaction(write=False) as session:
        answers = (
            await session.execute(
                select(Poll.question_id, PollAnswer.option_ids).join(
                    Poll, Poll.id == PollAnswer.poll_id
                )
            )
        ).all()
    assert sorted((q, list(o)) for q, o in answers) == sorted(
        [("connection-this-week", [1]), ("confidence-this-week", [0])]
    )


async def test_a_poll_answer_for_an_unknown_poll_or_from_someone_else_is_ignored(
    closer: Closer,
) -> None:
    alice, mallory = closer.user(1001, "Alice"), closer.user(2002, "Mallory")
    await closer.onboard(alice)
    await closer.onboard(mallory)
    message_ids = await _send_checkin(closer, alice.user_id)
    poll = closer.standin.message(alice.user_id, message_ids[0])
    assert poll is not None and poll.poll is not None
    closer.standin.add_update(
        "poll_answer",
        {
            "poll_id": "no-such-poll",
            "user": alice.user_json,
            "option_ids": [0],
            "option_persistent_ids": ["0"],
        },
    )
    closer.standin.add_update(
        "poll_answer",
        {
            "poll_id": poll.poll.id,
            "user": mallory.user_json,
            "option_ids": [2],
            "option_persistent_ids": ["2"],
        },
    )
    await closer.settle()
    async with closer.db.transaction(write=False) as session:
        assert list(await session.scalars(select(PollAnswer))) == []


async def test_checklist_and_progress_reflect_what_was_logged(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    checklist = await closer.say(user, "/checklist")
    lines = (checklist.text or "").splitlines()
    assert any(line.startswith("▶️ 1.") for line in lines)
    assert any(line.startswith("🔒 2.") for line in lines)
    await closer.press(user, "✅ Tried it")
    await closer.press(user, "😊 Went well")
    checklist = await closer.say(user, "/checklist")
    lines = (checklist.text or "").splitlines()
    assert any(line.startswith("✅ 1.") and "went well" in line for line in lines)
    assert any(line.startswith("▶️ 2.") for line in lines)  # a try unlocks the next step
    progress = await closer.say(user, "/progress")
    assert "Conversations logged: 1" in (progress.text or "")
    assert "1 went well" in (progress.text or "")
    assert "Nudges answered: 1 of 1" in (progress.text or "")

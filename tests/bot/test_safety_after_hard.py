"""After a conversation logged as hard, the first thing she reads asks whether she felt safe."""

from __future__ import annotations

from tests.bot.conftest import Closer

SAFETY = "🛟 Safety"
SAFE_QUESTION = "Did you feel safe with him?"


async def _pressing_safety_shows_the_safety_card(
    closer: Closer, message_id: int, user_id: int = 1001
) -> None:
    user = closer.user(user_id)
    library = closer.services.library
    assert library.crisis_directory is not None
    await closer.press(user, SAFETY, message_id=message_id)
    card = user.messages[-1]
    assert card.message_id != message_id
    assert library.crisis_directory.name in (card.text or "")  # UTC: the directory


async def test_hard_on_a_nudge_first_asks_whether_she_felt_safe_with_safety_one_tap_away(
    closer: Closer,
) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "✅ Tried it")
    assert await closer.press(user, "😣 Hard") == "Saved ✓"
    edited = closer.standin.message(user.user_id, nudge.message_id)
    assert edited is not None
    text = edited.text or ""
    answer = text[text.index(SAFE_QUESTION) :]  # the line under the card, asked first
    assert "/safety" in answer.split("\n\n")[0]
    assert answer.index("/safety") < answer.index("Logged: it was hard") < answer.index("tip")
    assert [[label for label, _ in row] for row in edited.keyboard] == [[SAFETY]]
    await _pressing_safety_shows_the_safety_card(closer, nudge.message_id)


async def test_a_nudge_that_went_well_or_mixed_gets_no_safety_question(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "✅ Tried it")
    await closer.press(user, "😐 Mixed")
    edited = closer.standin.message(user.user_id, nudge.message_id)
    assert edited is not None
    assert SAFE_QUESTION not in (edited.text or "") and edited.keyboard == []


async def test_hard_in_log_first_asks_whether_she_felt_safe_with_safety_one_tap_away(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    question = await closer.say(user, "/log")
    await closer.press(user, "😣 Hard")
    logged = closer.standin.message(user.user_id, question.message_id)
    assert logged is not None
    text = logged.text or ""
    assert text.startswith(SAFE_QUESTION)
    assert text.index("/safety") < text.index("Logged: it was hard") < text.index("lean on")
    assert [label for label, _ in logged.keyboard[0]] == [SAFETY]
    await _pressing_safety_shows_the_safety_card(closer, question.message_id)
    # The rest of /log still works after a look at /safety.
    await closer.press(user, "Skip", message_id=question.message_id)
    await closer.press(user, "Skip the note", message_id=question.message_id)
    done = closer.standin.message(user.user_id, question.message_id)
    assert done is not None and "Saved" in (done.text or "")


async def test_log_that_went_well_gets_no_safety_question(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    question = await closer.say(user, "/log")
    await closer.press(user, "😊 Went well")
    logged = closer.standin.message(user.user_id, question.message_id)
    assert logged is not None
    assert SAFE_QUESTION not in (logged.text or "")
    assert SAFETY not in [label for row in logged.keyboard for label, _ in row]

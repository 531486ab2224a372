"""Requests in words are met through the real Application: each gets the flow it asks for.

Danger always wins over a request, a long message that only mentions "stop" still gets a card,
and a typed answer she was asked for keeps its meaning.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import OutboxMessage, UserSettings
from content.locales import default_locales
from content.render import visible_text
from tests.bot.conftest import Closer

DIRECTORY = "findahelpline.com"


def _text(key: str, lang: str = "en", **fmt: object) -> str:
    """A reply text as the chat shows it (tags dropped)."""
    return visible_text(default_locales().get(lang).text(key, **fmt))


def _labels(message: object) -> list[str]:
    return [label for row in getattr(message, "keyboard", []) for label, _ in row]


async def _paused(closer: Closer) -> bool:
    async with closer.db.transaction(write=False) as session:
        until = (await session.execute(select(UserSettings.paused_until))).scalar_one()
    return until is not None and until > closer.clock.now


async def test_stop_offers_the_pause_choices_and_names_forget(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "please stop the messages")
    assert reply.text == _text("request_stop")
    assert "/forget" in (reply.text or "")
    assert "1 week" in _labels(reply)
    await closer.press(user, "1 week", message_id=reply.message_id)
    assert await _paused(closer)


async def test_remind_me_tomorrow_opens_the_snooze_choices_of_her_latest_nudge(
    closer: Closer,
) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    reply = await closer.say(user, "remind me tomorrow")
    assert reply.reply_to_message_id == nudge.message_id
    opened = user.chat.find(nudge.message_id)
    assert opened is not None
    # The nudge's own "Later" buttons, each with the time it means in her zone.
    tomorrow = next(label for label in _labels(opened) if label.startswith("Tomorrow"))
    assert tomorrow != "Tomorrow"  # "Tomorrow 9:00"
    assert reply.text == _text("request_snooze_named", choice=tomorrow)
    toast = await closer.press(user, tomorrow, message_id=nudge.message_id)
    assert toast == "Saved ✓"
    async with closer.db.transaction(write=False) as session:
        snoozed = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.response == "later_tomorrow")
        )
    assert snoozed is not None


async def test_remind_me_later_with_no_open_nudge_says_when_the_next_one_comes(
    closer: Closer,
) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "Not yet", message_id=nudge.message_id)
    reply = await closer.say(user, "remind me later")
    before, _, after = _text("request_snooze_next", when="{when}").partition("{when}")
    text = reply.text or ""
    assert text.startswith(before) and text.endswith(after)
    assert "/settings" in text
    assert not _labels(reply)


async def test_goodnight_gets_a_goodnight_not_a_hello(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "good night")
    assert reply.text == _text("request_goodnight")
    assert reply.text != closer.services.library.render_text("free_text_greeting")


async def test_help_in_words_says_what_closer_does(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "what can you do?")
    assert reply.text == _text("request_help")
    assert "🗣 Talking now" in _labels(reply)


async def test_are_you_a_real_person_gets_an_honest_answer(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "are you a real person")
    assert reply.text == _text("request_is_human")
    assert "No human reads your messages" in (reply.text or "")


async def test_delete_my_data_starts_forget(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "delete my data")
    assert reply.text == _text("request_forget")
    await closer.press(user, "Yes, erase everything", message_id=reply.message_id)
    assert not any((await closer.rows_of(user.user_id)).values())


async def test_a_request_in_spanish_is_met_in_spanish(closer: Closer) -> None:
    user = closer.user(language_code="es")
    await closer.onboard(user)
    reply = await closer.say(user, "borra todos mis datos")
    assert reply.text == _text("request_forget", "es")
    assert closer.words(user).label("label_forget_yes") in _labels(reply)


async def test_danger_that_asks_for_help_still_gets_the_safety_reply(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "help me, he hit me and i'm scared")
    assert DIRECTORY in (reply.text or "")
    await closer.settle()
    assert user.messages[-1].message_id == reply.message_id  # nothing after it


async def test_a_long_message_that_mentions_stop_still_gets_a_card(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(
        user,
        "every time I ask about his work he tells me to stop, then he goes quiet for the "
        "whole evening and I don't know how to reach him",
    )
    library = closer.services.library
    maybe = default_locales().get("en").texts["reply_maybe"].split("</b>")[-1][:40]
    if maybe in (reply.text or ""):  # the danger backstop may offer help first: then the card
        reply = await user.next_message()
    assert (reply.text or "").startswith(
        (library.render_text("free_text_card_intro"), library.render_text("free_text_reply")[:20])
    )
    assert "1 week" not in _labels(reply)


async def test_a_note_she_was_asked_for_is_kept_even_if_it_reads_as_a_request(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.say(user, "/log")
    await closer.press(user, "😐 Mixed")
    await closer.press(user, "3. The five-minute rule")
    done = await closer.say(user, "stop")
    assert "Saved" in (done.text or "")
    assert not await _paused(closer)


async def test_a_request_beside_a_worry_gets_the_line_to_safety_too(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "he checks my phone sometimes. delete my data")
    assert (reply.text or "").startswith(_text("request_forget"))
    assert (reply.text or "").endswith(_text("worry_line"))
    assert DIRECTORY not in (reply.text or "")


async def test_an_answered_nudge_is_not_reopened_and_the_next_time_is_named(
    closer: Closer,
) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    await closer.press(user, "✅ Tried it", message_id=nudge.message_id)
    await closer.press(user, "😊 Went well", message_id=nudge.message_id)
    reply = await closer.say(user, "can you send this again in an hour")
    assert "/settings" in (reply.text or "")
    answered = user.chat.find(nudge.message_id)
    assert answered is not None and "In an hour" not in _labels(answered)

"""Free text gets an answer that fits: a card (with "another card" and a way to log), a warm
word for a hello or thanks, /safety for anything about self-harm or fear. Never a brush-off."""

from __future__ import annotations

from tests.bot.conftest import Closer


async def test_a_message_about_him_gets_the_card_that_fits_and_another_on_request(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    library = closer.services.library
    card = await closer.say(user, "he shut down again last night, what do I do?")
    shut_down = library.moment("shut-down")
    assert shut_down.title in (card.text or "")
    labels = [label for row in card.keyboard for label, _ in row]
    another = library.render_text("another_card")
    assert labels == [another, "📝 Log a conversation"]
    seen = {shut_down.title}
    for _ in range(2):
        await closer.press(user, another, message_id=card.message_id)
        card = user.messages[-1]
        title = (card.text or "").split("\n", 1)[0]
        assert title and title not in seen
        seen.add(title)
    await closer.press(user, "📝 Log a conversation", message_id=card.message_id)
    assert "How did the conversation go?" in (user.messages[-1].text or "")


async def test_a_hello_and_a_thank_you_get_a_warm_word_not_a_card(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    library = closer.services.library
    hello = await closer.say(user, "hi!")
    assert hello.text == library.render_text("free_text_greeting")
    thanks = await closer.say(user, "thank you so much")
    assert thanks.text == library.render_text("free_text_thanks")


async def test_words_about_self_harm_or_fear_lead_to_safety(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user, zone="Berlin")
    german = closer.services.library.crisis_line("DE")
    assert german is not None
    for text in ("he said he wants to kill himself", "I'm scared, he grabbed me last night"):
        card = await closer.say(user, text)
        assert german.name in (card.text or ""), text


def test_every_card_has_its_own_short_code() -> None:
    from bot.handlers.freetext import _codes
    from content import default_library

    library = default_library()
    assert sorted(_codes(library).values()) == sorted(item.id for item in library.all_items())

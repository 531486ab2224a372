"""Danger in what she types reaches help in the reply itself, through the real Application.

A sample of each category in each language; before onboarding; in an edited message, a caption
and the words after a command; the clear button; the nudges held until she chooses.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.hearing.danger import check
from bot.storage.models import UserSettings
from content.locales import default_locales
from tests.bot.conftest import Closer

DIRECTORY = "findahelpline.com"

SAMPLES = [
    ("en", "i dont think i want to be alive anymore", "reply_self_harm_her"),
    ("en", "he keeps saying we would all be better off if he was gone", "reply_self_harm_his"),
    ("en", "he put his hands around my neck last night", "reply_violence"),
    ("en", "he doesnt stop when i say no", "reply_sexual"),
    ("en", "he took my bank card and wont let me see my sister", "reply_control"),
    ("en", "i'm scared to go home tonight", "reply_fear"),
    ("ru", "я больше не хочу жить", "reply_self_harm_her"),
    ("ru", "он меня ударил вчера и угрожал убить", "reply_violence"),
]


def _opening(lang: str, key: str) -> str:
    """The first words of a reply's opening, as the chat shows them (tags dropped)."""
    text = default_locales().get(lang).texts[key]
    return text.replace("<b>", "").replace("</b>", "").split(".")[0]


@pytest.mark.parametrize(("lang", "text", "opening"), SAMPLES)
async def test_danger_gets_help_in_the_reply_itself_in_her_language(
    closer: Closer, lang: str, text: str, opening: str
) -> None:
    user = closer.user(language_code=lang)
    await closer.onboard(user, zone="Berlin")
    reply = await closer.say(user, text)
    body = reply.text or ""
    assert _opening(lang, opening) in body
    assert DIRECTORY in body
    labels = [label for row in reply.keyboard for label, _ in row]
    assert "🛟" in labels[0] and "🧹" in labels[1]


async def test_danger_before_onboarding_gets_the_emergency_number_and_the_directory(
    closer: Closer,
) -> None:
    user = closer.user()
    reply = await closer.say(user, "he hit me and i am scared")
    assert DIRECTORY in (reply.text or "")
    assert "emergency" in (reply.text or "")
    await closer.settle(0)
    assert len(user.chat.bot_messages) == 1  # no "send /start" line after it


async def test_danger_in_an_edited_message_a_caption_and_a_command_is_heard(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    sent = await user.send("we talked a bit tonight")
    await user.next_message()
    await user.edit(sent, "we talked and then he choked me")
    assert DIRECTORY in ((await user.next_message()).text or "")
    await user.send_photo(caption="he did this to my arm, the bruises")
    assert DIRECTORY in ((await user.next_message()).text or "")
    user.skip_messages()
    reply = await closer.say(user, "/log he threatened to kill me")
    assert DIRECTORY in (reply.text or "")


async def test_the_clear_button_deletes_both_sides_of_the_exchange(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    mine = await user.send("he hit me again")
    reply = await user.next_message()
    clear = default_locales().get("en").texts["button_clear_chat"]
    toast = await closer.press(user, clear, message_id=reply.message_id)
    assert toast == default_locales().get("en").texts["chat_cleared"]
    assert user.chat.find(mine) is None
    assert user.chat.find(reply.message_id) is None


async def test_danger_holds_the_nudges_until_she_chooses(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "im afraid of him")
    texts = default_locales().get("en").texts
    assert texts["hold_offer"] in (reply.text or "")

    async def paused() -> bool:
        async with closer.db.transaction(write=False) as session:
            until = (await session.execute(select(UserSettings.paused_until))).scalar_one()
        return until is not None and until > closer.clock.now

    assert await paused()
    await closer.press(user, texts["button_hold_carry_on"], message_id=reply.message_id)
    assert not await paused()


async def test_a_worry_gets_a_line_to_safety_beside_the_card(closer: Closer) -> None:
    text = "he has never once raised a hand, he just goes silent"
    assert check(text, default_locales()).level == "worry"
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, text)
    assert "/safety" in (reply.text or "")
    assert DIRECTORY not in (reply.text or "")


@pytest.mark.parametrize(
    "text",
    [
        "he drove really fast on purpose with me and the kids in the car",
        "i sleep in the car some nights when he is like that",
    ],
)
async def test_what_only_the_learned_backstop_hears_gets_the_lines_and_then_the_answer(
    closer: Closer, text: str
) -> None:
    assert check(text, default_locales()).level == "maybe"  # the lexicons alone would miss it
    user = closer.user()
    await closer.onboard(user, zone="Berlin")
    texts = default_locales().get("en").texts
    reply = await closer.say(user, text)
    body = reply.text or ""
    assert _opening("en", "reply_maybe") in body
    assert "TelefonSeelsorge" in body and "116 016" in body  # crisis and domestic abuse lines
    assert DIRECTORY in body
    assert texts["hold_offer"] not in body  # not sure enough to hold her nudges
    answer = await user.next_message()  # then her message is answered as usual
    assert _opening("en", "reply_maybe") not in (answer.text or "")
    async with closer.db.transaction(write=False) as session:
        until = (await session.execute(select(UserSettings.paused_until))).scalar_one()
    assert until is None


async def test_an_ordinary_message_in_spanish_gets_a_card_in_spanish(closer: Closer) -> None:
    user = closer.user(language_code="es")
    await closer.onboard(user)
    reply = await closer.say(user, "mi novio no me habla desde ayer, qué hago")
    intro = closer.services.library_in("es").label("free_text_card_intro")
    assert (reply.text or "").startswith(intro)


async def test_a_message_in_a_language_closer_does_not_speak_gets_the_note_in_hers(
    closer: Closer,
) -> None:
    user = closer.user(language_code="es")
    await closer.onboard(user)
    reply = await closer.say(
        user, "mein Freund redet seit gestern nicht mehr mit mir, was soll ich tun"
    )
    note = default_locales().get("es").texts["not_english_note"]
    assert (reply.text or "") == note.replace("<b>", "").replace("</b>", "")


async def test_a_withdrawal_card_reached_from_free_text_carries_a_line_to_safety(
    closer: Closer,
) -> None:
    user = closer.user()
    await closer.onboard(user)
    reply = await closer.say(user, "he gives me the stonewalling thing whenever we argue")
    assert "/safety" in (reply.text or "")


async def test_a_lines_note_comes_in_the_language_of_the_reply(closer: Closer) -> None:
    user = closer.user(language_code="ru")
    await closer.onboard(user, zone="Berlin")
    reply = await closer.say(user, "я больше не хочу жить")
    body = reply.text or ""
    assert "0800 111 0 111" in body
    assert "Звонок не появится в детализации счёта" in body  # the note, in Russian
    assert "itemised" not in body


@pytest.mark.parametrize(("zone", "number"), [("London", "999"), ("New York", "911")])
async def test_violence_names_her_countrys_emergency_number(
    closer: Closer, zone: str, number: str
) -> None:
    user = closer.user()
    await closer.onboard(user, zone=zone)
    reply = await closer.say(user, "he hit me again tonight")
    assert f"call {number}" in (reply.text or "")
    assert "your local emergency number" not in (reply.text or "")

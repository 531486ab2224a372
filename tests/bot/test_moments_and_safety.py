"""For the moment itself: /now and its cards, and /safety. The listening timer and its debrief run
through the dispatcher: ``tests/delivery/test_listening_timer.py``."""

from __future__ import annotations

from sqlalchemy import update

from bot.handlers import moments
from bot.storage.models import UserSettings
from tests.bot.conftest import Closer


async def test_talking_now_answers_each_moment_with_what_to_do_and_a_line_to_say(
    closer: Closer,
) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    assert "🗣 Talking now" in [label for row in nudge.keyboard for label, _ in row]
    await closer.press(user, "🗣 Talking now", message_id=nudge.message_id)
    menu = await closer.nudge_menu(user)
    labels = [label for row in menu.keyboard for label, _ in row]
    library = closer.services.library
    assert labels == [library.label(key) for key in moments.MOMENT_LABELS.values()]
    for key, text_key in moments.MOMENT_LABELS.items():
        label = library.label(text_key)
        await closer.press(user, label, message_id=menu.message_id)
        card = user.messages[-1]
        script = library.moment(key)
        assert script.title in (card.text or "")
        assert "Try saying" in (card.text or "")


async def test_safety_gives_her_countrys_crisis_line_or_the_directory(closer: Closer) -> None:
    berlin, nowhere = closer.user(1001, "Alice"), closer.user(2002, "Bea")
    await closer.onboard(berlin, zone="Berlin")
    await closer.onboard(nowhere)  # UTC: no country
    library = closer.services.library
    german = library.crisis_line("DE")
    assert german is not None and library.crisis_directory is not None
    card = await closer.say(berlin, "/safety")
    assert german.name in (card.text or "")
    assert "116 016" in (card.text or "")  # her country's line for abuse at home beside it
    assert library.crisis_directory.name in (card.text or "")  # and the directory, to everyone
    card = await closer.say(nowhere, "/safety")
    assert library.crisis_directory.name in (card.text or "")
    help_message = await closer.say(nowhere, "/help")
    assert [label for row in help_message.keyboard for label, _ in row] == [
        "🗣 Talking now",
        "🛟 Safety",
    ]
    await closer.press(nowhere, "🛟 Safety", message_id=help_message.message_id)
    assert library.crisis_directory.name in (nowhere.messages[-1].text or "")


async def test_safety_finds_her_country_under_an_old_zone_name(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    async with closer.db.transaction(write=True) as session:  # stored before tzdata renamed it
        await session.execute(update(UserSettings).values(timezone="Asia/Calcutta"))
    card = await closer.say(user, "/safety")
    assert "Tele-MANAS" in (card.text or "") and "14416" in (card.text or "")

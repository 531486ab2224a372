"""Closer in Spanish and Russian: every word she reads in her language, chosen from her
Telegram and hers to change with /language.

The real Application and the stand-in: a user whose Telegram is Spanish (or Russian) goes from
/start through onboarding to her first nudge, /help, /safety, /checklist, /progress, a press, a
check-in and its look back; every message, button, toast and poll she received is read, and
any English sentence fails the test. /language moves her to English mid-way and the next
nudge follows. Plurals and dates by CLDR (Babel); the content check fails on a gap.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update

from bot.keyboards import language_name
from bot.nudges import local_time_label, when_phrase
from bot.standin import UserActor
from bot.storage.models import User
from bot.storage.repositories import UserRepository, UserSnapshot
from content.translations import coverage
from content.yamlfile import load_yaml
from tests.bot.conftest import Closer

# Words no Spanish or Russian sentence has, but nearly every English one does.
_ENGLISH = re.compile(
    r"\b(the|you|your|and|with|what|this|that|is|are|of|it|for|will|have|can|when|how|from|"
    r"tap|send|here|there|let's|it's|don't|i'm|i'll)\b",
    re.IGNORECASE,
)
# Proper names, addresses and quoted titles may stay as they are.
_NOT_WORDS = re.compile(r"https?://\S+|/[a-z_]+|“[^”]*”|\"[^\"]*\"|«[^»]*»")
_NAMES = ("Matthew Hussey", "Esther Perel", "Tony Ramos", "Find A Helpline", "Closer", "Telegram")


def english_in(text: str) -> list[str]:
    """The English words in ``text``, once names, links, commands and quotes are left out."""
    for name in _NAMES:
        text = text.replace(name, " ")
    return _ENGLISH.findall(_NOT_WORDS.sub(" ", text))


def everything_she_read(closer: Closer, user: UserActor) -> list[str]:
    """Every text of the bot's messages to her (their current and earlier versions), every
    button, every toast and every poll question and option."""
    read: list[str] = []
    for message in user.chat.messages:
        if not message.from_bot:
            continue
        read.append(message.text or "")
        read.extend(edit for edit in message.edits if isinstance(edit, str))
        read.extend(label for row in message.keyboard for label, _ in row)
        if message.poll is not None:
            read.append(message.poll.question)
            read.extend(message.poll.options)
    for call in closer.standin.calls_to("answerCallbackQuery"):
        if call.params.get("text"):
            read.append(str(call.params["text"]))
    return [text for text in read if text]


async def _snapshot(closer: Closer, user: UserActor) -> UserSnapshot:
    async with closer.db.transaction(write=False) as session:
        found = await session.run_sync(lambda s: UserRepository(s).get_by_telegram_id(user.user_id))
    assert found is not None
    return found


async def _journey(closer: Closer, user: UserActor) -> None:
    """From /start to the first check-in and /progress, pressing what a user would."""
    words = closer.words(user)
    nudge = await closer.onboard(user, zone="Berlin")
    await closer.press(user, words.label("label_tried_it"), nudge.message_id)
    await closer.press(user, words.label("label_went_well"), nudge.message_id)
    for command in ("/help", "/safety", "/checklist", "/about", "/settings"):
        await closer.say(user, command)
    await closer.say(user, "/log")
    await closer.press(user, words.label("label_hard"))
    await closer.send_checkin(await _snapshot(closer, user))
    await closer.settle()
    await closer.say(user, "/progress")
    await closer.settle()


@pytest.mark.parametrize("code", ["es", "ru"])
async def test_a_user_whose_telegram_is_spanish_or_russian_meets_no_english(
    closer: Closer, code: str
) -> None:
    user = closer.user(user_id=4100, language_code=code)
    await _journey(closer, user)
    read = everything_she_read(closer, user)
    assert len(read) > 40, "the journey went through"
    leaks = {text[:80]: words for text in read if (words := english_in(text))}
    assert not leaks, f"English in what a {code} user read: {leaks}"
    async with closer.db.transaction(write=False) as session:
        stored = await session.scalar(select(User.language).where(User.telegram_id == 4100))
    assert stored == code
    if code == "ru":
        assert any(re.search("[а-яё]", text) for text in read)


async def test_an_english_user_meets_only_english(closer: Closer) -> None:
    user = closer.user(user_id=4200, language_code="en")
    await _journey(closer, user)
    read = everything_she_read(closer, user)
    assert not [text for text in read if re.search("[а-яё¿¡ñ]", text, re.IGNORECASE)]
    # The same reading finds English where there is English: it can fail.
    flagged = [text for text in read if english_in(text)]
    assert len(flagged) > len(read) / 3


async def test_someone_who_started_before_keeps_english_until_she_chooses(closer: Closer) -> None:
    user = closer.user(user_id=4300, language_code="es")
    await closer.onboard(user)
    async with closer.db.transaction(write=True) as session:  # as migration 0007 leaves her
        await session.execute(update(User).values(language=None))
    closer.services.languages.note(user.user_id, None)
    reply = await closer.say(user, "/help")
    assert "Here's what I can do" in (reply.text or "")


async def test_language_switches_mid_way_and_the_next_nudge_follows(closer: Closer) -> None:
    user = closer.user(user_id=4400, language_code="es")
    await closer.onboard(user)
    menu = await closer.say(user, "/language")
    assert [label for row in menu.keyboard for label, _ in row] == [
        "English",
        "Español",
        "Русский",
    ]
    await closer.press(user, language_name("en"), message_id=menu.message_id)
    done = closer.standin.message(user.user_id, menu.message_id)
    assert done is not None and "from now on I'll write to you in English" in (done.text or "")
    tip = await closer.say(user, "/tip")
    labels = [label for row in tip.keyboard for label, _ in row]
    assert "✅ Tried it" in labels or "👍 Got it" in labels
    # And through /settings, to Russian: the answer is in Russian already.
    settings = await closer.say(user, "/settings")
    await closer.press(user, "Language", message_id=settings.message_id)
    await closer.press(user, "Русский", message_id=settings.message_id)
    shown = closer.standin.message(user.user_id, settings.message_id)
    assert shown is not None and "по-русски" in (shown.text or "")
    reply = await closer.say(user, "/help")
    assert not english_in(reply.text or "")


async def test_the_command_menu_is_registered_in_each_language(closer: Closer) -> None:
    calls = closer.standin.calls_to("setMyCommands")
    by_language = {call.params.get("language_code"): call for call in calls if call.ok}
    assert set(by_language) >= {None, "es", "ru"}
    spanish = str(by_language["es"].params["commands"])
    assert "language" in spanish and not english_in(spanish.replace('"command"', ""))


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "разговор "), (2, "разговора "), (5, "разговоров "), (21, "разговор ")],
)
def test_russian_plurals_follow_cldr(count: int, expected: str) -> None:
    from content.translations import report_texts_in

    text = report_texts_in("ru").render("lookback_logs", count=count, breakdown="…")
    assert f"{count} {expected}" in text


def test_dates_read_naturally_in_each_language(closer: Closer) -> None:
    moment = datetime(2026, 3, 11, 8, 30, tzinfo=UTC)  # a Wednesday
    asked = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    expected = {
        "en": ("on Wednesday, 11 March, at 8:30", "Wed 11 Mar, 08:30"),
        "es": ("miércoles", "11 de marzo", "mié 11 mar, 08:30"),
        "ru": ("среда", "11 марта", "ср 11 мар., 08:30"),
    }
    for language, parts in expected.items():
        library = closer.services.library_in(language)
        said = (
            when_phrase(library, moment, "UTC", asked)
            + " | "
            + local_time_label(moment, "UTC", library)
        )
        for part in parts:
            assert part in said, (language, said)


def _copy_content(tmp_path: Path) -> Path:
    root = Path(__file__).resolve().parents[2] / "content" / "data"
    target = tmp_path / "data"
    shutil.copytree(root, target)
    return target


def test_the_content_check_fails_on_a_missing_id_or_placeholder(tmp_path: Path) -> None:
    data = _copy_content(tmp_path)
    assert all(found.complete for found in coverage(data)), "the shipped content is complete"
    texts = data / "locales" / "es" / "texts.yaml"
    spanish = load_yaml(texts.read_text(encoding="utf-8"))
    del spanish["welcome"]
    spanish["paused"] = "Pausado."  # {until} lost
    texts.write_text(yaml.safe_dump(spanish, allow_unicode=True), encoding="utf-8")
    found = {c.language: c for c in coverage(data)}
    assert not found["es"].complete and found["ru"].complete
    problems = "\n".join(found["es"].problems)
    assert "'welcome': missing" in problems
    assert "'paused'" in problems and "{until}" in problems


@pytest.mark.parametrize(
    ("code", "text"),
    [("es", "mi novio no me habla desde ayer"), ("ru", "он молчит и не разговаривает со мной")],
)
async def test_what_she_types_in_her_language_finds_a_card_in_it(
    closer: Closer, code: str, text: str
) -> None:
    user = closer.user(user_id=4500, language_code=code)
    await closer.onboard(user)
    await user.send(text)
    reply = await user.next_message()
    library = closer.services.library_in(code)
    titles = [item.title for item in library.all_items()]
    assert any(title in (reply.text or "") for title in titles), reply.text
    assert not english_in(reply.text or "")

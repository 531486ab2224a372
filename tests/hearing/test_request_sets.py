"""Requests in words on the tuning sets: nearly every request heard, few ordinary messages taken.

The blind sets are measured by ``python -m bench.request_sets --set blind`` and reported, not
gated here: a blind miss becomes a tuning case, and the blind set gets a new one.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from bot.hearing import start_warming
from bot.hearing.language import detect
from bot.hearing.requests import HeardRequest, find_request, hear_request
from content.errors import ContentError
from content.locales import LOCALES, Locales, load_locales
from tests.hearing.labelled import load

MIN_ON_POINT = 0.95
MAX_TAKEN = 0.03


@pytest.fixture(scope="module")
def locales() -> Locales:
    return load_locales()


def _heard(text: str, lang: str, locales: Locales) -> HeardRequest | None:
    """As the bot hears it: her Telegram's language is the set's language."""
    return hear_request(text, detect(text, lang), locales)


@pytest.mark.parametrize("lang", LOCALES)
def test_requests_of_the_tuning_set_are_heard_as_what_they_ask(locales: Locales, lang: str) -> None:
    cases = [c for c in load("tuning", "requests") if c.lang == lang]
    assert len(cases) >= 30
    missed = []
    for case in cases:
        heard = _heard(case.text, lang, locales)
        if heard is None or heard.request != case.label:
            missed.append((case.label, case.text, heard))
    assert len(missed) <= (1 - MIN_ON_POINT) * len(cases), missed


@pytest.mark.parametrize("lang", LOCALES)
def test_ordinary_messages_of_the_tuning_set_are_rarely_taken_as_requests(
    locales: Locales, lang: str
) -> None:
    cases = [c for c in load("tuning", "ordinary") if c.lang == lang]
    assert len(cases) >= 80
    taken = [(c.text, h) for c in cases if (h := _heard(c.text, lang, locales)) is not None]
    assert len(taken) <= MAX_TAKEN * len(cases), taken


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stop", "stop"),
        ("please stop the messages", "stop"),
        ("he told me to stop asking", None),
        ("don't stop the messages", None),
        ("i want him to stop ignoring me", None),
        (
            "we had a good week but every time I ask about his dad he tells me to stop, "
            "and I don't know whether to keep trying or give him space for a while",
            None,
        ),
        ("i forget everything he says", None),
        ("can you help me understand why he goes quiet", None),
        ("good night", "goodnight"),
        ("good morning", None),
        ("👍", "ack"),
        ("ok thanks", "ack"),
        ("thanks", None),  # the card matcher's thank-you
        ("is it a man thing to go quiet?", None),
        ("it's like talking to a robot", None),
    ],
)
def test_a_request_is_the_point_of_the_message(
    locales: Locales, text: str, expected: str | None
) -> None:
    heard = find_request(text, "en", locales)
    assert (heard.request if heard else None) == expected, heard


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("mi novio no me habla desde ayer, qué hago", "es"),  # novio is not novia
        ("me desperté y ya me estaba tocando", "es"),  # tocando is not "¿qué toca?"
        ("удалил у меня из телефона контакты всех подруг", "ru"),  # he deleted, she asks nothing
        ("перестал нормально спать, ходит как тень", "ru"),
        ("nunca habla de lo que siente", "es"),  # not "¿hablas español?" in English
    ],
)
def test_words_about_him_in_spanish_and_russian_are_not_requests(
    locales: Locales, text: str, lang: str
) -> None:
    assert hear_request(text, lang, locales) is None


@pytest.mark.parametrize(
    ("text", "lang", "when"),
    [
        ("remind me tomorrow", "en", "tomorrow"),
        ("can you send this again in an hour", "en", "hour"),
        ("bring this back up tonight", "en", "evening"),
        ("remind me later", "en", None),
        ("recuérdamelo mañana", "es", "tomorrow"),
        ("напомни через пару часов", "ru", "hour"),
    ],
)
def test_a_snooze_request_says_the_time_it_names(
    locales: Locales, text: str, lang: str, when: str | None
) -> None:
    heard = find_request(text, lang, locales)  # type: ignore[arg-type]
    assert heard is not None and heard.request == "snooze"
    assert heard.when == when


def test_the_language_it_was_detected_in_comes_first_then_english(locales: Locales) -> None:
    spanish = hear_request("borra todos mis datos", "es", locales)
    assert spanish is not None and (spanish.request, spanish.lang) == ("forget", "es")
    english = hear_request("help", "ru", locales)
    assert english is not None and (english.request, english.lang) == ("help", "en")


def test_the_content_check_holds_every_language_to_the_same_requests(tmp_path: Path) -> None:
    root = tmp_path / "locales"
    shutil.copytree(str(resources.files("content").joinpath("data", "locales")), root)
    replies = root / "es" / "replies.yaml"
    text = replies.read_text(encoding="utf-8")
    replies.write_text(text.replace("request_ack:", "request_okay:"), encoding="utf-8")
    lexicon = root / "ru" / "requests.yaml"
    text = lexicon.read_text(encoding="utf-8").replace('"@DELETE меня"', '"@GONE меня"')
    start = text.index("  goodnight:\n")
    end = text.index("  ack:\n")
    lexicon.write_text(text[:start] + "  goodnight: []\n" + text[end:], encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        load_locales(root)
    problems = raised.value.problems
    assert "locales/es/replies.yaml: request_ack: missing (English has it)" in problems
    assert "locales/es/replies.yaml: request_okay: English has no such id" in problems
    assert "locales/ru/requests.yaml: goodnight: no patterns" in problems
    assert any("ru/requests.yaml: forget:" in p and "unknown group @GONE" in p for p in problems)


def test_the_lexicons_are_compiled_in_a_thread_at_start_up(locales: Locales) -> None:
    thread = start_warming(locales)
    assert find_request("stop", "en", locales) == HeardRequest("stop", None, "en")  # waits
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_stemming_in_several_threads_at_once_gives_the_same_stems() -> None:
    """The warm-up thread and the event loop stem at the same time: a stemmer each."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.hearing import text

    roots = ("walk", "talk", "hurt", "scare", "listen", "threaten", "control")
    vocabulary = [r + e for r in roots for e in ("", "s", "ed", "ing", "ers", "ingly")] * 200

    def stems(_: int) -> list[str]:  # straight to the stemmer: stem() would cache
        return [text._stemmer("en").stemWord(word) for word in vocabulary]

    expected = stems(0)
    with ThreadPoolExecutor(4) as pool:
        assert all(result == expected for result in pool.map(stems, range(8)))

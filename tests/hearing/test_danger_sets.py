"""The danger check on the tuning sets: every danger message reaches help, few false alarms.

The blind sets are measured by ``python -m bench.hearing_sets --set blind`` and reported, not
gated here: a blind miss becomes a tuning case, and the blind set gets a new one.
"""

from __future__ import annotations

import pytest

from bot.hearing.danger import check
from content.locales import LOCALES, Locales, load_locales
from tests.hearing.labelled import load

MAX_FALSE_ALARMS = 0.10
# Every language's lexicon is held to its tuning set.
GATED = ("en", "es", "ru")


@pytest.fixture(scope="module")
def locales() -> Locales:
    return load_locales()


@pytest.mark.parametrize("lang", GATED)
def test_every_danger_message_of_the_tuning_set_reaches_help(locales: Locales, lang: str) -> None:
    cases = [c for c in load("tuning", "danger") if c.lang == lang]
    assert len(cases) >= 80
    missed = [(c.label, c.text) for c in cases if not check(c.text, locales).gives_help]
    assert missed == []


@pytest.mark.parametrize("lang", GATED)
def test_every_worry_of_the_tuning_set_gets_at_least_a_line_to_safety(
    locales: Locales, lang: str
) -> None:
    cases = [c for c in load("tuning", "worry") if c.lang == lang]
    assert cases
    missed = [c.text for c in cases if check(c.text, locales).level == "none"]
    assert len(missed) <= 0.05 * len(cases), missed


@pytest.mark.parametrize("lang", LOCALES)
def test_ordinary_messages_rarely_raise_an_alarm(locales: Locales, lang: str) -> None:
    cases = [c for c in load("tuning", "ordinary") if c.lang == lang]
    assert len(cases) >= 80
    alarms = [c.text for c in cases if check(c.text, locales).gives_help]
    assert len(alarms) <= MAX_FALSE_ALARMS * len(cases), alarms


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("he has never once raised a hand, he just goes silent", "worry"),
        ("he never hit me before but last night he did", "violence"),
        ("I'd never kill myself, I just feel so tired", "self_harm_her"),
        ("he keeps saying we'd all be better off if he was dead", "self_harm_his"),
        ("i am so scarred of him rn", "fear"),
        ("he strangeled me", "violence"),
        ("he pushed back on my plan", None),
        ("I could kill for a coffee", None),
        ("she's killing it at work", None),
        ("hello?", None),  # too short for the learned backstop to judge
        ("hola", None),
    ],
)
def test_negation_idioms_and_typos(locales: Locales, text: str, category: str | None) -> None:
    found = check(text, locales)
    if category is None:
        assert found.level == "none", found
    else:
        assert found.first == category, found


def test_a_long_message_with_one_danger_sentence_in_the_middle(locales: Locales) -> None:
    calm = "We talked about his work and the weekend plans, and he listened for a while. " * 20
    text = calm + "Then he grabbed me by the throat. " + calm
    assert check(text[:4096], locales).level == "danger"

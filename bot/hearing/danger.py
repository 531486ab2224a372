"""Danger in what she types: self-harm (hers or his), violence, sexual coercion, control, fear.

``check(text, locales)`` matches every language's lexicon (``content/data/locales/*/danger.yaml``,
format in ``content.locales.DangerLexicon``) against the message, whatever language it seems to
be in: recall comes first, and a message may mix languages. Offline, deterministic, no storage.

Patterns are matched by ``bot.hearing.phrases`` (stems, typos, words in between). Harmless
idioms ("I could kill for a coffee") take their words out of play first. A match with a negation
word just before or inside it ("he has never once raised a hand") is set aside as plainly benign
only when nothing else in the message is danger and no breaker word ("but", "until",
"yesterday") says things changed; it still earns a line to /safety (``worry``). Self-harm is
never set aside by a negation: "I'd never kill myself" still gets a gentle word about help.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal, cast

from bot.hearing.model import load_model
from bot.hearing.phrases import PhraseLexicon, idiom_match, match, term_positions
from bot.hearing.text import Lang, words
from content.locales import DANGER_CATEGORIES, DangerCategory, DangerLexicon, Locales

NEGATION_REACH: Final = 4  # words before a match where a negation counts
SUBJECT_REACH: Final = 8  # words before a self-harm match where "he" or "I" tells whose it is
BACKSTOP_FROM_WORDS: Final = 3  # "hello?" carries too little for the learned model to judge
MAX_WORDS: Final = 1500  # a Telegram message (4,096 characters) has fewer

Level = Literal["danger", "maybe", "worry", "none"]
_NEVER_NEGATED: Final = frozenset({"self_harm_her", "self_harm_his", "self_harm"})
_HIS_WORDS: Final = frozenset(
    {"he", "him", "his", "hes", "himself", "husband", "boyfriend", "partner", "bf", "hubby"}
    | {"el", "novio", "marido", "esposo", "pareja", "su"}
    | {"он", "его", "ему", "него", "нему", "муж", "парень", "мужа", "мужу", "себя"}
)
_HER_WORDS: Final = frozenset(
    {"i", "im", "ive", "id", "me", "my", "myself", "yo", "mi", "я", "мне", "меня", "моя"}
)


@dataclass(frozen=True, slots=True)
class Danger:
    """What the check found: categories most urgent first, ``worry`` last."""

    categories: tuple[DangerCategory, ...] = ()
    langs: tuple[Lang, ...] = ()  # the lexicons that heard it, most matches first
    maybe: bool = False  # the lexicons heard no danger, the learned backstop did

    @property
    def level(self) -> Level:
        if self.categories and self.categories != ("worry",):
            return "danger"
        if self.maybe:
            return "maybe"
        return "worry" if self.categories else "none"

    @property
    def gives_help(self) -> bool:
        """Whether the reply gives the help lines: danger, or maybe danger."""
        return self.level in ("danger", "maybe")

    @property
    def first(self) -> DangerCategory | None:
        return self.categories[0] if self.categories else None


NOTHING: Final = Danger()


@dataclass(frozen=True, slots=True)
class _Found:
    category: DangerCategory
    negated: bool
    lang: Lang


def _whose(tokens: Sequence[str], start: int) -> DangerCategory:
    """Self-harm with no subject in its pattern: his if he is the nearest person before it."""
    for i in range(start - 1, max(-1, start - SUBJECT_REACH - 1), -1):
        if tokens[i] in _HIS_WORDS:
            return "self_harm_his"
        if tokens[i] in _HER_WORDS:
            return "self_harm_her"
    return "self_harm_her"


def _idiom_words(lexicon: PhraseLexicon, positions: Sequence[frozenset[int]]) -> set[int]:
    """The positions of the words that harmless idioms take out of play."""
    everywhere = term_positions(positions, [True] * len(positions))
    return {
        i for idiom in lexicon.idiom_candidates(everywhere) for i in idiom_match(idiom, everywhere)
    }


def _check_language(
    lexicon: PhraseLexicon, tokens: Sequence[str], idioms: set[int]
) -> list[_Found]:
    """What one lexicon hears; adds the positions its idioms cover to ``idioms``."""
    positions = [lexicon.terms_of(token) for token in tokens]
    covered = _idiom_words(lexicon, positions)
    idioms |= covered
    where = term_positions(positions, [i not in covered for i in range(len(tokens))])
    found: list[_Found] = []
    for pattern in lexicon.candidates(where):
        hit = match(pattern, where)
        if hit is None:
            continue
        category = cast(DangerCategory, pattern.label)
        if category == "self_harm":
            category = _whose(tokens, hit[0])
        negated = False
        if category not in _NEVER_NEGATED and not pattern.negating:
            span = range(max(0, hit[0] - NEGATION_REACH), hit[-1] + 1)
            negated = any(tokens[i] in lexicon.negations for i in span if i not in hit)
        found.append(_Found(category, negated, lexicon.lang))
    return found


def check(text: str, locales: Locales) -> Danger:
    """What danger ``text`` speaks of, if any; see the module docstring."""
    tokens = words(text)[:MAX_WORDS]
    if not tokens:
        return NOTHING
    found: list[_Found] = []
    breakers: set[str] = set()
    idioms: set[int] = set()
    for lexicon in _compiled(locales):
        found.extend(_check_language(lexicon, tokens, idioms))
        breakers |= lexicon.breakers
    broken = any(token in breakers for token in tokens)
    categories: set[DangerCategory] = set()
    benign_only = True
    for item in found:
        if item.negated and not broken:
            continue
        categories.add(item.category)
        if item.category != "worry":
            benign_only = False
    if benign_only and any(item.negated and item.category != "worry" for item in found):
        categories.add("worry")  # "he never once raised a hand": still a line to /safety
    heard_in = Counter(item.lang for item in found if not (item.negated and not broken))
    heard = Danger(
        tuple(c for c in DANGER_CATEGORIES if c in categories),
        tuple(lang for lang, _ in heard_in.most_common()),
    )
    if heard.level == "danger" or len(tokens) < BACKSTOP_FROM_WORDS:
        return heard
    backstop = load_model().heard(_without(tokens, idioms))
    if backstop == "danger":
        return replace(heard, maybe=True)
    if backstop == "worry" and heard.level == "none":
        return replace(heard, categories=("worry",))
    return heard


def _without(tokens: Sequence[str], idioms: set[int]) -> str:
    return " ".join(token for i, token in enumerate(tokens) if i not in idioms)


def model_text(text: str, locales: Locales) -> str:
    """What the learned backstop reads: the words, less those harmless idioms take out of play
    ("he pushed back on my plan" -> "he on my plan"). Training reads texts the same way."""
    tokens = words(text)[:MAX_WORDS]
    idioms: set[int] = set()
    for lexicon in _compiled(locales):
        idioms |= _idiom_words(lexicon, [lexicon.terms_of(token) for token in tokens])
    return _without(tokens, idioms)


def compile_lexicon(lang: Lang, lexicon: DangerLexicon) -> PhraseLexicon:
    """One language's danger lexicon, compiled (categories most urgent first)."""
    return PhraseLexicon(
        lang,
        [(category, lexicon.patterns.get(category, ())) for category in DANGER_CATEGORIES],
        groups=lexicon.groups,
        negations=lexicon.negations,
        breakers=lexicon.breakers,
        idioms=lexicon.idioms,
    )


_COMPILING = threading.Lock()
_COMPILED: dict[int, tuple[Locales, tuple[PhraseLexicon, ...]]] = {}


def _compiled(locales: Locales) -> tuple[PhraseLexicon, ...]:
    """Each language's lexicon, compiled once per Locales (a few at most)."""
    kept = _COMPILED.get(id(locales))
    if kept is not None and kept[0] is locales:
        return kept[1]
    with _COMPILING:  # the start-up warm-up may be compiling it in its thread: wait for it
        kept = _COMPILED.get(id(locales))
        if kept is None or kept[0] is not locales:
            if len(_COMPILED) >= 8:
                _COMPILED.pop(next(iter(_COMPILED)))
            lexicons = tuple(
                compile_lexicon(code, locale.danger) for code, locale in locales.by_code.items()
            )
            kept = _COMPILED[id(locales)] = (locales, lexicons)
    return kept[1]


def explain(text: str, locales: Locales) -> list[str]:
    """Which patterns matched (for tuning at a terminal; never logged)."""
    tokens = words(text)[:MAX_WORDS]
    lines: list[str] = []
    for lexicon in _compiled(locales):
        where = term_positions([lexicon.terms_of(token) for token in tokens], [True] * len(tokens))
        for pattern in lexicon.candidates(where):
            hit = match(pattern, where)
            if hit is not None:
                lines.append(f"{lexicon.lang} {pattern.label}: {[tokens[i] for i in hit]}")
    return lines


def warm_up(locales: Locales) -> None:
    """Compile every language's danger lexicon now (start-up), not on her first message."""
    _compiled(locales)

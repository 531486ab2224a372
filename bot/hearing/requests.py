"""Requests in words: "stop the messages", "remind me tomorrow", "are you a bot?", "goodnight".

``find_request(text, lang)`` says which request a message makes in one language's lexicon
(``content/data/locales/<lang>/requests.yaml``, format in ``content.locales.RequestLexicon``),
or None; ``hear_request(text, detected)`` tries the language the message was detected in, then
English (an "ok" or a "help" is English in any chat). Offline, deterministic, no storage; the
danger check comes before it and always wins.

The patterns are matched by the same engine as danger (``bot.hearing.phrases``: stems, typos,
words in between). A request must be the point of the message: a long message about him that
happens to contain "stop" is not one. So a match counts in a short clause, or near the start of
a clause in a message that is not long; a negation just before it ("don't stop the messages")
or a reported word ("he told me to stop asking") sets it aside. A message of nothing but emoji
is an acknowledgement. Texts are never logged.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, cast

from bot.hearing.model import REQUEST_MODEL_FILE, load_model
from bot.hearing.phrases import Pattern, PhraseLexicon, idiom_match, match, term_positions
from bot.hearing.text import words
from content.locales import (
    LOCALES,
    REFERENCE,
    REQUEST_INTENTS,
    SNOOZE_WHENS,
    LocaleCode,
    Locales,
    RequestIntent,
    RequestLexicon,
    SnoozeWhen,
    default_locales,
)

NEGATION_REACH: Final = 3  # words before a match (in its clause) where a negation counts
# Where a clause ends: sentence and clause punctuation, a dash between words, a line break.
_CLAUSE_END = re.compile(r"[.!?;:,\n\u2026()\"]+|\s[-\u2013\u2014]+\s")


@dataclass(frozen=True, slots=True)
class HeardRequest:
    """A request in words: what she asks, the lexicon's language, and for a snooze the time she
    named ("hour", "evening", "tomorrow"), for a goodbye "night" when she said good night."""

    request: RequestIntent
    when: SnoozeWhen | Literal["night"] | None = None
    lang: LocaleCode = REFERENCE


class _Compiled:
    """One language's request lexicon, compiled once."""

    def __init__(self, lang: LocaleCode, lexicon: RequestLexicon) -> None:
        self.lexicon = lexicon
        groups = lexicon.groups
        self.phrases = PhraseLexicon(
            lang,
            [(intent, lexicon.patterns.get(intent, ())) for intent in REQUEST_INTENTS],
            groups=groups,
            negations=lexicon.negations,
            idioms=lexicon.idioms,
        )
        self.when = PhraseLexicon(
            lang,
            [(when, lexicon.when.get(when, ())) for when in SNOOZE_WHENS]
            + [("night", lexicon.night)],
            groups=groups,
        )
        self.filler = frozenset(w for f in lexicon.filler for w in words(f.lstrip("=")))
        self.reported = frozenset(w for r in lexicon.reported for w in words(r.lstrip("=")))


@dataclass(frozen=True, slots=True)
class _Message:
    """A message's words, and for each the clause it is in."""

    tokens: tuple[str, ...]
    clause_of: tuple[int, ...]
    clause_start: tuple[int, ...]  # the first word of each clause
    clause_size: tuple[int, ...]


def _split(text: str) -> _Message:
    tokens: list[str] = []
    clause_of: list[int] = []
    starts: list[int] = []
    sizes: list[int] = []
    for part in _CLAUSE_END.split(text):
        found = words(part)
        if not found:
            continue
        starts.append(len(tokens))
        sizes.append(len(found))
        clause_of.extend([len(starts) - 1] * len(found))
        tokens.extend(found)
    return _Message(tuple(tokens), tuple(clause_of), tuple(starts), tuple(sizes))


def _only_symbols(text: str) -> bool:
    """Nothing but emoji and the like (👍, ❤️, 🙏): no letter, no digit."""
    return any(unicodedata.category(c) == "So" for c in text) and not words(text)


def _counts(compiled: _Compiled, message: _Message, pattern: Pattern, hit: Sequence[int]) -> bool:
    """Whether a match is the point of the message (see ``content.locales.RequestLexicon``)."""
    lexicon = compiled.lexicon
    tokens = message.tokens
    first = hit[0]
    clause = message.clause_of[first]
    start = message.clause_start[clause]
    if "^" in pattern.flags:
        return all(i in hit or tokens[i] in compiled.filler for i in range(len(tokens)))
    short = message.clause_size[clause] <= lexicon.short_words
    if not short:
        if "<" in pattern.flags:
            return False
        lead = sum(1 for i in range(start, first) if tokens[i] not in compiled.filler)
        if lead > lexicon.lead_words:
            return False
    between = [i for i in range(first, hit[-1] + 1) if i not in hit]
    around = [*range(max(start, first - NEGATION_REACH), first), *between]
    if not pattern.negating and any(tokens[i] in compiled.phrases.negations for i in around):
        return False
    # "he told me to stop asking", "i want him to stop ignoring me": someone else's words.
    return not any(tokens[i] in compiled.reported for i in [*range(start, first), *between])


def _positions(lexicon: PhraseLexicon, tokens: Sequence[str]) -> dict[int, list[int]]:
    terms = [lexicon.terms_of(token) for token in tokens]
    free = [True] * len(tokens)
    everywhere = term_positions(terms, free)
    for idiom in lexicon.idiom_candidates(everywhere):
        for i in idiom_match(idiom, everywhere):
            free[i] = False
    return term_positions(terms, free)


def find_request(
    text: str, lang: LocaleCode, locales: Locales | None = None
) -> HeardRequest | None:
    """The request ``text`` makes in this language's lexicon, if it makes one."""
    compiled = _compiled(locales or default_locales())[lang]
    if len(text.split()) > 2 * compiled.lexicon.max_words:  # long: no need to read it closely
        return None
    message = _split(text)
    if not message.tokens:
        return HeardRequest("ack", lang=lang) if _only_symbols(text) else None
    if len(message.tokens) > compiled.lexicon.max_words:
        return None
    where = _positions(compiled.phrases, message.tokens)
    for pattern in compiled.phrases.candidates(where):
        hit = match(pattern, where)
        if hit is None or not _counts(compiled, message, pattern, hit):
            continue
        intent = cast(RequestIntent, pattern.label)
        return HeardRequest(intent, _when(compiled, message, intent), lang)
    return None


def _when(
    compiled: _Compiled, message: _Message, intent: RequestIntent
) -> SnoozeWhen | Literal["night"] | None:
    """The snooze time a snooze request names; "night" for a goodbye that says good night."""
    if intent not in ("snooze", "goodnight"):
        return None
    where = _positions(compiled.when, message.tokens)
    for pattern in compiled.when.candidates(where):
        if (pattern.label == "night") != (intent == "goodnight"):
            continue
        if match(pattern, where) is not None:
            return cast(SnoozeWhen | Literal["night"], pattern.label)
    return None


BACKSTOP_MAX_WORDS: Final = 12  # a request is short; a long message is about him


def hear_request(text: str, detected: str, locales: Locales | None = None) -> HeardRequest | None:
    """The request in ``text``: in the language it was detected in, else, for a short message
    ("ok", "help", "stop pls"), in English: a few English words are understood everywhere."""
    tried: list[LocaleCode] = [code for code in LOCALES if code == detected]
    locales = locales or default_locales()
    limit = locales.get(REFERENCE).requests.short_words
    short = len(text.split()) <= 2 * limit and len(words(text)) <= limit
    if REFERENCE not in tried and short:
        tried.append(REFERENCE)
    for lang in tried:
        found = find_request(text, lang, locales)
        if found is not None:
            return found
    return _backstop(text, detected)


def _backstop(text: str, detected: str) -> HeardRequest | None:
    """The learned backstop, for a short message the lexicons missed ("can u ping me again in
    an hour"): an intent only when the model is fairly sure of it (``bot.hearing.model``)."""
    if not 1 <= len(words(text)) <= BACKSTOP_MAX_WORDS:
        return None
    intent = load_model(REQUEST_MODEL_FILE).best(text)
    if intent is None or intent not in REQUEST_INTENTS:
        return None
    lang: LocaleCode = detected if detected in LOCALES else REFERENCE
    return HeardRequest(intent, None, lang)


_COMPILING = threading.Lock()
_COMPILED: dict[int, tuple[Locales, dict[LocaleCode, _Compiled]]] = {}


def _compiled(locales: Locales) -> dict[LocaleCode, _Compiled]:
    """Each language's lexicon, compiled once per Locales (a few at most)."""
    kept = _COMPILED.get(id(locales))
    if kept is not None and kept[0] is locales:
        return kept[1]
    with _COMPILING:  # the start-up warm-up may be compiling it in its thread: wait for it
        kept = _COMPILED.get(id(locales))
        if kept is None or kept[0] is not locales:
            if len(_COMPILED) >= 8:
                _COMPILED.pop(next(iter(_COMPILED)))
            lexicons = {code: _Compiled(code, lo.requests) for code, lo in locales.by_code.items()}
            kept = _COMPILED[id(locales)] = (locales, lexicons)
    return kept[1]


def warm_up(locales: Locales) -> None:
    """Compile every language's request lexicon now (start-up), not on her first message."""
    _compiled(locales)


def explain(text: str, lang: LocaleCode, locales: Locales | None = None) -> list[str]:
    """Which patterns matched, counted or not (for tuning at a terminal; never logged)."""
    compiled = _compiled(locales or default_locales())[lang]
    message = _split(text)
    where = _positions(compiled.phrases, message.tokens)
    lines: list[str] = []
    for pattern in compiled.phrases.candidates(where):
        hit = match(pattern, where)
        if hit is not None:
            counted = _counts(compiled, message, pattern, hit)
            words_hit = [message.tokens[i] for i in hit]
            lines.append(f"{pattern.label}{'' if counted else ' (set aside)'}: {words_hit}")
    return lines

"""Words of a message, in any of the languages Closer hears: normalised, stemmed, typo-tolerant.

Offline and deterministic. ``words`` keeps letters of every script (Cyrillic included), folds
accents on Latin letters only (``й`` stays ``й``), maps ``ё`` to ``е`` and drops apostrophes
(``don't`` -> ``dont``). ``stem`` is Snowball's stemmer for the language.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from typing import Any, Final, Literal

import snowballstemmer

Lang = Literal["en", "es", "ru"]
LANGS: Final[tuple[Lang, ...]] = ("en", "es", "ru")

_SNOWBALL: Final[dict[Lang, str]] = {"en": "english", "es": "spanish", "ru": "russian"}
_APOSTROPHES = str.maketrans({"’": "", "‘": "", "`": "", "´": "", "'": "", "ʼ": ""})
_WORD = re.compile(r"[^\W\d_]+|\d+")


@functools.cache
def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def _fold_char(char: str) -> str:
    if char.isascii() or not _is_latin(char):
        return char
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)) or char


def normalise(text: str) -> str:
    """Lower case, Latin accents folded, ``ё`` -> ``е``, apostrophes dropped."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)
    return "".join(_fold_char(c) for c in text).replace("ё", "е")


def words(text: str) -> list[str]:
    """The words of a text, normalised, in order (digits as their own words)."""
    return _WORD.findall(normalise(text))


_THREAD = threading.local()


def _stemmer(lang: Lang) -> Any:
    """This thread's Snowball stemmer for the language: a stemmer keeps the word it works on in
    itself, so two threads (the start-up warm-up and the event loop) must not share one."""
    stemmers: dict[Lang, Any] | None = getattr(_THREAD, "stemmers", None)
    if stemmers is None:
        stemmers = _THREAD.stemmers = {}
    found = stemmers.get(lang)
    if found is None:
        found = stemmers[lang] = snowballstemmer.stemmer(_SNOWBALL[lang])
    return found


@functools.lru_cache(maxsize=65536)
def stem(word: str, lang: Lang) -> str:
    """Snowball's stem of a normalised word in this language (a word too short is itself)."""
    if len(word) <= 2:
        return word
    result: str = _stemmer(lang).stemWord(word)
    return result

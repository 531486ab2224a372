"""The language of what she writes: lingua, restricted and in its low-accuracy (low-memory) mode.

Closer speaks English; it hears danger in English, Spanish and Russian, and notes in Spanish and
Russian that it speaks English for now. ``detect(text, hint)`` says which of those it is
("en", "es", "ru"), or "other" for a language Closer has no words in, with Telegram's
``language_code`` as the hint when the text is too short to tell (a greeting, one word). Cyrillic
letters with no Ukrainian-only letter are Russian without asking the model. Offline: lingua
ships its models in the wheel. ``bench.hearing`` measures its time and memory against py3langid.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

Detected = Literal["en", "es", "ru", "other"]

_KNOWN: Final[dict[Language, Detected]] = {
    Language.ENGLISH: "en",
    Language.SPANISH: "es",
    Language.RUSSIAN: "ru",
}
# Languages it should be able to tell apart from ours, so that they are not taken for one of them.
_OTHERS: Final = (
    Language.FRENCH,
    Language.GERMAN,
    Language.PORTUGUESE,
    Language.ITALIAN,
    Language.UKRAINIAN,
)
MIN_CONFIDENCE: Final = 0.5
STRONG: Final = 0.9  # how sure it must be to answer in another language than her Telegram's
MIN_LETTERS_TO_OVERRIDE: Final = 12
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_UKRAINIAN_ONLY = re.compile(r"[іїєґ]", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]")


@functools.cache
def detector() -> LanguageDetector:
    """Built once per process, on first use (about 15 MB; never at import time)."""
    return (
        LanguageDetectorBuilder.from_languages(*_KNOWN, *_OTHERS)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


def hint_of(language_code: str | None) -> Detected | None:
    """Telegram's ``language_code`` ("es-419", "ru") as one of ours, if it is."""
    if not language_code:
        return None
    base = language_code.lower().split("-")[0]
    return base if base in ("en", "es", "ru") else "other"  # type: ignore[return-value]


def detect(text: str, hint: str | None = None) -> Detected:
    """The language of ``text``; ``hint`` (Telegram's language_code) decides when it can't."""
    fallback: Detected = hint_of(hint) or "en"
    letters = len(_LETTERS.findall(text))
    if letters == 0:
        return fallback
    if _CYRILLIC.search(text) and not _UKRAINIAN_ONLY.search(text):
        return "ru"
    if letters < 4:
        return fallback
    values = detector().compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return fallback
    found = _KNOWN.get(values[0].language, "other")
    # Her Telegram's language wins unless the text is clearly in another (gibberish, a name).
    if found != fallback and (letters < MIN_LETTERS_TO_OVERRIDE or values[0].value < STRONG):
        return fallback
    return found

"""The learned backstop to the danger lexicons: a linear model over character and word n-grams.

The lexicons (``bot.hearing.danger``) hear what they were written for; said another way, a
message can slip past them. This model, trained on the labelled sets in the repository, hears
the family resemblance: a message that reads like the danger and worry examples more than like
the ordinary ones scores high. Three classes: danger, worry (may or may not be control or
depression) and ordinary (requests in words included). ``check`` uses it as a backstop only: a
message the lexicons missed whose danger probability reaches ``threshold`` is ``maybe`` danger
and gets the help lines in the reply (recall comes first; a false alarm costs one gentle
message); one whose danger and worry probabilities together reach ``worry_threshold`` gets the
line to /safety.

Features are stateless (feature hashing, so nothing but the weights is stored): character
n-grams of two to five letters within words of the normalised text, and word unigrams and
bigrams of Snowball stems (Cyrillic words with the Russian stemmer, Latin ones with both the
English and the Spanish one: no language detection needed). Hearing needs only NumPy;
scikit-learn trains the weights (a development dependency). The weights live in
``bot/hearing/data/danger_model.npz``, written by ``python -m bot.hearing.train`` from
``tests/hearing/data/tuning`` (deterministic: the same data gives the same file).
"""

from __future__ import annotations

import functools
import itertools
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from bot.hearing.text import normalise, stem, words

N_FEATURES: Final = 2**18  # per feature family: character n-grams, then word n-grams
MODEL_FILE: Final = "danger_model.npz"
REQUEST_MODEL_FILE: Final = "request_model.npz"
CHAR_NGRAMS: Final = range(2, 6)
_CYRILLIC: Final = re.compile(r"[а-я]")

Row = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]  # feature indices, values


def _hashed(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) % N_FEATURES


def _stems(text: str) -> list[str]:
    out: list[str] = []
    for word in words(text):
        if _CYRILLIC.search(word):
            out.append(stem(word, "ru"))
        else:
            english, spanish = stem(word, "en"), stem(word, "es")
            out.extend((english,) if english == spanish else (english, spanish))
    return out


@functools.lru_cache(maxsize=65536)
def _char_grams(word: str) -> tuple[int, ...]:
    """The hashed character n-grams of one word, padded by a space (words repeat: cached)."""
    padded = f" {word} "
    return tuple(
        _hashed(padded[i : i + n]) for n in CHAR_NGRAMS for i in range(max(1, len(padded) - n + 1))
    )


def _unit(counts: Counter[int], offset: int) -> dict[int, float]:
    norm = float(np.sqrt(sum(c * c for c in counts.values()))) or 1.0
    return {offset + index: count / norm for index, count in counts.items()}


def features(text: str) -> Row:
    """The model's features of a text, the same for training and for hearing.

    Character n-grams (two to five) within each word padded by a space, and unigrams and
    bigrams of the words' stems, each family hashed (CRC-32) into ``N_FEATURES`` columns and
    scaled to unit length. Pure Python and NumPy: hearing needs no scikit-learn.
    """
    chars: Counter[int] = Counter()
    for word in normalise(text).split():
        chars.update(_char_grams(word))
    stems = _stems(text)
    grams: Counter[int] = Counter(_hashed(s) for s in stems)
    grams.update(_hashed(f"{a} {b}") for a, b in itertools.pairwise(stems))
    values = _unit(chars, 0) | _unit(grams, N_FEATURES)
    indices = np.fromiter(values.keys(), dtype=np.int64, count=len(values))
    return indices, np.fromiter(values.values(), dtype=np.float64, count=len(values))


CLASSES: Final = ("ordinary", "worry", "danger")
Heard = Literal["danger", "worry", "none"]


@dataclass(frozen=True, slots=True)
class LinearModel:
    """A multinomial linear model over ``features``: the danger backstop (classes ordinary,
    worry, danger) or the request backstop (the intents and "none")."""

    classes: tuple[str, ...]
    weights: npt.NDArray[np.floating[Any]]  # (classes, 2 * N_FEATURES)
    intercepts: npt.NDArray[np.float64]  # (classes,)
    threshold: float  # danger: P(danger) for "maybe" danger; requests: P(the intent)
    worry_threshold: float = 1.0  # danger: P(danger) + P(worry) for a line to /safety

    def probabilities(self, text: str) -> dict[str, float]:
        """How much ``text`` reads like each class (softmax: they sum to 1)."""
        indices, values = features(text)
        scores = self.weights[:, indices] @ values + self.intercepts
        exp = np.exp(scores - scores.max())
        return dict(zip(self.classes, (exp / exp.sum()).tolist(), strict=True))

    def heard(self, text: str) -> Heard:
        """The danger backstop's verdict."""
        p = self.probabilities(text)
        if p["danger"] >= self.threshold:
            return "danger"
        return "worry" if p["danger"] + p["worry"] >= self.worry_threshold else "none"

    def best(self, text: str) -> str | None:
        """The request backstop's verdict: the likeliest class if it reaches ``threshold``."""
        p = self.probabilities(text)
        top = max(p, key=lambda c: p[c])
        return top if p[top] >= self.threshold else None


DangerModel = LinearModel


@functools.cache
def load_model(name: str = MODEL_FILE) -> LinearModel:
    """A stored model (each read once per process)."""
    source = resources.files("bot.hearing").joinpath("data", name)
    with resources.as_file(source) as path, np.load(path) as stored:
        classes = tuple(str(c) for c in stored["classes"])
        weights = np.zeros((len(classes), 2 * N_FEATURES), dtype=np.float32)  # as stored
        weights[:, stored["indices"]] = stored["values"]
        return LinearModel(
            classes=classes,
            weights=weights,
            intercepts=np.asarray(stored["intercepts"], dtype=np.float64),
            threshold=float(stored["threshold"]),
            worry_threshold=float(stored["worry_threshold"]),
        )

"""Per-language content: ``content/data/locales/<lang>/*.yaml``, one folder per language.

This is the layout every text Closer speaks moves into as it learns languages: each language
has the same files and, in each, the same ids. English (``en``) is the reference.

- ``safety.yaml``: the texts of a safety reply and of hearing what she types (id -> text,
  ``{placeholders}`` as in texts.yaml, plain text: the renderer escapes it).
- ``danger.yaml``: the danger lexicon (see ``DangerLexicon``), written for that language, not
  translated word for word.
- ``requests.yaml``: the lexicon of requests in words ("stop the messages", "are you a bot?"),
  see ``RequestLexicon``; same format of patterns.
- ``replies.yaml``: the answers to those requests (id -> text, like safety.yaml). A locale's
  ``texts`` hold both files' texts; an id may be in only one of them.

``load_locales()`` validates all of it at once and raises ``ContentError`` listing every
problem: a language missing an id that English has (or having one English lacks), different
placeholders, unbalanced markup, an empty lexicon category, an unknown group.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from content.errors import ContentError
from content.render import placeholders, render_template, text_tag_problem
from content.yamlfile import load_yaml

LocaleCode = Literal["en", "es", "ru"]
LOCALES: Final[tuple[LocaleCode, ...]] = get_args(LocaleCode)
REFERENCE: Final[LocaleCode] = "en"

# What a danger message is about, most urgent first: the reply opens on the first one found.
DangerCategory = Literal[
    "self_harm_her", "self_harm_his", "self_harm", "violence", "sexual", "fear", "control", "worry"
]
DANGER_CATEGORIES: Final[tuple[DangerCategory, ...]] = get_args(DangerCategory)

# What a request in words asks, in the order they are tried (the first one heard wins).
RequestIntent = Literal[
    "forget",
    "is_human",
    "language",
    "partner_not_man",
    "change_time",
    "stop",
    "snooze",
    "next_step",
    "help",
    "goodnight",
    "ack",
]
REQUEST_INTENTS: Final[tuple[RequestIntent, ...]] = get_args(RequestIntent)
# When a snooze request names a time ("remind me tomorrow"): the nudge's own snooze choices.
SnoozeWhen = Literal["hour", "evening", "tomorrow"]
SNOOZE_WHENS: Final[tuple[SnoozeWhen, ...]] = get_args(SnoozeWhen)

SAFETY_FILE: Final = "safety.yaml"
DANGER_FILE: Final = "danger.yaml"
REQUESTS_FILE: Final = "requests.yaml"
REPLIES_FILE: Final = "replies.yaml"
TEXT_FILES: Final = (SAFETY_FILE, REPLIES_FILE)
_PACKAGE = __name__.rpartition(".")[0]


class DangerLexicon(BaseModel):
    """One language's danger lexicon; the matcher is ``bot.hearing.danger``.

    A pattern is slots separated by spaces, matched in order with up to three other words
    between two slots. A slot is alternatives separated by ``|``: a plain word matches any form
    with the same Snowball stem in this language (and, from a stem of five letters, a typo or
    two); ``word*`` any word that starts so; ``=word`` exactly that word; ``@GROUP`` any word of
    a group. ``(a b|c)`` is a choice between phrases (the pattern is expanded, one per choice), and
    ``(a b|c)?`` may also be left out.
    ``...`` only reads better (the gap is always allowed). Leading flags: ``~`` the slots in any
    order within a few words; ``!`` a negation nearby does not set the match aside ("i never
    know what will set him off"). ``idioms`` are harmless phrases whose words no danger
    pattern may use ("could kill for a coffee"). ``negations`` just before or inside a match
    mark it negated; a negated match counts as plainly benign only when no ``breakers`` word
    ("but", "until", "yesterday") is in the message. Self-harm is never set aside by negation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    negations: tuple[str, ...] = ()
    breakers: tuple[str, ...] = ()
    idioms: tuple[str, ...] = ()
    patterns: dict[DangerCategory, tuple[str, ...]]


class RequestLexicon(BaseModel):
    """One language's lexicon of requests in words; the matcher is ``bot.hearing.requests``.

    Patterns are written as in ``DangerLexicon`` (slots, ``|``, ``word*``, ``=word``, ``@GROUP``,
    ``(a b|c)?``, ``~``). A request must be the point of the message, so a pattern counts only:
    in a short clause (at most ``short_words`` words, between punctuation), or starting within
    the first ``lead_words`` words of its clause (``filler`` words not counted) in a message of
    at most ``max_words`` words. Leading flags narrow it: ``<`` only in a short clause; ``^``
    only when it is the whole message (every other word a ``filler`` word: "ok thanks", "night
    x"). A ``negations`` word just before it in its clause sets it aside ("don't stop the
    messages"), unless the pattern has one of its own ("don't send me anything"); so does a
    ``reported`` word ("he told me to stop"). ``when`` names the snooze choices a snooze
    request may name; ``night`` tells a good night from a goodbye; ``idioms`` take their words
    out of play ("stop by").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    short_words: int = Field(6, ge=1)
    lead_words: int = Field(3, ge=0)
    max_words: int = Field(20, ge=1)
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    negations: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()
    filler: tuple[str, ...] = ()
    idioms: tuple[str, ...] = ()
    patterns: dict[RequestIntent, tuple[str, ...]]
    when: dict[SnoozeWhen, tuple[str, ...]] = Field(default_factory=dict)
    night: tuple[str, ...] = ()  # a goodbye that says good night ("night x", not "bye")


@dataclass(frozen=True, slots=True)
class Locale:
    """One language's texts and lexicons."""

    code: LocaleCode
    texts: Mapping[str, str]
    danger: DangerLexicon
    requests: RequestLexicon

    def text(self, key: str, /, **fmt: object) -> str:
        """A text as Telegram HTML: the template escaped, placeholders filled and escaped."""
        return render_template(self.texts[key], **fmt)


@dataclass(frozen=True, slots=True)
class Locales:
    """Every language Closer speaks; ``get`` falls back to English."""

    by_code: Mapping[LocaleCode, Locale]

    def get(self, code: str | None) -> Locale:
        for locale_code, locale in self.by_code.items():
            if locale_code == code:
                return locale
        return self.by_code[REFERENCE]

    def coverage(self) -> dict[LocaleCode, tuple[int, int]]:
        """Ids present per language, against English's count."""
        reference = len(self.by_code[REFERENCE].texts)
        return {code: (len(locale.texts), reference) for code, locale in self.by_code.items()}


def load_locales(directory: Path | Traversable | None = None) -> Locales:
    """Load and check every language under ``directory`` (default: the package's own)."""
    root = directory or resources.files(_PACKAGE).joinpath("data", "locales")
    problems: list[str] = []
    loaded: dict[LocaleCode, Locale] = {}
    origin: dict[LocaleCode, dict[str, str]] = {}  # id -> the file it came from
    for code in LOCALES:
        folder = root.joinpath(code)
        clean: dict[str, str] = {}
        origin[code] = {}
        texts_ok = True
        for file in TEXT_FILES:
            texts = _read(folder.joinpath(file), f"locales/{code}/{file}", problems)
            if texts is None:
                texts_ok = False
                continue
            where = f"locales/{code}/{file}"
            for key, value in texts.items():
                if not isinstance(key, str) or not isinstance(value, str) or not value.strip():
                    problems.append(f"{where}: {key!r}: a text must be a non-empty string")
                    continue
                if key in clean:
                    problems.append(f"{where}: {key}: already in {origin[code][key]}")
                    continue
                tag = text_tag_problem(value)
                if tag is not None:
                    problems.append(f"{where}: {key}: {tag}")
                clean[key] = value
                origin[code][key] = file
        danger = _lexicon(folder, code, DANGER_FILE, DangerLexicon, problems)
        requests = _lexicon(folder, code, REQUESTS_FILE, RequestLexicon, problems)
        if not texts_ok or danger is None or requests is None:
            continue
        for category in DANGER_CATEGORIES:
            if not danger.patterns.get(category) and category != "self_harm":
                problems.append(f"locales/{code}/{DANGER_FILE}: {category}: no patterns")
        for intent in REQUEST_INTENTS:
            if not requests.patterns.get(intent):
                problems.append(f"locales/{code}/{REQUESTS_FILE}: {intent}: no patterns")
        request_patterns = [
            *requests.patterns.items(),
            *requests.when.items(),
            ("night", requests.night),
        ]
        danger_patterns = list(danger.patterns.items())
        for file, groups, named in (
            (DANGER_FILE, danger.groups, danger_patterns),
            (REQUESTS_FILE, requests.groups, request_patterns),
        ):
            for label, patterns in named:
                for pattern in patterns:
                    for term in _terms(pattern):
                        if term.startswith("@") and term[1:] not in groups:
                            problems.append(
                                f"locales/{code}/{file}: {label}: {pattern!r}: unknown group {term}"
                            )
        loaded[code] = Locale(code=code, texts=clean, danger=danger, requests=requests)
    reference = loaded.get(REFERENCE)
    if reference is not None:
        for code, locale in loaded.items():
            if code == REFERENCE:
                continue
            for key in sorted(set(reference.texts) - set(locale.texts)):
                where = f"locales/{code}/{origin[REFERENCE][key]}"
                problems.append(f"{where}: {key}: missing (English has it)")
            for key in sorted(set(locale.texts) - set(reference.texts)):
                where = f"locales/{code}/{origin[code][key]}"
                problems.append(f"{where}: {key}: English has no such id")
            for key in sorted(set(reference.texts) & set(locale.texts)):
                where = f"locales/{code}/{origin[code][key]}"
                if origin[code][key] != origin[REFERENCE][key]:
                    problems.append(f"{where}: {key}: English has it in {origin[REFERENCE][key]}")
                if placeholders(reference.texts[key]) != placeholders(locale.texts[key]):
                    problems.append(
                        f"{where}: {key}: placeholders {sorted(placeholders(locale.texts[key]))} "
                        f"differ from English {sorted(placeholders(reference.texts[key]))}"
                    )
    if problems:
        raise ContentError(problems)
    return Locales(by_code=loaded)


_Model = TypeVar("_Model", bound=BaseModel)


def _lexicon(
    folder: Traversable, code: str, file: str, model: type[_Model], problems: list[str]
) -> _Model | None:
    raw = _read(folder.joinpath(file), f"locales/{code}/{file}", problems)
    if raw is None:
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        for detail in error.errors():
            path = ".".join(str(p) for p in detail["loc"])
            problems.append(f"locales/{code}/{file}: {path}: {detail['msg']}")
        return None


def _terms(pattern: str) -> list[str]:
    """The terms a pattern is written with (flags and brackets left out)."""
    body = pattern.lstrip("~!^< ").replace("(", " ").replace(")", " ").replace("?", " ")
    return [term for slot in body.split() for term in slot.split("|")]


def _read(path: Traversable, label: str, problems: list[str]) -> dict[Any, Any] | None:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{label}: missing")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{label}: not valid YAML: {error}")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{label}: must be a mapping")
        return None
    return raw


@functools.cache
def default_locales() -> Locales:
    """The package's own languages, loaded once on first use."""
    return load_locales()

"""Per-language content: ``content/data/locales/<lang>/*.yaml``, one folder per language.

This is the layout every text Closer speaks moves into as it learns languages: each language
has the same files and, in each, the same ids. English (``en``) is the reference.

- ``safety.yaml``: the texts of a safety reply and of hearing what she types (id -> text,
  ``{placeholders}`` as in texts.yaml, plain text: the renderer escapes it).
- ``danger.yaml``: the danger lexicon (see ``DangerLexicon``), written for that language, not
  translated word for word.

``load_locales()`` validates all of it at once and raises ``ContentError`` listing every
problem: a language missing an id that English has (or having one English lacks), different
placeholders, unbalanced markup, an empty lexicon category.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from content.errors import ContentError
from content.render import placeholders, render_template, text_tag_problem

LocaleCode = Literal["en", "es", "ru"]
LOCALES: Final[tuple[LocaleCode, ...]] = get_args(LocaleCode)
REFERENCE: Final[LocaleCode] = "en"

# What a danger message is about, most urgent first: the reply opens on the first one found.
DangerCategory = Literal[
    "self_harm_her", "self_harm_his", "self_harm", "violence", "sexual", "fear", "control", "worry"
]
DANGER_CATEGORIES: Final[tuple[DangerCategory, ...]] = get_args(DangerCategory)

SAFETY_FILE: Final = "safety.yaml"
DANGER_FILE: Final = "danger.yaml"
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


@dataclass(frozen=True, slots=True)
class Locale:
    """One language's texts and lexicon."""

    code: LocaleCode
    texts: Mapping[str, str]
    danger: DangerLexicon

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


class _UniqueKeys(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_locales(directory: Path | Traversable | None = None) -> Locales:
    """Load and check every language under ``directory`` (default: the package's own)."""
    root = directory or resources.files(_PACKAGE).joinpath("data", "locales")
    problems: list[str] = []
    loaded: dict[LocaleCode, Locale] = {}
    for code in LOCALES:
        folder = root.joinpath(code)
        texts = _read(folder.joinpath(SAFETY_FILE), f"locales/{code}/{SAFETY_FILE}", problems)
        lexicon_raw = _read(folder.joinpath(DANGER_FILE), f"locales/{code}/{DANGER_FILE}", problems)
        if texts is None or lexicon_raw is None:
            continue
        where = f"locales/{code}/{SAFETY_FILE}"
        clean: dict[str, str] = {}
        for key, value in texts.items():
            if not isinstance(key, str) or not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: {key!r}: a text must be a non-empty string")
                continue
            tag = text_tag_problem(value)
            if tag is not None:
                problems.append(f"{where}: {key}: {tag}")
            clean[key] = value
        try:
            lexicon = DangerLexicon.model_validate(lexicon_raw)
        except ValidationError as error:
            for detail in error.errors():
                path = ".".join(str(p) for p in detail["loc"])
                problems.append(f"locales/{code}/{DANGER_FILE}: {path}: {detail['msg']}")
            continue
        for category in DANGER_CATEGORIES:
            if not lexicon.patterns.get(category) and category != "self_harm":
                problems.append(f"locales/{code}/{DANGER_FILE}: {category}: no patterns")
        for category, patterns in lexicon.patterns.items():
            for pattern in patterns:
                for slot in pattern.lstrip("~! ").replace("(", " ").replace(")", " ").split():
                    for term in slot.split("|"):
                        if term.startswith("@") and term[1:] not in lexicon.groups:
                            problems.append(
                                f"locales/{code}/{DANGER_FILE}: {category}: {pattern!r}: "
                                f"unknown group {term}"
                            )
        loaded[code] = Locale(code=code, texts=clean, danger=lexicon)
    reference = loaded.get(REFERENCE)
    if reference is not None:
        for code, locale in loaded.items():
            if code == REFERENCE:
                continue
            where = f"locales/{code}/{SAFETY_FILE}"
            for key in sorted(set(reference.texts) - set(locale.texts)):
                problems.append(f"{where}: {key}: missing (English has it)")
            for key in sorted(set(locale.texts) - set(reference.texts)):
                problems.append(f"{where}: {key}: English has no such id")
            for key in sorted(set(reference.texts) & set(locale.texts)):
                if placeholders(reference.texts[key]) != placeholders(locale.texts[key]):
                    problems.append(
                        f"{where}: {key}: placeholders {sorted(placeholders(locale.texts[key]))} "
                        f"differ from English {sorted(placeholders(reference.texts[key]))}"
                    )
    if problems:
        raise ContentError(problems)
    return Locales(by_code=loaded)


def _read(path: Traversable, label: str, problems: list[str]) -> dict[Any, Any] | None:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeys)
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

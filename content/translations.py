"""Closer in other languages: English content overlaid with a language's own words.

Each language other than English has, in ``content/data/locales/<lang>/``, the same ids as the
English files, written for that language (not word for word):

- ``texts.yaml``: every key of ``texts.yaml``; ``report_texts.yaml``: every key of
  ``report_texts.yaml``; ``safety_page.yaml``: every section of ``safety.yaml`` and its
  ``keywords``;
- ``cards/{steps,tips,insights,variants,scripts,polls}.yaml``: the same entries in the same
  order, with only what she reads (title, body, try_this, quote, keywords; a poll's question
  and options).

A text is a string, or, where the words change with a number, a mapping from CLDR plural
category (``one``, ``few``, ``many``, ``other``; Babel says which a language has) to a string:
the form is chosen by the number given for ``count`` (else the text's last numeric
placeholder), by the language's own rules (Russian: 1, 21 → one; 2–4, 22 → few; 5–20 → many).
Every form has exactly the English text's placeholders and balanced markup.

:func:`translate` builds a language's :class:`~content.library.Library`. A gap (a missing id,
a missing plural form, other placeholders) is listed in ``problems`` and that piece stays in
English, so a running bot never fails on it; ``closer content check`` and the tests fail on
any gap (:func:`coverage`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, cast

import yaml
from babel import Locale

from content.library import Library
from content.loader import load_library
from content.models import (
    MESSAGE_LIMIT,
    SAFETY_KEYS,
    Item,
    PollQuestion,
    SafetyKey,
    TextKey,
)
from content.render import placeholders, render_template, text_tag_problem, visible_length
from content.report_texts import (
    CAPTION_LIMIT,
    ReportTexts,
    default_report_texts,
    load_report_texts,
)
from content.yamlfile import load_yaml

LANGUAGES: Final = ("en", "es", "ru")
"""Every language Closer speaks; English is the reference the others are checked against."""
CARD_FILES: Final = ("steps", "tips", "insights", "variants", "scripts")
CARD_FIELDS: Final = ("title", "body", "try_this", "quote")


def plural_categories(language: str) -> frozenset[str]:
    """The CLDR plural categories of ``language`` (``other`` included)."""
    return frozenset(Locale.parse(language).plural_form.tags) | {"other"}


def plural_category(language: str, number: float) -> str:
    """The CLDR plural category of ``number`` in ``language``: 'one', 'few', 'many', 'other'."""
    return str(Locale.parse(language).plural_form(number))


@dataclass
class Coverage:
    """How much of the English content a language has: ids written, ids expected, problems."""

    language: str
    written: int = 0
    expected: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems and self.written == self.expected


class _Overlay:
    """Reads one language's files and checks each text against its English original."""

    def __init__(self, source: Traversable, language: str) -> None:
        self.root = source.joinpath("locales", language)
        self.language = language
        self.coverage = Coverage(language)
        self.categories = plural_categories(language)

    def _read(self, name: str) -> Any:
        where = f"locales/{self.language}/{name}"
        try:
            return load_yaml(self.root.joinpath(name).read_text("utf-8"))
        except FileNotFoundError:
            self.coverage.problems.append(f"{where}: file missing")
        except yaml.YAMLError as exc:
            self.coverage.problems.append(f"{where}: invalid YAML: {exc}")
        return None

    def text(self, where: str, english: str, value: object, limit: int) -> str | dict[str, str]:
        """``value`` checked against ``english``: the same placeholders in every form."""
        self.coverage.expected += 1
        wanted = placeholders(english)
        forms: dict[str, str]
        if isinstance(value, str) and value.strip():
            forms = {"other": value.strip()}
        elif isinstance(value, dict) and value:
            forms = {str(k): str(v).strip() for k, v in value.items() if isinstance(v, str)}
            unknown = set(forms) - self.categories
            # one and other always; few and many where the language has few (Russian): a
            # language whose "many" is only for millions (Spanish) may leave it to other.
            needed = {"one", "other"} | (
                {"few", "many"} & self.categories if "few" in self.categories else set()
            )
            if unknown or not needed <= set(forms) or len(forms) != len(value):
                self.coverage.problems.append(
                    f"{where}: plural forms must be {sorted(needed)} (of {sorted(self.categories)})"
                )
                return english
        else:
            self.coverage.problems.append(f"{where}: missing")
            return english
        for form, text in forms.items():
            try:
                names = placeholders(text)
            except ValueError as exc:
                self.coverage.problems.append(f"{where} [{form}]: {exc}")
                return english
            problem = text_tag_problem(text)
            if names != wanted or problem is not None:
                expected = ", ".join(f"{{{n}}}" for n in sorted(wanted)) or "none"
                self.coverage.problems.append(
                    f"{where} [{form}]: {problem or f'placeholders must be exactly: {expected}'}"
                )
                return english
            if visible_length(render_template(text, **dict.fromkeys(names, ""))) > limit:
                self.coverage.problems.append(f"{where} [{form}]: longer than {limit}")
                return english
        self.coverage.written += 1
        return forms["other"] if len(forms) == 1 else forms

    def mapping(
        self, name: str, english: Mapping[str, str], limit: int = MESSAGE_LIMIT
    ) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """A file of keys to texts: (single texts, plural texts), English where missing."""
        data = self._read(name)
        data = data if isinstance(data, dict) else {}
        extra = set(data) - set(english) - {"keywords"}
        self.coverage.problems.extend(
            f"locales/{self.language}/{name}: {key!r}: not an English key" for key in sorted(extra)
        )
        single: dict[str, str] = {}
        plural: dict[str, dict[str, str]] = {}
        for key, original in english.items():
            found = self.text(
                f"locales/{self.language}/{name}: {key!r}", original, data.get(key), limit
            )
            if isinstance(found, dict):
                plural[key] = found
                single[key] = found["other"]
            else:
                single[key] = found
        return single, plural

    def entries(self, name: str, english: list[str]) -> dict[str, dict[str, Any]]:
        """A card or poll overlay by id, checked to list the English ids in their order."""
        where = f"locales/{self.language}/cards/{name}.yaml"
        data = self._read(f"cards/{name}.yaml")
        if not isinstance(data, list):
            if data is not None:
                self.coverage.problems.append(f"{where}: expected a list")
            self.coverage.expected += len(english)
            return {}
        ids = [entry.get("id") for entry in data if isinstance(entry, dict)]
        if ids != english:
            self.coverage.problems.append(f"{where}: ids differ from the English file's")
        return {
            str(entry["id"]): entry for entry in data if isinstance(entry, dict) and "id" in entry
        }

    def item(self, item: Item, entry: Mapping[str, Any] | None, where: str) -> Item:
        update: dict[str, Any] = {}
        if entry is None:
            self.coverage.expected += 1
            self.coverage.problems.append(f"{where}: {item.id!r}: missing")
            return item
        for name in CARD_FIELDS:
            original = getattr(item, name)
            if original is None:
                continue
            value = self.text(
                f"{where}: {item.id!r}.{name}", original, entry.get(name), MESSAGE_LIMIT
            )
            if isinstance(value, str):
                update[name] = value
        keywords = entry.get("keywords")
        if isinstance(keywords, list) and all(isinstance(k, str) for k in keywords):
            update["keywords"] = tuple(k.strip().casefold() for k in keywords if k.strip())
        elif item.keywords:
            self.coverage.problems.append(f"{where}: {item.id!r}.keywords: missing")
        return item.model_copy(update=update)

    def poll(self, poll: PollQuestion, entry: Mapping[str, Any] | None, where: str) -> PollQuestion:
        if entry is None:
            self.coverage.expected += 1
            self.coverage.problems.append(f"{where}: {poll.id!r}: missing")
            return poll
        question = self.text(
            f"{where}: {poll.id!r}.question", poll.question, entry.get("question"), 300
        )
        options = entry.get("options")
        self.coverage.expected += 1
        if (
            not isinstance(options, list)
            or len(options) != len(poll.options)
            or not all(isinstance(o, str) and 1 <= len(o) <= 100 for o in options)
            or len({o.casefold() for o in options}) != len(options)
        ):
            self.coverage.problems.append(
                f"{where}: {poll.id!r}.options: not one per English option"
            )
            return poll
        self.coverage.written += 1
        if not isinstance(question, str):
            return poll
        return poll.model_copy(update={"question": question, "options": tuple(options)})


def translate(english: Library, source: Traversable, language: str) -> tuple[Library, Coverage]:
    """``english`` in ``language`` from the files under ``source`` (``content/data``), and how
    complete that is. English itself comes back as it is."""
    if language == "en":
        return english, Coverage("en")
    overlay = _Overlay(source, language)
    texts, plurals = overlay.mapping("texts.yaml", cast("Mapping[str, str]", english.texts))
    safety_data = overlay._read("safety_page.yaml")
    safety, _ = overlay.mapping(
        "safety_page.yaml", {k: english.safety[k] for k in SAFETY_KEYS if k in english.safety}
    )
    keywords = safety_data.get("keywords") if isinstance(safety_data, dict) else None
    safety_keywords = (
        tuple(str(k).casefold() for k in keywords)
        if isinstance(keywords, list)
        else english.safety_keywords
    )
    cards: dict[str, tuple[Item, ...]] = {}
    for name, items in (
        ("steps", english.steps),
        ("tips", english.tips),
        ("insights", english.insights),
        ("variants", english.variants),
        ("scripts", english.scripts),
    ):
        where = f"locales/{language}/cards/{name}.yaml"
        found = overlay.entries(name, [item.id for item in items])
        cards[name] = tuple(overlay.item(item, found.get(item.id), where) for item in items)
    found_polls = overlay.entries("polls", [poll.id for poll in english.polls])
    polls = tuple(
        overlay.poll(poll, found_polls.get(poll.id), f"locales/{language}/cards/polls.yaml")
        for poll in english.polls
    )
    names = Locale.parse(language).territories
    countries = {
        code: entry.model_copy(update={"country": str(names.get(code, entry.country))})
        for code, entry in english.helpline_countries.items()
    }
    library = dataclasses.replace(
        english,
        language=language,
        helpline_countries=countries,
        texts=cast("dict[TextKey, str]", texts),
        plurals=cast("dict[TextKey, dict[str, str]]", plurals),
        safety=cast("dict[SafetyKey, str]", safety),
        safety_keywords=safety_keywords,
        polls=polls,
        steps=cards["steps"],
        tips=cards["tips"],
        insights=cards["insights"],
        variants=cards["variants"],
        scripts=cards["scripts"],
    )
    return library, overlay.coverage


def translate_report_texts(
    english: ReportTexts, source: Traversable, language: str
) -> tuple[ReportTexts, Coverage]:
    """The report texts in ``language`` (``locales/<lang>/report_texts.yaml``), English where
    that file has a gap."""
    if language == "en":
        return english, Coverage("en")
    overlay = _Overlay(source, language)
    texts, plurals = overlay.mapping("report_texts.yaml", english.texts, CAPTION_LIMIT)
    return ReportTexts(texts, language, plurals), overlay.coverage


@functools.cache
def report_texts_in(language: str) -> ReportTexts:
    """The package's report texts in ``language`` (English where it has a gap)."""
    source = resources.files(__name__.rpartition(".")[0]).joinpath("data")
    return translate_report_texts(default_report_texts(), source, language)[0]


def coverage(directory: Path | None = None) -> list[Coverage]:
    """How complete each language other than English is (``content/data``, or ``directory``
    laid out like it): the ids written of those expected, and every gap."""
    source: Traversable = (
        directory if directory is not None else resources.files(__package__).joinpath("data")
    )
    english = load_library(directory)
    reports = load_report_texts(directory)
    found: list[Coverage] = []
    for language in LANGUAGES[1:]:
        _, cards = translate(english, source, language)
        _, texts = translate_report_texts(reports, source, language)
        found.append(
            Coverage(
                language,
                cards.written + texts.written,
                cards.expected + texts.expected,
                cards.problems + texts.problems,
            )
        )
    return found

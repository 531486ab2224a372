"""Read content/data/*.yaml, validate every item and cross-check them, build the Library.

Every problem is collected and reported at once in a ContentError, one line each, naming the
file, the item (by id, or by 1-based position when the id itself is unusable) and the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from content.errors import ContentError
from content.library import Library
from content.models import (
    MEASURES,
    MESSAGE_LIMIT,
    MOMENTS,
    OWN_SOURCE,
    SAFETY_KEYS,
    SAFETY_PLACEHOLDERS,
    STEP_COUNT,
    TEXT_KEYS,
    TEXT_PLACEHOLDERS,
    CountryHelplines,
    CrisisDirectory,
    Item,
    Keyword,
    Kind,
    PollQuestion,
    Slug,
    TextKey,
)
from content.render import (
    placeholders,
    render_item,
    render_template,
    text_tag_problem,
    visible_length,
)
from content.yamlfile import load_yaml

_M = TypeVar("_M", bound=BaseModel)
_K = TypeVar("_K", bound=str)
_SLUG: TypeAdapter[str] = TypeAdapter(Slug)
_SAFETY_KEYWORDS: TypeAdapter[tuple[str, ...]] = TypeAdapter(
    Annotated[tuple[Keyword, ...], Field(min_length=1)]
)

_PACKAGE = __name__.rpartition(".")[0]
_DEFAULT_LABEL = f"{_PACKAGE}/data"

ITEM_FILES: Mapping[Kind, str] = {
    "step": "steps.yaml",
    "variant": "variants.yaml",
    "tip": "tips.yaml",
    "insight": "insights.yaml",
    "script": "scripts.yaml",
}
POLLS_FILE = "polls.yaml"
TEXTS_FILE = "texts.yaml"
SOURCES_FILE = "sources.yaml"
SAFETY_FILE = "safety.yaml"
CRISIS_FILE = "crisis_lines.yaml"


def load_library(directory: Path | None = None) -> Library:
    """Load and validate the content in ``directory`` (default: the package's own data)."""
    if directory is None:
        source: Traversable = resources.files(_PACKAGE).joinpath("data")
        label = _DEFAULT_LABEL
    else:
        source, label = directory, str(directory)
    return _Loader(source, label).load()


@functools.cache
def default_library() -> Library:
    """The package's own content, loaded once on first use (never at import time)."""
    return load_library()


def render_text(key: TextKey, /, **fmt: object) -> str:
    """A bot text from the package's own content as Telegram HTML; see Library.render_text."""
    return default_library().render_text(key, **fmt)


@dataclass
class _Entry:
    """One valid item and where it came from, for cross-check messages."""

    file: str  # e.g. "content/data/tips.yaml"
    where: str  # e.g. "content/data/tips.yaml: item 'no-negation'"
    item: Item


class _Loader:
    def __init__(self, source: Traversable, label: str) -> None:
        self.source = source
        self.label = label
        self.problems: list[str] = []
        # Files that could not be read in full; cross-checks that would only echo their
        # problems (a step "missing" because its entry is invalid) are skipped for them.
        self.incomplete: set[str] = set()

    def load(self) -> Library:
        entries = {kind: list(self._load_items(kind, name)) for kind, name in ITEM_FILES.items()}
        items = [entry for kind in ITEM_FILES for entry in entries[kind]]
        polls = list(self._load_polls())
        texts = self._load_templates(TEXTS_FILE, "text", TEXT_KEYS, TEXT_PLACEHOLDERS)
        sources = self._load_sources()
        safety_data = self._read_mapping(SAFETY_FILE, "text key to text")
        safety_keywords = self._safety_keywords(safety_data)
        safety = self._load_templates(
            SAFETY_FILE, "text", SAFETY_KEYS, SAFETY_PLACEHOLDERS, safety_data
        )
        helpline_countries, directory = self._load_helplines()
        self._check_unique_ids(items, polls)
        self._check_steps(entries["step"])
        self._check_polls([poll for _where, poll in polls])
        self._check_links(entries)
        self._check_variants(entries)
        self._check_moments(entries["script"])
        self._check_sources(items, sources)
        self._check_rendered_lengths(items)
        if self.problems:
            raise ContentError(self.problems)
        return Library(
            steps=tuple(sorted((e.item for e in entries["step"]), key=lambda item: item.step)),
            tips=tuple(e.item for e in entries["tip"]),
            insights=tuple(e.item for e in entries["insight"]),
            polls=tuple(poll for _where, poll in polls),
            texts=texts,
            variants=tuple(e.item for e in entries["variant"]),
            scripts=tuple(e.item for e in entries["script"]),
            sources=sources,
            safety=safety,
            helpline_countries=helpline_countries,
            crisis_directory=directory,
            safety_keywords=safety_keywords,
        )

    # -- reading -------------------------------------------------------------------------------

    def _file(self, name: str) -> str:
        return f"{self.label}/{name}"

    def _read_yaml(self, name: str) -> object:
        path = self.source.joinpath(name)
        if not path.is_file():
            self.problems.append(f"{self._file(name)}: file missing")
            self.incomplete.add(name)
            return None
        try:
            return load_yaml(path.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            self.problems.append(f"{self._file(name)}: invalid YAML{at}: {exc.problem}")
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{self._file(name)}: cannot read: {exc}")
        self.incomplete.add(name)
        return None

    def _read_list(self, name: str) -> list[object]:
        data = self._read_yaml(name)
        if data is None:
            return []
        if not isinstance(data, list):
            self.problems.append(f"{self._file(name)}: expected a list of entries at the top level")
            self.incomplete.add(name)
            return []
        return data

    def _where(self, name: str, raw: object, index: int) -> str:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
            return f"{self._file(name)}: item {raw['id']!r}"
        return f"{self._file(name)}: item #{index}"

    def _validate(self, model: type[_M], raw: object, where: str) -> _M | None:
        if not isinstance(raw, dict):
            self.problems.append(f"{where}: expected a mapping of fields")
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            self.problems.extend(f"{where}: {_describe(error)}" for error in exc.errors())
            return None

    def _load_items(self, kind: Kind, name: str) -> Iterator[_Entry]:
        for index, raw in enumerate(self._read_list(name), start=1):
            where = self._where(name, raw, index)
            if isinstance(raw, dict):
                raw = {"kind": kind, **raw}
            item = self._validate(Item, raw, where)
            if item is None:
                self.incomplete.add(name)
                continue
            if item.kind != kind:
                self.problems.append(f"{where}: kind: {name} holds only {kind!r} items")
                self.incomplete.add(name)
                continue
            yield _Entry(self._file(name), where, item)

    def _load_polls(self) -> Iterator[tuple[str, PollQuestion]]:
        for index, raw in enumerate(self._read_list(POLLS_FILE), start=1):
            where = self._where(POLLS_FILE, raw, index)
            poll = self._validate(PollQuestion, raw, where)
            if poll is None:
                self.incomplete.add(POLLS_FILE)
            else:
                yield where, poll

    def _read_mapping(self, name: str, what: str) -> dict[Any, Any] | None:
        data = self._read_yaml(name)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.problems.append(f"{self._file(name)}: expected a mapping of {what}")
            self.incomplete.add(name)
            return None
        return data

    def _load_templates(
        self,
        name: str,
        noun: str,
        keys: tuple[_K, ...],
        allowed_placeholders: Mapping[_K, frozenset[str]],
        data: dict[Any, Any] | None = None,
    ) -> dict[_K, str]:
        """A file of fixed keys to plain-text templates with exactly the allowed placeholders.

        ``data`` is the file already read (when the caller took other keys out of it first).
        """
        file = self._file(name)
        if data is None:
            data = self._read_mapping(name, f"{noun} key to {noun}")
        if data is None:
            return {}
        texts: dict[_K, str] = {}
        for key in data:
            if key not in keys:
                self.problems.append(
                    f"{file}: {noun} {key!r}: unknown key (known: {', '.join(keys)})"
                )
        for key in keys:
            where = f"{file}: {noun} {key!r}"
            if key not in data:
                self.problems.append(f"{where}: missing")
                continue
            value = data[key]
            if not isinstance(value, str) or not value.strip():
                self.problems.append(f"{where}: expected non-empty plain text")
                continue
            text = value.strip()
            try:
                names = placeholders(text)
            except ValueError as exc:
                self.problems.append(f"{where}: {exc}")
                continue
            tag_problem = text_tag_problem(text)
            if tag_problem is not None:
                self.problems.append(f"{where}: {tag_problem}")
                continue
            allowed = allowed_placeholders[key]
            if names != allowed:
                expected = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
                self.problems.append(f"{where}: placeholders must be exactly: {expected}")
                continue
            length = visible_length(render_template(text, **dict.fromkeys(names, "")))
            if length > MESSAGE_LIMIT:
                self.problems.append(
                    f"{where}: {length} characters, Telegram allows {MESSAGE_LIMIT}"
                )
                continue
            texts[key] = text
        return texts

    def _safety_keywords(self, data: dict[Any, Any] | None) -> tuple[str, ...]:
        """Take `keywords` out of the safety file: free text with one of them gets /safety."""
        if data is None:
            return ()
        where = f"{self._file(SAFETY_FILE)}: keywords"
        raw = data.pop("keywords", None)
        if raw is None:
            self.problems.append(f"{where}: missing (free text that matches one gets /safety)")
            return ()
        try:
            return _SAFETY_KEYWORDS.validate_python(raw)
        except ValidationError as exc:
            self.problems.extend(f"{where}{_describe(error)}" for error in exc.errors())
            return ()

    def _load_sources(self) -> dict[str, str]:
        """The article points: key -> a one-line description of what the article says."""
        file = self._file(SOURCES_FILE)
        data = self._read_mapping(SOURCES_FILE, "article point key to a one-line description")
        if data is None:
            return {}
        sources: dict[str, str] = {}
        for key, description in data.items():
            where = f"{file}: source {key!r}"
            if not _is_slug(key):
                self.problems.append(f"{where}: a key is a short slug such as 'no-negation'")
            elif key == OWN_SOURCE:
                self.problems.append(f"{where}: reserved for Closer's own items, do not list it")
            elif not isinstance(description, str) or not description.strip():
                self.problems.append(f"{where}: expected a one-line description")
            elif "\n" in description.strip():
                self.problems.append(f"{where}: the description must be one line")
            else:
                sources[key] = description.strip()
                continue
            self.incomplete.add(SOURCES_FILE)
        return sources

    def _load_helplines(self) -> tuple[dict[str, CountryHelplines], CrisisDirectory | None]:
        """crisis_lines.yaml: the directory, and per country a crisis and a dv line."""
        file = self._file(CRISIS_FILE)
        data = self._read_mapping(CRISIS_FILE, "sections: directory and countries")
        if data is None:
            return {}, None
        for key in data:
            if key not in ("directory", "countries"):
                self.problems.append(
                    f"{file}: {key!r}: unknown section (known: directory, countries)"
                )
        directory = None
        if "directory" not in data:
            self.problems.append(
                f"{file}: directory: missing (shown to everyone, and the "
                "only pointer for countries not listed)"
            )
        else:
            directory = self._validate(CrisisDirectory, data["directory"], f"{file}: directory")
        countries: dict[str, CountryHelplines] = {}
        raw_countries = data.get("countries")
        if not isinstance(raw_countries, dict) or not raw_countries:
            self.problems.append(f"{file}: countries: expected a mapping of country code to lines")
            return countries, directory
        for code, raw in raw_countries.items():
            where = f"{file}: country {code!r}"
            if isinstance(raw, dict):
                raw = {"country_code": code, **raw}
            entry = self._validate(CountryHelplines, raw, where)
            if entry is not None:
                countries[entry.country_code] = entry
        return countries, directory

    # -- cross-checks --------------------------------------------------------------------------

    def _check_unique_ids(
        self, entries: list[_Entry], polls: list[tuple[str, PollQuestion]]
    ) -> None:
        polls_file = self._file(POLLS_FILE)
        first_file: dict[str, str] = {}
        for file, where, item_id in [
            *((e.file, e.where, e.item.id) for e in entries),
            *((polls_file, where, poll.id) for where, poll in polls),
        ]:
            if item_id in first_file:
                self.problems.append(
                    f"{where}: id: duplicate, already used in {first_file[item_id]}"
                )
            else:
                first_file[item_id] = file

    def _check_steps(self, steps: list[_Entry]) -> None:
        file = self._file(ITEM_FILES["step"])
        by_number: dict[int, _Entry] = {}
        for entry in steps:
            number = entry.item.step
            if number in by_number:
                first = by_number[number].item.id
                self.problems.append(f"{entry.where}: step: number {number} is already {first!r}")
            else:
                by_number[number] = entry
        for number in range(1, STEP_COUNT + 1):
            if number not in by_number and ITEM_FILES["step"] not in self.incomplete:
                self.problems.append(f"{file}: step {number} is missing")

    def _check_polls(self, polls: list[PollQuestion]) -> None:
        """Every measure is asked weekly and at baseline, on one scale; something rotates."""
        if POLLS_FILE in self.incomplete:
            return
        file = self._file(POLLS_FILE)
        for measure in MEASURES:
            for use in ("weekly", "baseline"):
                found = [p for p in polls if p.use == use and p.measure == measure]
                if len(found) != 1:
                    self.problems.append(
                        f"{file}: measure {measure!r}: needs exactly one {use} question, "
                        f"found {len(found)}"
                    )
            scales = {p.scores for p in polls if p.measure == measure and p.use != "retired"}
            if len(scales) > 1:
                self.problems.append(
                    f"{file}: measure {measure!r}: its weekly and baseline questions must "
                    "score their options alike, or the trend compares different scales"
                )
        if not any(p.use == "rotating" for p in polls):
            self.problems.append(f"{file}: no rotating question (one is asked each week)")

    def _check_links(self, entries: Mapping[Kind, list[_Entry]]) -> None:
        step_numbers = {e.item.step for e in entries["step"]}
        if ITEM_FILES["step"] in self.incomplete:
            step_numbers = set(range(1, STEP_COUNT + 1))
        for kind in ("variant", "tip", "insight", "script"):
            for entry in entries[kind]:
                if entry.item.step not in step_numbers:
                    self.problems.append(
                        f"{entry.where}: step: links to step {entry.item.step}, "
                        "which does not exist"
                    )
        if ITEM_FILES["tip"] in self.incomplete:
            return
        supported = {e.item.step for e in entries["tip"] if e.item.supportive}
        for number in sorted(step_numbers - supported):
            self.problems.append(
                f"{self._file(ITEM_FILES['tip'])}: step {number} has no supportive tip "
                "(one is sent after a conversation went hard)"
            )

    def _check_variants(self, entries: Mapping[Kind, list[_Entry]]) -> None:
        if ITEM_FILES["step"] in self.incomplete:
            return
        steps = {e.item.id: e.item.step for e in entries["step"]}
        for entry in entries["variant"]:
            target = entry.item.variant_of
            if target not in steps:
                self.problems.append(
                    f"{entry.where}: variant_of: {target!r} is not the id of a step"
                )
            elif steps[target] != entry.item.step:
                self.problems.append(
                    f"{entry.where}: step: {entry.item.step}, but {target!r} is step "
                    f"{steps[target]}"
                )

    def _check_moments(self, scripts: list[_Entry]) -> None:
        file = self._file(ITEM_FILES["script"])
        seen: dict[str, str] = {}
        for entry in scripts:
            moment = entry.item.moment
            if moment is None:
                continue
            if moment in seen:
                self.problems.append(
                    f"{entry.where}: moment: {moment!r} already has its script {seen[moment]!r}"
                )
            else:
                seen[moment] = entry.item.id
        if ITEM_FILES["script"] in self.incomplete:
            return
        for moment in MOMENTS:
            if moment not in seen:
                self.problems.append(f"{file}: the moment {moment!r} has no script")

    def _check_sources(self, items: list[_Entry], sources: Mapping[str, str]) -> None:
        if SOURCES_FILE in self.incomplete:
            return
        carried: set[str] = set()
        for entry in items:
            source = entry.item.source
            if source != OWN_SOURCE and source not in sources:
                self.problems.append(
                    f"{entry.where}: source: {source!r} is not an article point in "
                    f"{SOURCES_FILE} (or {OWN_SOURCE!r} for Closer's own)"
                )
            carried.add(source)
        if self.incomplete & set(ITEM_FILES.values()):
            return  # a point may be "uncarried" only because its item failed to load
        for key in sources:
            if key not in carried:
                self.problems.append(
                    f"{self._file(SOURCES_FILE)}: source {key!r}: no item carries this "
                    "article point"
                )

    def _check_rendered_lengths(self, entries: list[_Entry]) -> None:
        for entry in entries:
            length = visible_length(render_item(entry.item))
            if not 1 <= length <= MESSAGE_LIMIT:
                self.problems.append(
                    f"{entry.where}: rendered to {length} characters, "
                    f"Telegram allows 1 to {MESSAGE_LIMIT}"
                )


def _is_slug(value: object) -> bool:
    try:
        _SLUG.validate_python(value)
    except ValidationError:
        return False
    return True


def _describe(error: ErrorDetails) -> str:
    """One pydantic error as "field: reason", e.g. "body: field required"."""
    location = ""
    for part in error["loc"]:
        location += f"[{part}]" if isinstance(part, int) else f".{part}" if location else str(part)
    message = error["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    return f"{location}: {message}" if location else message

"""The texts of Closer's reports (look back, progress caption, chart labels, CSV headers).

They live in ``content/data/report_texts.yaml``, apart from ``texts.yaml``, and are checked like
the others: every key present, no unknown key, exactly the placeholders listed here, and within
Telegram's limits. ``load_report_texts()`` raises ``ContentError`` listing every problem.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

import yaml

from content.errors import ContentError
from content.models import MESSAGE_LIMIT
from content.render import placeholders, plural_form, render_template, visible_length
from content.yamlfile import load_yaml

REPORT_TEXTS_FILE = "report_texts.yaml"
# A photo caption's limit (Bot API sendPhoto): the caption keys must leave room for the facts.
CAPTION_LIMIT = 1024

# Every key and the placeholders it must use.
REPORT_TEXT_PLACEHOLDERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        key: frozenset(names)
        for key, names in {
            "baseline_intro": (),
            "baseline_go": (),
            "baseline_skip": (),
            "measure_connected": (),
            "measure_confidence": (),
            "measure_wellbeing": (),
            "outcome_went_well": (),
            "outcome_mixed": (),
            "outcome_hard": (),
            "count_went_well": ("count",),
            "count_mixed": ("count",),
            "count_hard": ("count",),
            "lookback_title": (),
            "lookback_logs": ("count", "breakdown"),
            "lookback_logs_one": ("breakdown",),
            "lookback_logs_none": (),
            "lookback_since_last_week": ("changes",),
            "lookback_since_baseline": ("changes",),
            "lookback_no_answers": (),
            "change_up": ("measure", "before", "after", "top"),
            "change_down": ("measure", "before", "after", "top"),
            "change_same": ("measure", "after", "top"),
            "lookback_try": ("suggestion",),
            "try_for_you": (),
            "try_after_hard": (),
            "try_small_start": (),
            "try_confidence": (),
            "try_keep_going": (),
            "caption_empty": (),
            "caption_header": ("weeks",),
            "caption_header_one": (),
            "caption_conversations": ("total", "breakdown"),
            "caption_conversations_none": (),
            "caption_measures": ("values",),
            "caption_measure": ("measure", "latest", "top", "first"),
            "caption_measure_one": ("measure", "latest", "top"),
            "caption_consistency": ("percent",),
            "chart_title": (),
            "chart_measures": ("top",),
            "chart_conversations": (),
            "chart_consistency": (),
            "csv_date": (),
            "csv_time": ("zone",),
            "csv_offset": (),
            "csv_outcome": (),
            "csv_step": (),
            "csv_item": (),
            "csv_note": (),
            "export_about": (),
        }.items()
    }
)
REPORT_TEXT_KEYS: tuple[str, ...] = tuple(REPORT_TEXT_PLACEHOLDERS)


@dataclass(frozen=True, slots=True)
class ReportTexts:
    """The validated report texts; build them with ``load_report_texts``."""

    texts: Mapping[str, str]
    language: str = "en"
    plurals: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def _template(self, key: str, fmt: Mapping[str, object]) -> str:
        forms = self.plurals.get(key) if self.plurals else None
        return plural_form(self.language, forms, fmt) if forms else self.texts[key]

    def render(self, key: str, /, **fmt: object) -> str:
        """The text as Telegram HTML (escaped), its placeholders filled from ``fmt``."""
        return render_template(self._template(key, fmt), **fmt)

    def plain(self, key: str, /, **fmt: object) -> str:
        """The text as plain, unescaped text (for chart labels and CSV headers)."""
        template = self._template(key, fmt)
        expected, given = placeholders(template), frozenset(fmt)
        if expected != given:
            raise ValueError(f"{key}: placeholders {sorted(expected)}, given {sorted(given)}")
        return template.format_map(fmt)


def load_report_texts(directory: Path | None = None) -> ReportTexts:
    """Load and check ``report_texts.yaml`` from ``directory`` (default: the package's data)."""
    path: Traversable
    if directory is None:
        path = resources.files(__name__.rpartition(".")[0]).joinpath("data", REPORT_TEXTS_FILE)
        label = f"content/data/{REPORT_TEXTS_FILE}"
    else:
        path = directory / REPORT_TEXTS_FILE
        label = str(path)
    problems: list[str] = []
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError([f"{label}: file missing"]) from None
    except yaml.YAMLError as exc:
        raise ContentError([f"{label}: invalid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ContentError([f"{label}: expected a mapping of text key to text"])
    texts: dict[str, str] = {}
    problems.extend(
        f"{label}: text {key!r}: unknown key" for key in data if key not in REPORT_TEXT_KEYS
    )
    for key, allowed in REPORT_TEXT_PLACEHOLDERS.items():
        where = f"{label}: text {key!r}"
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: missing or empty")
            continue
        text = value.strip()
        try:
            names = placeholders(text)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if names != allowed:
            expected = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
            problems.append(f"{where}: placeholders must be exactly: {expected}")
            continue
        limit = CAPTION_LIMIT if key.startswith("caption") else MESSAGE_LIMIT
        if visible_length(render_template(text, **dict.fromkeys(names, ""))) > limit:
            problems.append(f"{where}: longer than {limit} characters")
            continue
        texts[key] = text
    if problems:
        raise ContentError(problems)
    return ReportTexts(MappingProxyType(texts))


@functools.cache
def default_report_texts() -> ReportTexts:
    """The package's own report texts, loaded once on first use (never at import time)."""
    return load_report_texts()

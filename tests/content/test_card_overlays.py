"""The Spanish and Russian card overlays (content/data/locales/<lang>/cards/) keep pace with the
English cards: the same ids in the same order, the same fields a reader sees, the same
/commands, balanced quotes; poll options the same in number and within Telegram's limits.

Nothing renders them yet (the language layer is still to come); this keeps them from drifting.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from content.yamlfile import load_yaml

DATA = Path(__file__).resolve().parents[2] / "content" / "data"
FILES = ("tips", "steps", "insights", "scripts", "variants", "polls")
LANGS = ("es", "ru")
VISIBLE = {"title", "body", "try_this", "quote", "keywords", "question", "options"}
COMMAND = re.compile(r"/[a-z]+\b")


def _load(path: Path) -> list[dict[str, object]]:
    entries = load_yaml(path.read_text(encoding="utf-8"))
    assert isinstance(entries, list)
    return entries


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", FILES)
def test_an_overlay_mirrors_its_english_file(lang: str, name: str) -> None:
    english = _load(DATA / f"{name}.yaml")
    overlay = _load(DATA / "locales" / lang / "cards" / f"{name}.yaml")
    assert [e["id"] for e in overlay] == [e["id"] for e in english]
    for source, translated in zip(english, overlay, strict=True):
        fields = set(translated) - {"id"}
        assert fields == set(source) & VISIBLE, source["id"]
        for field in fields - {"keywords", "options"}:
            text, original = str(translated[field]), str(source[field])
            assert text.strip(), (source["id"], field)
            assert sorted(COMMAND.findall(text)) == sorted(COMMAND.findall(original)), (
                source["id"],
                field,
            )
            assert text.count("«") == text.count("»"), (source["id"], field)
        if "keywords" in fields:
            keywords = translated["keywords"]
            assert isinstance(keywords, list) and 3 <= len(keywords) <= 15, source["id"]
        if "options" in fields:
            options = translated["options"]
            assert isinstance(options, list) and isinstance(source["options"], list)
            assert len(options) == len(source["options"]), source["id"]
            assert all(1 <= len(str(option)) <= 100 for option in options), source["id"]
            assert len(str(translated["question"])) <= 300, source["id"]


def test_the_spanish_cards_read_easily() -> None:
    """Fernández Huerta (textstat) on every Spanish card body and "try this": 60 and up is
    plain Spanish (the English cards are held to grade 8 by Flesch-Kincaid)."""
    import textstat

    textstat.set_lang("es")
    try:
        scores = {}
        for name in FILES[:-1]:
            for entry in _load(DATA / "locales" / "es" / "cards" / f"{name}.yaml"):
                text = f"{entry['body']} {entry.get('try_this') or ''}"
                scores[entry["id"]] = textstat.fernandez_huerta(text)
    finally:
        textstat.set_lang("en")
    assert min(scores.values()) >= 60, sorted(scores.items(), key=lambda kv: kv[1])[:3]
    assert sum(scores.values()) / len(scores) >= 75

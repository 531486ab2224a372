"""report_texts.yaml is checked like texts.yaml: every key, the right placeholders, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from content import ContentError
from content.render import visible_length
from content.report_texts import (
    REPORT_TEXT_KEYS,
    REPORT_TEXT_PLACEHOLDERS,
    ReportTexts,
    default_report_texts,
    load_report_texts,
)
from content.yamlfile import load_yaml
from tests.content.datafiles import DATA_DIR


def test_every_key_is_present_and_renders_within_limits(texts: ReportTexts) -> None:
    assert set(texts.texts) == set(REPORT_TEXT_KEYS)
    for key, names in REPORT_TEXT_PLACEHOLDERS.items():
        rendered = texts.render(key, **dict.fromkeys(names, "x"))
        assert 1 <= visible_length(rendered) <= 700, key
    assert default_report_texts() == texts


def test_placeholders_are_filled_and_escaped(texts: ReportTexts) -> None:
    assert texts.render("lookback_try", suggestion="<b>") == "One thing to try next week: &lt;b&gt;"
    assert texts.plain("lookback_try", suggestion="<b>") == "One thing to try next week: <b>"
    with pytest.raises(ValueError):
        texts.plain("lookback_try")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = load_yaml((DATA_DIR / "report_texts.yaml").read_text(encoding="utf-8"))
    del data["lookback_title"]
    data["change_up"] = "{measure} went up"  # placeholders missing
    data["caption_empty"] = "x" * 1100  # longer than a photo caption
    data["no_such_key"] = "hello"
    (tmp_path / "report_texts.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_report_texts(tmp_path)
    problems = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 4, problems
    assert "'lookback_title': missing" in problems
    assert (
        "'change_up': placeholders must be exactly: {after}, {before}, {measure}, {top}" in problems
    )
    assert "'caption_empty': longer than 1024 characters" in problems
    assert "'no_such_key': unknown key" in problems


def test_a_key_given_twice_is_rejected(tmp_path: Path) -> None:
    text = (DATA_DIR / "report_texts.yaml").read_text(encoding="utf-8")
    (tmp_path / "report_texts.yaml").write_text(
        text + "\nlookback_title: Again\n", encoding="utf-8"
    )
    with pytest.raises(ContentError, match="appears twice"):
        load_report_texts(tmp_path)

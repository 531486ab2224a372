"""The shipped content loads, is complete, and the Library answers lookups."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from dataclasses import FrozenInstanceError
from pathlib import Path

import pydantic
import pytest

from content import (
    MESSAGE_LIMIT,
    STEP_COUNT,
    TEXT_KEYS,
    Item,
    Library,
    load_library,
    render_item,
    summarize,
    visible_length,
)
from content.models import TEXT_PLACEHOLDERS
from tests.content.datafiles import DATA_DIR


def test_package_data_loads_the_same_by_default_and_by_path(library: Library) -> None:
    assert load_library(DATA_DIR) == library


def test_content_has_the_four_steps_and_enough_tips_insights_and_polls(
    library: Library,
) -> None:
    assert [step.step for step in library.steps] == [1, 2, 3, 4]
    assert len(library.tips) >= 12
    assert len(library.insights) >= 6
    assert len(library.polls) >= 3


def test_steps_follow_the_checklist_order(library: Library) -> None:
    titles = [step.title.lower() for step in library.steps]
    assert "conditioning" in titles[0]
    assert "safety" in titles[1]
    assert "five-minute" in titles[2]
    assert "vulnerability" in titles[3]


def test_every_item_and_poll_has_a_unique_slug_id(library: Library) -> None:
    ids = [item.id for item in library.all_items()] + [poll.id for poll in library.polls]
    assert len(ids) == len(set(ids))
    for item_id in ids:
        assert re.fullmatch(r"[a-z0-9_-]{1,40}", item_id), item_id


def test_every_kind_lives_in_its_own_collection(library: Library) -> None:
    assert {item.kind for item in library.steps} == {"step"}
    assert {item.kind for item in library.tips} == {"tip"}
    assert {item.kind for item in library.insights} == {"insight"}


def test_every_tip_and_insight_links_to_an_existing_step(library: Library) -> None:
    step_numbers = {step.step for step in library.steps}
    for item in (*library.tips, *library.insights):
        assert item.step in step_numbers, item.id


def test_every_step_has_a_supportive_tip_for_after_a_hard_conversation(
    library: Library,
) -> None:
    for number in range(1, STEP_COUNT + 1):
        tips = library.supportive_tips(number)
        assert tips, number
        assert all(tip.kind == "tip" and tip.step == number for tip in tips)


def test_every_item_renders_within_telegram_limits(library: Library) -> None:
    for item in library.all_items():
        assert 1 <= visible_length(render_item(item)) <= MESSAGE_LIMIT, item.id


def test_every_poll_fits_telegram_poll_limits(library: Library) -> None:
    for poll in library.polls:
        assert 1 <= len(poll.question) <= 300
        assert 2 <= len(poll.options) <= 10
        assert len(set(poll.options)) == len(poll.options)
        assert all(1 <= len(option) <= 100 for option in poll.options)


def test_every_text_key_is_present_and_renders(library: Library) -> None:
    assert set(library.texts) == set(TEXT_KEYS)
    for key in TEXT_KEYS:
        fmt = dict.fromkeys(TEXT_PLACEHOLDERS[key], "Monday")
        assert 1 <= visible_length(library.render_text(key, **fmt)) <= MESSAGE_LIMIT


def test_item_lookup_finds_every_item_and_rejects_an_unknown_id(library: Library) -> None:
    for item in library.all_items():
        assert library.item(item.id) is item
        assert library.has_item(item.id)
    assert not library.has_item("no-such-item")
    with pytest.raises(KeyError, match="no-such-item"):
        library.item("no-such-item")


def test_poll_and_step_lookup(library: Library) -> None:
    for poll in library.polls:
        assert library.poll(poll.id) is poll
    with pytest.raises(KeyError):
        library.poll("no-such-poll")
    assert library.step(3).id == "five-minute-rule"
    with pytest.raises(KeyError):
        library.step(5)


def test_items_for_step_gives_the_step_first_then_its_tips_and_insights(
    library: Library,
) -> None:
    seen: list[Item] = []
    for number in range(1, STEP_COUNT + 1):
        items = library.items_for_step(number)
        assert items[0] is library.step(number)
        assert all(item.step == number for item in items)
        assert len(items) > 1
        seen.extend(items)
    assert sorted(item.id for item in seen) == sorted(i.id for i in library.all_items())


def test_all_items_lists_steps_tips_insights_then_variants_and_scripts(library: Library) -> None:
    """Steps first and the old kinds before the new, so index-based callers still find them."""
    kinds = [item.kind for item in library.all_items()]
    assert kinds == sorted(kinds, key=["step", "tip", "insight", "variant", "script"].index)
    assert {"variant", "script"} <= set(kinds)


def test_library_and_items_cannot_be_changed(library: Library) -> None:
    with pytest.raises(FrozenInstanceError):
        library.tips = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        library.texts["welcome"] = "changed"  # type: ignore[index]
    with pytest.raises(pydantic.ValidationError):
        library.tips[0].title = "changed"  # type: ignore[misc]


def test_summary_reports_counts_per_kind_and_step_and_the_longest_item(
    library: Library,
) -> None:
    summary = summarize(library)
    assert f"{len(library.tips)} tips" in summary
    assert f"{len(library.insights)} insights" in summary
    assert f"{len(library.polls)} poll questions" in summary
    for step in library.steps:
        assert f"step {step.step} " in summary
    longest = max(visible_length(render_item(item)) for item in library.all_items())
    assert f"{longest} characters" in summary


def test_content_loads_from_a_zipped_package_without_a_filesystem_path(
    tmp_path: Path,
) -> None:
    """importlib.resources is used, so a non-editable or zipped install still finds its data."""
    package_dir = DATA_DIR.parent
    archive = tmp_path / "closer_content.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(package_dir.rglob("*")):
            if path.suffix in {".py", ".yaml"}:
                bundle.write(path, path.relative_to(package_dir.parent).as_posix())
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import content; "
        "assert content.__file__.startswith(sys.argv[1]), content.__file__; "
        "print(len(content.load_library().all_items()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(archive)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(load_library().all_items())

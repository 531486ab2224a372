"""Broken data raises ContentError naming the file, the item and the reason, all at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from content import ContentError, load_library
from tests.content.datafiles import copy_data, entry, read_yaml, write_yaml

Breakage = Callable[[Path], None]


def edit_entry(name: str, entry_id: str, **changes: object) -> Breakage:
    """Set (or, with None, delete) fields on one entry of an items or polls file."""

    def apply(directory: Path) -> None:
        entries = read_yaml(directory, name)
        target = entry(entries, entry_id)
        for field, value in changes.items():
            if value is None:
                del target[field]
            else:
                target[field] = value
        write_yaml(directory, name, entries)

    return apply


def append_entry(name: str, new: dict[str, object]) -> Breakage:
    def apply(directory: Path) -> None:
        write_yaml(directory, name, [*read_yaml(directory, name), new])

    return apply


def drop_entry(name: str, entry_id: str) -> Breakage:
    def apply(directory: Path) -> None:
        entries = read_yaml(directory, name)
        write_yaml(directory, name, [e for e in entries if e.get("id") != entry_id])

    return apply


def write_raw(name: str, text: str) -> Breakage:
    def apply(directory: Path) -> None:
        (directory / name).write_text(text, encoding="utf-8")

    return apply


def edit_text(key: str, value: str | None) -> Breakage:
    def apply(directory: Path) -> None:
        texts = read_yaml(directory, "texts.yaml")
        if value is None:
            del texts[key]
        else:
            texts[key] = value
        write_yaml(directory, "texts.yaml", texts)

    return apply


def edit_mapping(name: str, *path: str, value: object) -> Breakage:
    """Set (or, with None, delete) one value in a mapping file, e.g. crisis_lines.yaml."""

    def apply(directory: Path) -> None:
        data = read_yaml(directory, name)
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        write_yaml(directory, name, data)

    return apply


def delete_file(name: str) -> Breakage:
    def apply(directory: Path) -> None:
        (directory / name).unlink()

    return apply


TIP = {"id": "new-tip", "title": "New", "body": "Words.", "step": 1, "source": "closer"}

CASES: dict[str, tuple[Breakage, list[str]]] = {
    "missing field": (
        edit_entry("tips.yaml", "no-negation", body=None),
        ["tips.yaml: item 'no-negation': body: field required"],
    ),
    "duplicate id across files": (
        append_entry("insights.yaml", {**TIP, "id": "five-minute-rule"}),
        ["insights.yaml: item 'five-minute-rule': id: duplicate", "steps.yaml"],
    ),
    "duplicate id within a file": (
        append_entry("tips.yaml", {**TIP, "id": "no-negation"}),
        ["tips.yaml: item 'no-negation': id: duplicate, already used in", "tips.yaml"],
    ),
    "tip linked to step 9": (
        edit_entry("tips.yaml", "curiosity-not-criticism", step=9),
        ["tips.yaml: item 'curiosity-not-criticism': step: input should be less than or equal"],
    ),
    "over-long poll option": (
        edit_entry("polls.yaml", "how-are-you", options=["x" * 101, "Fine"]),
        ["polls.yaml: item 'how-are-you': options[0]: 101 characters, the limit is 100"],
    ),
    "too few poll options": (
        edit_entry("polls.yaml", "how-are-you", options=["Fine"]),
        ["polls.yaml: item 'how-are-you': options: "],
    ),
    "repeated poll option": (
        edit_entry("polls.yaml", "how-are-you", options=["Fine", "fine"]),
        ["polls.yaml: item 'how-are-you': options: 'fine' appears more than once"],
    ),
    "unquoted yes in YAML becomes a boolean": (
        write_raw("polls.yaml", "- id: yes-no\n  question: Q?\n  options: [yes, no]\n"),
        ["polls.yaml: item 'yes-no': options[0]: input should be a valid string"],
    ),
    "over-long poll question": (
        edit_entry("polls.yaml", "how-are-you", question="?" * 301),
        ["polls.yaml: item 'how-are-you': question: 301 characters, the limit is 300"],
    ),
    "invalid YAML": (
        write_raw("tips.yaml", "- id: no-negation\n  title: [unclosed\n"),
        ["tips.yaml: invalid YAML at line"],
    ),
    "key given twice": (
        write_raw("insights.yaml", "- id: a\n  title: A\n  title: B\n  body: C\n  step: 1\n"),
        ["insights.yaml: invalid YAML at line 3", "'title' appears twice"],
    ),
    "missing id": (
        edit_entry("tips.yaml", "sideways-questions", id=None),
        ["tips.yaml: item #4: id: field required"],
    ),
    "id is not a slug": (
        edit_entry("tips.yaml", "sideways-questions", id="Sideways Questions!"),
        ["tips.yaml: item 'Sideways Questions!': id: string should match pattern"],
    ),
    "quote without expert": (
        edit_entry("tips.yaml", "how-to-respond", quote="something said"),
        ["tips.yaml: item 'how-to-respond': quote: a quote needs an expert"],
    ),
    "expert the source does not quote": (
        edit_entry("tips.yaml", "no-negation", expert="Someone Else"),
        ["tips.yaml: item 'no-negation': expert: input should be"],
    ),
    "unknown field": (
        edit_entry("insights.yaml", "man-up", colour="blue"),
        ["insights.yaml: item 'man-up': colour: extra inputs are not permitted"],
    ),
    "step number as text": (
        edit_entry("tips.yaml", "no-negation", step="2"),
        ["tips.yaml: item 'no-negation': step: input should be a valid integer"],
    ),
    "wrong kind in a file": (
        edit_entry("tips.yaml", "no-negation", kind="insight"),
        ["tips.yaml: item 'no-negation': kind: tips.yaml holds only 'tip' items"],
    ),
    "supportive insight": (
        edit_entry("insights.yaml", "man-up", supportive=True),
        ["insights.yaml: item 'man-up': supportive: only tips can be supportive"],
    ),
    "missing step": (
        drop_entry("steps.yaml", "five-minute-rule"),
        [
            "steps.yaml: step 3 is missing",
            "tips.yaml: item 'how-to-respond': step: links to step 3, which does not exist",
        ],
    ),
    "step number used twice": (
        edit_entry("steps.yaml", "go-first", step=1),
        ["steps.yaml: item 'go-first': step: number 1 is already", "steps.yaml: step 4 is missing"],
    ),
    "no supportive tip for a step": (
        edit_entry("tips.yaml", "when-he-did-not-share-back", supportive=False),
        ["tips.yaml: step 4 has no supportive tip"],
    ),
    "rendered item over Telegram's limit": (
        edit_entry("insights.yaml", "man-up", body="word " * 900),
        ["insights.yaml: item 'man-up': rendered to", "Telegram allows 1 to 4096"],
    ),
    "missing text": (
        edit_text("welcome", None),
        ["texts.yaml: text 'welcome': missing"],
    ),
    "unknown text key": (
        edit_text("welcom", "Hi"),
        ["texts.yaml: text 'welcom': unknown key"],
    ),
    "text with a placeholder nobody fills": (
        edit_text("help", "Hello {name}"),
        ["texts.yaml: text 'help': placeholders must be exactly: none"],
    ),
    "text with a malformed placeholder": (
        edit_text("paused", "Paused until {until.year}"),
        ["texts.yaml: text 'paused': placeholder {until.year} must be a plain {name}"],
    ),
    "over-long text": (
        edit_text("about", "a" * 4097),
        ["texts.yaml: text 'about': 4097 characters, Telegram allows 4096"],
    ),
    "missing file": (
        delete_file("polls.yaml"),
        ["polls.yaml: file missing"],
    ),
    "top level is not a list": (
        write_raw("tips.yaml", "no-negation: {}\n"),
        ["tips.yaml: expected a list of entries at the top level"],
    ),
    # -- issue 11: sources, variants, scripts, safety and crisis lines --
    "source missing": (
        edit_entry("tips.yaml", "no-negation", source=None),
        ["tips.yaml: item 'no-negation': source: field required"],
    ),
    "unknown source key": (
        edit_entry("tips.yaml", "no-negation", source="no-such-point"),
        ["tips.yaml: item 'no-negation': source: 'no-such-point' is not an article point"],
    ),
    "article point no item carries": (
        edit_mapping("sources.yaml", "new-point", value="A point nobody wrote about."),
        ["sources.yaml: source 'new-point': no item carries this article point"],
    ),
    "closer listed as an article point": (
        edit_mapping("sources.yaml", "closer", value="Our own."),
        ["sources.yaml: source 'closer': reserved for Closer's own items"],
    ),
    "article point with a two-line description": (
        edit_mapping("sources.yaml", "man-up", value="One.\nTwo."),
        ["sources.yaml: source 'man-up': the description must be one line"],
    ),
    "variant without variant_of": (
        edit_entry("variants.yaml", "safety-recap", variant_of=None),
        ["variants.yaml: item 'safety-recap': variant_of: a variant names the step"],
    ),
    "variant_of on a tip": (
        edit_entry("tips.yaml", "no-negation", variant_of="safety-before-closeness"),
        ["tips.yaml: item 'no-negation': variant_of: only variants have one"],
    ),
    "variant of a tip": (
        edit_entry("variants.yaml", "safety-recap", variant_of="no-negation"),
        ["variants.yaml: item 'safety-recap': variant_of: 'no-negation' is not the id of a step"],
    ),
    "variant on another step's number": (
        edit_entry("variants.yaml", "safety-recap", step=3),
        ["variants.yaml: item 'safety-recap': step: 3, but 'safety-before-closeness' is step 2"],
    ),
    "moment on a tip": (
        edit_entry("tips.yaml", "no-negation", moment="shut-down"),
        ["tips.yaml: item 'no-negation': moment: only scripts have one"],
    ),
    "two scripts for one moment": (
        edit_entry("scripts.yaml", "script-he-snapped", moment="shut-down"),
        [
            "scripts.yaml: item 'script-he-snapped': moment: 'shut-down' already has its "
            "script 'now-he-shut-down'"
        ],
    ),
    "a moment with no script": (
        edit_entry("scripts.yaml", "now-he-says-fine", moment=None),
        ["scripts.yaml: the moment 'says-fine' has no script"],
    ),
    "unknown moment": (
        edit_entry("scripts.yaml", "now-he-says-fine", moment="crying"),
        ["scripts.yaml: item 'now-he-says-fine': moment: input should be"],
    ),
    "keyword in capitals": (
        edit_entry("scripts.yaml", "now-he-shut-down", keywords=["Shut Down"]),
        ["scripts.yaml: item 'now-he-shut-down': keywords[0]: string should match pattern"],
    ),
    "crisis line with no number": (
        edit_mapping("crisis_lines.yaml", "countries", "GB", "crisis", "phone", value=None),
        ["crisis_lines.yaml: country 'GB': crisis: phone: a line needs a phone or a text number"],
    ),
    "crisis line without its source": (
        edit_mapping("crisis_lines.yaml", "countries", "GB", "crisis", "source", value=None),
        [
            "crisis_lines.yaml: country 'GB': crisis: source: missing; every line names the page "
            "its number was checked against (source) and the day it was checked"
        ],
    ),
    "domestic abuse line without the day it was checked": (
        edit_mapping("crisis_lines.yaml", "countries", "US", "dv", "checked", value=None),
        ["crisis_lines.yaml: country 'US': dv: checked: missing; every line names the page"],
    ),
    "line without source or checked": (
        write_raw(
            "crisis_lines.yaml",
            "directory: {name: D, url: 'https://d', source: 'https://d'}\n"
            "countries:\n  FR:\n    country: France\n    crisis: {name: N, phone: '1', url: "
            "'https://n'}\n    dv: null\n",
        ),
        ["crisis_lines.yaml: country 'FR': crisis: source and checked: missing"],
    ),
    "checked that is not a date": (
        edit_mapping(
            "crisis_lines.yaml", "countries", "GB", "dv", "checked", value="last December"
        ),
        ["crisis_lines.yaml: country 'GB': dv.checked: input should be a valid date"],
    ),
    "country without its dv key": (
        edit_mapping("crisis_lines.yaml", "countries", "CA", "dv", value=None),
        [
            "crisis_lines.yaml: country 'CA': dv: missing; write `dv: null` with a comment "
            "where no line could be verified"
        ],
    ),
    "country with no line at all": (
        write_raw(
            "crisis_lines.yaml",
            "directory: {name: D, url: 'https://d', source: 'https://d'}\n"
            "countries:\n  FR: {country: France, crisis: null, dv: null}\n",
        ),
        ["crisis_lines.yaml: country 'FR': crisis: a country with no line at all is left to"],
    ),
    "a word to text but no number to text it to": (
        edit_mapping("crisis_lines.yaml", "countries", "GB", "dv", "text_word", value="HELP"),
        ["crisis_lines.yaml: country 'GB': dv: text_word: only a line with a text number"],
    ),
    "crisis line over plain http": (
        edit_mapping(
            "crisis_lines.yaml", "countries", "GB", "crisis", "url", value="http://example.org"
        ),
        ["crisis_lines.yaml: country 'GB': crisis.url: string should match pattern"],
    ),
    "lines under the old section name": (
        write_raw(
            "crisis_lines.yaml",
            "directory: {name: D, url: 'https://d', source: 'https://d'}\n"
            "lines:\n  FR: {country: France, name: N, phone: '1', url: 'https://n', "
            "source: 'https://n'}\n",
        ),
        [
            "crisis_lines.yaml: 'lines': unknown section (known: directory, countries)",
            "crisis_lines.yaml: countries: expected a mapping of country code to lines",
        ],
    ),
    "country under a three-letter code": (
        edit_mapping(
            "crisis_lines.yaml",
            "countries",
            "GBR",
            value={
                "country": "x",
                "crisis": {
                    "name": "y",
                    "phone": "1",
                    "source": "https://a",
                    "checked": "2026-12-07",
                },
                "dv": None,
            },
        ),
        ["crisis_lines.yaml: country 'GBR': country_code: string should match pattern"],
    ),
    "bare NO in YAML becomes false": (
        write_raw(
            "crisis_lines.yaml",
            "directory: {name: D, url: 'https://d', source: 'https://d'}\n"
            "countries:\n  NO: {country: Norway, dv: null, crisis: {name: N, phone: '1', "
            "source: 'https://n', checked: 2026-12-07}}\n",
        ),
        ["crisis_lines.yaml: country False: country_code: input should be a valid string"],
    ),
    "crisis directory missing": (
        edit_mapping("crisis_lines.yaml", "directory", value=None),
        ["crisis_lines.yaml: directory: missing"],
    ),
    "safety text missing": (
        edit_mapping("safety.yaml", "self_harm", value=None),
        ["safety.yaml: text 'self_harm': missing"],
    ),
    "safety keywords missing": (
        edit_mapping("safety.yaml", "keywords", value=None),
        ["safety.yaml: keywords: missing"],
    ),
    "safety keyword in capitals": (
        edit_mapping("safety.yaml", "keywords", value=["Suicide"]),
        ["safety.yaml: keywords[0]: string should match pattern"],
    ),
    "crisis line text that forgets a placeholder": (
        edit_mapping("safety.yaml", "crisis_line", value="Call {name}."),
        [
            "safety.yaml: text 'crisis_line': placeholders must be exactly: "
            "{contact}, {country}, {name}"
        ],
    ),
    "domestic abuse line text without its contact": (
        edit_mapping("safety.yaml", "dv_line", value="Call {name}."),
        ["safety.yaml: text 'dv_line': placeholders must be exactly: {contact}, {name}"],
    ),
    "no sentence for a country whose domestic abuse line could not be checked": (
        edit_mapping("safety.yaml", "dv_unverified", value=None),
        ["safety.yaml: text 'dv_unverified': missing"],
    ),
    "timer text without its minutes": (
        edit_text("listening_timer_left", "Almost done."),
        ["texts.yaml: text 'listening_timer_left': placeholders must be exactly: {minutes}"],
    ),
    "text with a bold tag never closed": (
        edit_text("pause_question", "<b>Take a break? For how long?"),
        ["texts.yaml: text 'pause_question': <b> is never closed"],
    ),
    "text with a closing tag out of order": (
        edit_text("quiet_question", "<b>Quiet <i>hours</b></i>"),
        ["texts.yaml: text 'quiet_question': </b> without its opening tag"],
    ),
    "text with a tag inside itself": (
        edit_text("settings_menu", "<b>Your <b>settings</b></b> {summary}"),
        ["texts.yaml: text 'settings_menu': <b> inside <b>"],
    ),
    "item is not a mapping": (
        append_entry("insights.yaml", "just a sentence"),  # type: ignore[arg-type]
        ["insights.yaml: item #18: expected a mapping of fields"],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_broken_content_is_reported_with_file_item_and_reason(tmp_path: Path, case: str) -> None:
    breakage, expected = CASES[case]
    directory = copy_data(tmp_path)
    breakage(directory)
    with pytest.raises(ContentError) as caught:
        load_library(directory)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    for problem in caught.value.problems:
        assert problem.startswith(f"{directory}/"), problem


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    directory = copy_data(tmp_path)
    edit_entry("tips.yaml", "no-negation", body=None, title=None)(directory)
    edit_entry("polls.yaml", "how-are-you", options=["Fine"])(directory)
    edit_text("welcome", None)(directory)
    with pytest.raises(ContentError) as caught:
        load_library(directory)
    problems = caught.value.problems
    assert len(problems) == 4, problems
    assert str(caught.value).startswith("4 content problems:\n- ")


def test_an_untouched_copy_loads(tmp_path: Path) -> None:
    assert load_library(copy_data(tmp_path)) == load_library()


def test_a_broken_file_is_reported_once_not_echoed_by_the_cross_checks(tmp_path: Path) -> None:
    directory = copy_data(tmp_path)
    write_raw("tips.yaml", "- id: [unclosed\n")(directory)
    edit_entry("steps.yaml", "five-minute-rule", body=None)(directory)
    with pytest.raises(ContentError) as caught:
        load_library(directory)
    assert [p.removeprefix(f"{directory}/") for p in caught.value.problems] == [
        "steps.yaml: item 'five-minute-rule': body: field required",
        "tips.yaml: invalid YAML at line 2, column 1: did not find expected ',' or ']'",
    ]

"""No user-facing sentence is written in Python under bot/handlers or bot/render, in
bot/keyboards.py or in
bot/nudges.py.

Sentences live in content/data/texts.yaml (rendered with ``library.render_text``); only short
labels stay beside their keyboards (button labels, 1-3 word toasts like "Saved ✓"). This scans
every string constant in those modules and fails on one that reads like a sentence.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [
    *sorted((ROOT / "bot" / "handlers").glob("*.py")),
    *sorted((ROOT / "bot" / "render").glob("*.py")),
    ROOT / "bot" / "keyboards.py",
    ROOT / "bot" / "nudges.py",
]

# Sentence punctuation after a word (or a closing bracket or quote), then a space or the end.
_SENTENCE_END = re.compile(r"[\w)”\"'][.!?](\s|$)")
_MARKUP = re.compile(r"</?(b|i|u|s|a|code|pre)\b")
MIN_WORDS = 3
LONG_LABEL = 40  # characters: a button label or a toast longer than this is a sentence anyway

# Assignments whose strings are labels by nature, with the reason.
ALLOWED_ASSIGNMENTS = {
    # Telegram's "/" command menu (setMyCommands): a short description beside each command,
    # shown in the phone's menu, never as a message.
    "COMMANDS",
}
# Individual strings that look like sentences but are not user-facing, with the reason.
ALLOWED_STRINGS: dict[str, str] = {}


def _docstrings_and_allowed(tree: ast.Module) -> set[int]:
    """ids of string constants that are not said to the user: docstrings (and attribute
    docstrings: any bare string statement) and the strings of the allowed assignments."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            skipped.add(id(node.value))
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id in ALLOWED_ASSIGNMENTS for t in targets):
            assert isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
            skipped.update(id(inner) for inner in ast.walk(node.value))
    return skipped


def sentence_like(text: str) -> bool:
    """Whether a string constant reads like something said to the user, not a label."""
    words = text.split()
    if len(words) < MIN_WORDS:
        return False
    return bool(
        _SENTENCE_END.search(text) or _MARKUP.search(text) or len(text.strip()) > LONG_LABEL
    )


def sentences_in(source: str) -> list[tuple[int, str]]:
    """(line, text) of every sentence-like string constant in a module's source."""
    tree = ast.parse(source)
    skipped = _docstrings_and_allowed(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in skipped or node.value in ALLOWED_STRINGS:
            continue
        if sentence_like(node.value):
            found.append((node.lineno, node.value))
    return sorted(found)


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sentence_is_written_in_python(path: Path) -> None:
    found = sentences_in(path.read_text(encoding="utf-8"))
    assert found == [], (
        f"{path.relative_to(ROOT)}: move these into content/data/texts.yaml "
        f"(a TextKey in content/models.py) and call library.render_text: {found}"
    )


def test_the_scan_catches_a_sentence_in_each_form_it_takes() -> None:
    source = '''
"""A docstring is fine. It says things."""
LABEL = "✅ Tried it"
TOAST = "Saved ✓"
COMMANDS = (("now", "In a conversation right now? Help for the moment"),)

async def handler(update, context):
    """So is this one."""
    await reply(update, "Let's get you set up first: send /start.")
    await reply(update, f"Paused until {until}. Take care.")
    await reply(update, "<b>Take a break</b> for how long")
    await answer(query, "Sorry that button does not work any more and never will again")
    log.info("press_refused", reason="not_own_nudge")
'''
    found = [text for _line, text in sentences_in(source)]
    assert found == [
        "Let's get you set up first: send /start.",
        ". Take care.",
        "<b>Take a break</b> for how long",
        "Sorry that button does not work any more and never will again",
    ]


def test_the_scan_looks_at_every_handler_module() -> None:
    names = {p.name for p in SCANNED}
    assert {"setup.py", "journal.py", "nudging.py", "pausing.py", "nudges.py"} <= names
    assert len(SCANNED) >= 12

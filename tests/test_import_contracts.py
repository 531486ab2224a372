"""The import contracts in pyproject.toml ([tool.importlinter]) hold, and fail when broken.

Each broken case runs ``lint-imports`` on a copy of the packages with one module added that
crosses a line; the copy is what it reads (the offending module is named in its report).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "scheduler", "content", "migrations")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_tree(folder: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, folder / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")


def test_the_real_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        (
            "scheduler/leak.py",
            "from bot.storage.db import Database\n",
            "scheduler/ knows no Telegram, no database and none of bot/ or content/ BROKEN",
        ),
        (
            "scheduler/leak.py",
            "import telegram\n",
            "scheduler/ knows no Telegram, no database and none of bot/ or content/ BROKEN",
        ),
        (
            "scheduler/leak.py",
            "import sqlalchemy\n",
            "scheduler/ knows no Telegram, no database and none of bot/ or content/ BROKEN",
        ),
        ("content/leak.py", "import scheduler.policy\n", "content/ imports nothing of ours BROKEN"),
        (
            "bot/storage/leak.py",
            "from bot.handlers import common\n",
            "bot.storage knows no Telegram and no handler BROKEN",
        ),
        (
            "bot/usecases/leak.py",
            "import telegram\n",
            "bot.usecases knows no Telegram and no handler BROKEN",
        ),
        (
            "bot/usecases/leak.py",
            "from bot.handlers import common\n",
            "bot.usecases knows no Telegram and no handler BROKEN",
        ),
        (
            "bot/handlers/info.py",
            "from bot.handlers import moments\n",
            "No feature module imports another (they meet in bot.handlers.routing) BROKEN",
        ),
        (
            "bot/outreach.py",
            "from bot.handlers import checkins\n",
            "What the bot sends on its own imports no handler BROKEN",
        ),
        (
            "bot/handlers/leak.py",
            "from bot.storage.uow import Transactions\n",
            "Handlers open no transaction: they call use cases BROKEN",
        ),
        (
            "bot/handlers/leak.py",
            "import sqlalchemy\n",
            "Handlers open no transaction: they call use cases BROKEN",
        ),
        (
            "scheduler/leak.py",
            "import migrations\n",
            "Top-level packages in layers: no cycles BROKEN",
        ),
    ],
)
def test_a_module_crossing_a_line_breaks_its_contract(
    tmp_path: Path, module: str, source: str, contract: str
) -> None:
    copy_tree(tmp_path)
    (tmp_path / module).write_text(source)
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert contract in result.stdout, result.stdout
    offender = module.removesuffix(".py").replace("/", ".")
    assert offender in result.stdout, "the report names the module that crossed the line"

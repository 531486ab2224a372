"""The `closer` command as a user runs it: a real subprocess in an empty folder.

Each run gets an environment without any of Closer's variables and a working folder with no
`.env`, so what the test sets is all the command sees.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.storage.migrate import alembic_config
from content import load_library
from tests.processes import Run, run
from tests.test_config import environment_without_settings

VALID_TOKEN = "7012345678:AAE-closer_test_token_0123456789abcdefgh"
pytestmark = pytest.mark.slow  # every test here runs `closer` in a process of its own

TIMEOUT = 30.0  # a hang guard only; every run here takes about a second


def run_closer(cwd: Path, *args: str, **settings: str) -> Run:
    return run(cwd, *args, env=environment_without_settings(**settings), timeout=TIMEOUT)


def assert_one_line_config_error(run: Run) -> str:
    """Exit 2, nothing on stdout, one `closer: ...` line on stderr and no traceback."""
    assert run.returncode == 2, run
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("closer: ")
    return lines[0]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty working folder: no `.env`, no `data/`."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


# -- closer run: configuration problems -----------------------------------------------------


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
def test_run_without_token_explains_in_one_line_and_exits_2(
    workdir: Path, token: str | None
) -> None:
    settings = {} if token is None else {"TELEGRAM_BOT_TOKEN": token}
    line = assert_one_line_config_error(run_closer(workdir, "run", **settings))
    assert "TELEGRAM_BOT_TOKEN" in line
    assert "@BotFather" in line
    assert ".env" in line


def test_missing_token_hint_names_only_commands_that_exist(workdir: Path) -> None:
    line = assert_one_line_config_error(run_closer(workdir, "run"))
    suggested = re.findall(r"`closer ([a-z][a-z-]*)", line)
    for command in suggested:
        help_run = run_closer(workdir, command, "--help")
        assert help_run.returncode == 0, f"`closer {command}` does not exist: {help_run.stderr}"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "123456:tooshort",
        "abcdef:AAE-closer_test_token_0123456789abcdefgh",
        "7012345678:AAE closer test token 0123456789abcdefgh",
    ],
)
def test_run_with_malformed_token_exits_2_without_echoing_it(workdir: Path, token: str) -> None:
    run = run_closer(workdir, "run", TELEGRAM_BOT_TOKEN=token)
    line = assert_one_line_config_error(run)
    assert "TELEGRAM_BOT_TOKEN" in line
    assert "@BotFather" in line
    assert token not in run.output
    assert token.split(":")[-1] not in run.output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOG_LEVEL", "LOUD"),
        ("LOG_LEVEL", "5"),
        ("TELEGRAM_BASE_URL", "ftp://example.org"),
        ("TELEGRAM_BASE_URL", "not a url"),
        ("ADMIN_IDS", "1, two"),
    ],
)
def test_run_with_malformed_setting_names_it_in_one_line_and_exits_2(
    workdir: Path, name: str, value: str
) -> None:
    run = run_closer(workdir, "run", TELEGRAM_BOT_TOKEN=VALID_TOKEN, **{name: value})
    line = assert_one_line_config_error(run)
    assert name in line
    assert VALID_TOKEN not in run.output


@pytest.mark.parametrize("url", ["nonsense", "mysql://closer@localhost/closer"])
def test_run_with_malformed_database_url_exits_2_in_one_line(workdir: Path, url: str) -> None:
    run = run_closer(workdir, "run", TELEGRAM_BOT_TOKEN=VALID_TOKEN, DATABASE_URL=url)
    assert "DATABASE_URL" in assert_one_line_config_error(run)


def test_migrate_reports_a_configuration_problem_in_one_line(workdir: Path) -> None:
    run = run_closer(workdir, "migrate", LOG_LEVEL="LOUD")
    assert "LOG_LEVEL" in assert_one_line_config_error(run)
    assert not (workdir / "data").exists()


# -- closer content check -------------------------------------------------------------------


def test_content_check_prints_counts_and_exits_0(workdir: Path) -> None:
    run = run_closer(workdir, "content", "check")
    assert run.returncode == 0, run
    assert "Traceback" not in run.output
    library = load_library()
    first = run.stdout.splitlines()[0]
    match = re.match(
        r"Content: (\d+) steps?, (\d+) tips? .*?, (\d+) insights?, (\d+) poll questions?", first
    )
    assert match is not None, run.stdout
    counts = tuple(int(group) for group in match.groups())
    assert counts == (
        len(library.steps),
        len(library.tips),
        len(library.insights),
        len(library.polls),
    )
    assert all(count > 0 for count in counts)
    for step in library.steps:
        assert f"step {step.step} {step.title!r}" in run.stdout


# -- closer migrate -------------------------------------------------------------------------


def _applied_revision(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert len(rows) == 1
    return str(rows[0][0])


def test_migrate_creates_the_sqlite_file_and_prints_the_revision(
    workdir: Path, tmp_path: Path
) -> None:
    database = tmp_path / "x.sqlite3"
    url = f"sqlite:///{database.as_posix()}"
    head = head_revision()

    first = run_closer(workdir, "migrate", DATABASE_URL=url)
    assert first.returncode == 0, first
    assert first.stdout.splitlines() == [f"database is at revision {head}"]
    assert database.is_file()
    assert _applied_revision(database) == head

    again = run_closer(workdir, "migrate", DATABASE_URL=url)
    assert again.returncode == 0, again
    assert again.stdout.splitlines() == [f"database is at revision {head}"]
    assert "Traceback" not in first.stderr + again.stderr
    assert _applied_revision(database) == head


def test_migrate_without_database_url_uses_data_dir(workdir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "store" / "nested"
    run = run_closer(workdir, "migrate", DATA_DIR=str(data_dir))
    assert run.returncode == 0, run
    assert _applied_revision(data_dir / "closer.sqlite3") == head_revision()
    assert not (workdir / "data").exists()


def test_migrate_defaults_to_data_folder_in_working_directory(workdir: Path) -> None:
    run = run_closer(workdir, "migrate")
    assert run.returncode == 0, run
    assert _applied_revision(workdir / "data" / "closer.sqlite3") == head_revision()


def test_migrate_reads_database_url_from_dotenv(workdir: Path, tmp_path: Path) -> None:
    database = tmp_path / "from-dotenv.sqlite3"
    (workdir / ".env").write_text(f"DATABASE_URL=sqlite:///{database.as_posix()}\n")
    run = run_closer(workdir, "migrate")
    assert run.returncode == 0, run
    assert database.is_file()
    assert not (workdir / "data").exists()


def test_unknown_command_is_a_usage_error(workdir: Path) -> None:
    run = run_closer(workdir, "fly")
    assert run.returncode == 2
    assert "usage: closer" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_sqlite_database_path_that_is_a_folder_is_one_line_naming_it(
    workdir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "a-folder.sqlite3"
    folder.mkdir()
    run = run_closer(workdir, "migrate", DATABASE_URL=f"sqlite:///{folder.as_posix()}")
    line = assert_one_line_config_error(run)
    assert "a-folder.sqlite3" in line
    assert "DATABASE_URL" in line

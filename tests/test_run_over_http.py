"""`closer run` end to end: the real command in a subprocess, against the stand-in over HTTP.

The stand-in is served from this test's event loop; the process harness (tests/processes.py)
waits without blocking it, on the stand-in's own signal and the process's output and exit.
"""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.handlers import COMMANDS
from bot.standin import TelegramStandIn, serve_http
from tests.processes import CLOSER, STOP_TIMEOUT, CloserProcess, closer_environment, watch

__all__ = ["CLOSER", "STOP_TIMEOUT", "CloserProcess"]  # imported by other tests

pytestmark = pytest.mark.slow

TOKEN = "7012345678:AAE-closer_test_token_0123456789abcdefgh"
SECRET_PART = TOKEN.split(":", 1)[1]
START_TIMEOUT = 20.0  # imports, migrations and getMe; about 1.5 s normally


@pytest.fixture
async def standin_root() -> AsyncIterator[tuple[TelegramStandIn, str]]:
    standin = watch(TelegramStandIn(TOKEN))
    runner, url_root = await serve_http(standin, "127.0.0.1", 0)
    try:
        yield standin, url_root
    finally:
        await runner.cleanup()


@pytest.fixture
def start_closer(
    tmp_path: Path, standin_root: tuple[TelegramStandIn, str]
) -> Callable[..., CloserProcess]:
    """Start `closer run` pointed at the stand-in (killed at the end of the test if running)."""
    _, url_root = standin_root

    def start(log_level: str = "INFO") -> CloserProcess:
        workdir = tmp_path / "work"
        workdir.mkdir(exist_ok=True)
        env = closer_environment(
            TELEGRAM_BASE_URL=url_root,
            TELEGRAM_BOT_TOKEN=TOKEN,
            DATABASE_URL=f"sqlite:///{(tmp_path / 'closer.sqlite3').as_posix()}",
            LOG_LEVEL=log_level,
        )
        return CloserProcess(
            tmp_path / "stderr.log", env=env, cwd=workdir, stdout_log=tmp_path / "stdout.log"
        )

    return start


def _commands_of(standin: TelegramStandIn) -> list[str]:
    for call in standin.calls:
        if call.method == "setMyCommands" and call.ok:
            raw = call.params["commands"]
            commands = json.loads(raw) if isinstance(raw, str) else raw
            return [str(command["command"]) for command in commands]
    return []


def assert_clean_log(stderr: str) -> None:
    """No token, no traceback, one `key=value` event a line."""
    assert TOKEN not in stderr
    assert SECRET_PART not in stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert lines
    for line in lines:
        assert line.startswith("timestamp='"), f"not a log event line: {line!r}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
async def test_closer_run_answers_start_over_http_and_stops_cleanly(
    standin_root: tuple[TelegramStandIn, str],
    start_closer: Callable[..., CloserProcess],
    sig: signal.Signals,
) -> None:
    standin, _ = standin_root
    user = standin.user(42, first_name="Sam")
    closer = start_closer()

    # setMyCommands is sent just before polling starts
    await closer.until(lambda: bool(_commands_of(standin)), START_TIMEOUT, "setMyCommands")
    assert sorted(_commands_of(standin)) == sorted(name for name, _ in COMMANDS)
    assert "start" in _commands_of(standin)

    await user.send("/start")
    welcome = await user.next_message(timeout=15)
    assert (welcome.text or "").startswith("Hi, I'm Closer")

    assert await closer.exit_code_after(sig) == 0
    stderr = closer.stderr()
    assert_clean_log(stderr)
    assert "event='bot_started'" in stderr
    assert "event='bot_stopping'" in stderr
    assert TOKEN not in closer.stdout()
    assert not [call for call in standin.calls if call.error_code == 401]


async def test_closer_run_at_debug_level_never_logs_the_token_or_texts(
    standin_root: tuple[TelegramStandIn, str], start_closer: Callable[..., CloserProcess]
) -> None:
    standin, _ = standin_root
    user = standin.user(43)
    closer = start_closer(log_level="DEBUG")
    await closer.until(lambda: bool(_commands_of(standin)), START_TIMEOUT, "setMyCommands")

    # free text before /start (during set-up it would be read as a place name)
    await user.send("he shut down again zq-private-words")
    await user.send("/start")
    # the welcome came after the text was handled: updates of one chat are handled in order
    welcome = await user.next_message(timeout=15)
    while not (welcome.text or "").startswith("Hi, I'm Closer"):
        welcome = await user.next_message(timeout=15)

    assert await closer.exit_code_after(signal.SIGTERM) == 0
    stderr = closer.stderr()
    assert_clean_log(stderr)
    assert "level='debug'" in stderr
    assert "zq-private-words" not in stderr
    assert (welcome.text or "").splitlines()[0] not in stderr

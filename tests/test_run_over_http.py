"""`closer run` end to end: the real command in a subprocess, against the stand-in over HTTP.

The stand-in is served from this test's event loop, so the test waits by polling with
`asyncio.sleep` (never a blocking wait) to keep answering the bot while it waits.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.handlers import COMMANDS
from bot.standin import TelegramStandIn, serve_http
from tests.test_config import environment_without_settings

TOKEN = "7012345678:AAE-closer_test_token_0123456789abcdefgh"
SECRET_PART = TOKEN.split(":", 1)[1]
CLOSER = Path(sys.executable).with_name("closer")
START_TIMEOUT = 20.0  # imports, migrations and getMe; about 1.5 s normally
STOP_TIMEOUT = 5.0


@dataclass
class CloserProcess:
    """A running `closer run` process and where its output goes."""

    process: subprocess.Popen[bytes]
    stderr_path: Path
    stdout_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    async def until(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        """Poll ``condition`` until it holds; fail early if the process dies first."""
        deadline = time.monotonic() + seconds
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(
                    f"closer run exited ({self.process.returncode}) before {what}:\n{self.stderr()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {seconds}s; stderr so far:\n{self.stderr()}")
            await asyncio.sleep(0.02)

    async def exit_code_after(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"closer run still running {STOP_TIMEOUT}s after {sig.name}")
            await asyncio.sleep(0.02)
        return self.process.returncode


@pytest.fixture
async def standin_root() -> AsyncIterator[tuple[TelegramStandIn, str]]:
    standin = TelegramStandIn(TOKEN)
    runner, url_root = await serve_http(standin, "127.0.0.1", 0)
    try:
        yield standin, url_root
    finally:
        await runner.cleanup()


@pytest.fixture
def start_closer(
    tmp_path: Path, standin_root: tuple[TelegramStandIn, str]
) -> Iterator[Callable[..., CloserProcess]]:
    """Start `closer run` pointed at the stand-in; killed at the end if still running."""
    _, url_root = standin_root
    started: list[CloserProcess] = []

    def start(log_level: str = "INFO") -> CloserProcess:
        if not CLOSER.exists():
            pytest.fail(f"{CLOSER} is missing: install the project (`pip install -e .`)")
        workdir = tmp_path / "work"
        workdir.mkdir(exist_ok=True)
        env = environment_without_settings(
            TELEGRAM_BASE_URL=url_root,
            TELEGRAM_BOT_TOKEN=TOKEN,
            DATABASE_URL=f"sqlite:///{(tmp_path / 'closer.sqlite3').as_posix()}",
            LOG_LEVEL=log_level,
        )
        stderr_path, stdout_path = tmp_path / "stderr.log", tmp_path / "stdout.log"
        with stderr_path.open("wb") as err, stdout_path.open("wb") as out:
            process = subprocess.Popen(
                [str(CLOSER), "run"], cwd=workdir, env=env, stdout=out, stderr=err
            )
        closer = CloserProcess(process, stderr_path, stdout_path)
        started.append(closer)
        return closer

    yield start
    for closer in started:
        if closer.process.poll() is None:
            closer.process.kill()
            closer.process.wait(timeout=5)


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
    welcome = await user.next_message(timeout=5)
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
    welcome = await user.next_message(timeout=5)
    while not (welcome.text or "").startswith("Hi, I'm Closer"):
        welcome = await user.next_message(timeout=5)

    assert await closer.exit_code_after(signal.SIGTERM) == 0
    stderr = closer.stderr()
    assert_clean_log(stderr)
    assert "level='debug'" in stderr
    assert "zq-private-words" not in stderr
    assert (welcome.text or "").splitlines()[0] not in stderr

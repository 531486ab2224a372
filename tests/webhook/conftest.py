"""Real `closer run` workers in webhook mode against the stand-in served over HTTP (loopback).

Each worker listens on ``LISTEN=127.0.0.1:0`` and its port is read from its `http_listening` log
line. The webhook is registered once with `closer webhook set` (as the README says), then the
stand-in is told to push to the workers in turn (``webhook_upstreams``), as a load balancer
would. Subprocesses are started with ``asyncio.create_subprocess_exec`` or ``Popen``, never
waited on with a blocking call: the stand-in is served by this test's event loop.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.standin import TelegramStandIn, serve_http
from tests.test_config import environment_without_settings
from tests.test_run_over_http import CLOSER, STOP_TIMEOUT, TOKEN

SECRET = "closer-test_webhook-SECRET-0123456789"
HOOK_PATH = "/telegram/hook"
START_TIMEOUT = 25.0
_PORT = re.compile(r"event='http_listening' host='[^']*' port=(\d+)")


@dataclass
class Worker:
    """One `closer run` process in webhook mode."""

    name: str
    process: subprocess.Popen[bytes]
    stderr_path: Path
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hook(self) -> str:
        return f"{self.base}{HOOK_PATH}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    async def started(self, seconds: float = START_TIMEOUT) -> Worker:
        deadline = time.monotonic() + seconds
        while True:
            found = _PORT.search(self.stderr())
            if found and "event='bot_started'" in self.stderr():
                self.port = int(found.group(1))
                return self
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited ({self.process.returncode}):\n{self.stderr()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} did not start in {seconds}s:\n{self.stderr()}")
            await asyncio.sleep(0.05)

    async def exit_code_after(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} still running {STOP_TIMEOUT}s after {sig.name}")
            await asyncio.sleep(0.02)
        return self.process.returncode

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=5)


@pytest.fixture
async def standin_http() -> AsyncIterator[tuple[TelegramStandIn, str]]:
    standin = TelegramStandIn(TOKEN)
    runner, url_root = await serve_http(standin, "127.0.0.1", 0)
    try:
        yield standin, url_root
    finally:
        await runner.cleanup()


def worker_env(url_root: str, database_url: str, **extra: str) -> dict[str, str]:
    settings = {
        "TELEGRAM_BASE_URL": url_root,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DATABASE_URL": database_url,
        "WEBHOOK_URL": f"https://bot.example.com{HOOK_PATH}",
        "WEBHOOK_SECRET": SECRET,
        "LISTEN": "127.0.0.1:0",
        "LOG_LEVEL": "INFO",
    }
    settings.update(extra)
    return environment_without_settings(**settings)


@pytest.fixture
def start_worker(
    tmp_path: Path, standin_http: tuple[TelegramStandIn, str]
) -> Iterator[Callable[..., Worker]]:
    """``start_worker(database_url, **env)``: one more webhook worker (killed at the end)."""
    _, url_root = standin_http
    workers: list[Worker] = []

    def start(database_url: str, **extra: str) -> Worker:
        if not CLOSER.exists():
            pytest.fail(f"{CLOSER} is missing: install the project (`pip install -e .`)")
        name = f"worker{len(workers) + 1}"
        workdir = tmp_path / name
        workdir.mkdir()
        stderr_path = workdir / "stderr.log"
        with stderr_path.open("wb") as err:
            process = subprocess.Popen(
                [str(CLOSER), "run"],
                cwd=workdir,
                env=worker_env(url_root, database_url, **extra),
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        worker = Worker(name, process, stderr_path)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.process.poll() is None:
            worker.kill()


async def closer_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `closer <args>` without blocking the event loop; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        str(CLOSER),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def register_webhook(
    standin: TelegramStandIn, url_root: str, database_url: str, workers: list[Worker]
) -> None:
    """`closer webhook set` once, then push to the workers in turn (a balancer's job)."""
    code, out, err = await closer_cli(
        worker_env(url_root, database_url), "webhook", "set", "--max-connections", "40"
    )
    assert code == 0, err
    assert "webhook set" in out
    assert standin.webhook.url == f"https://bot.example.com{HOOK_PATH}"
    standin.webhook_upstreams = [worker.hook for worker in workers]


async def http_get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def assert_clean(stderr: str) -> None:
    """No token, no secret, no traceback; one event a line."""
    assert TOKEN not in stderr
    assert TOKEN.split(":", 1)[1] not in stderr
    assert SECRET not in stderr
    assert "Traceback" not in stderr
    for line in stderr.splitlines():
        assert line.startswith("timestamp='"), f"not a log event line: {line!r}"

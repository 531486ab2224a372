"""Real `closer run` workers in webhook mode against the stand-in served over HTTP (loopback).

Each worker listens on ``LISTEN=127.0.0.1:0`` and its port is read from its `http_listening` log
line as soon as it is written. The webhook is registered once with `closer webhook set` (as the
README says), then the stand-in is told to push to the workers in turn (``webhook_upstreams``),
as a load balancer would. The processes are the shared harness's (tests/processes.py): nothing
waits with a blocking call, since the stand-in is served by this test's event loop.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.standin import TelegramStandIn, serve_http
from tests.processes import CloserProcess, closer_environment, run_async, watch
from tests.test_run_over_http import TOKEN

SECRET = "closer-test_webhook-SECRET-0123456789"
HOOK_PATH = "/telegram/hook"
START_TIMEOUT = 25.0
_PORT = re.compile(r"event='http_listening' host='[^']*' port=(\d+)")


class Worker(CloserProcess):
    """One `closer run` process in webhook mode."""

    port: int = 0

    @property
    def stderr_path(self) -> Path:
        return self.log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hook(self) -> str:
        return f"{self.base}{HOOK_PATH}"

    async def started(self, seconds: float = START_TIMEOUT) -> Worker:
        """Wait for its `http_listening` and `bot_started` lines; note its port."""
        await self.line("event='bot_started'", seconds, "bot_started")
        found = _PORT.search(self.stderr())
        if found is None:
            pytest.fail(f"{self.name} started without an http_listening line:\n{self.stderr()}")
        self.port = int(found.group(1))
        return self


@pytest.fixture
async def standin_http() -> AsyncIterator[tuple[TelegramStandIn, str]]:
    standin = watch(TelegramStandIn(TOKEN))
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
    return closer_environment(**settings)


@pytest.fixture
def start_worker(
    tmp_path: Path, standin_http: tuple[TelegramStandIn, str]
) -> Callable[..., Worker]:
    """``start_worker(database_url, **env)``: one more webhook worker (killed at the end)."""
    _, url_root = standin_http
    count = 0

    def start(database_url: str, **extra: str) -> Worker:
        nonlocal count
        count += 1
        name = f"worker{count}"
        workdir = tmp_path / name
        workdir.mkdir()
        return Worker(
            workdir / "stderr.log",
            env=worker_env(url_root, database_url, **extra),
            cwd=workdir,
            stdout=False,
            name=name,
        )

    return start


async def closer_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `closer <args>` without blocking the event loop; (exit code, stdout, stderr)."""
    done = await run_async(None, *args, env=env)
    return done.returncode, done.stdout, done.stderr


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

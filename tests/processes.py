"""Closer in a process of its own: the one harness every test that starts `closer` uses.

A test that runs `closer run` serves the Telegram stand-in from its own event loop, so nothing
here blocks that loop, and nothing polls on a timer when it can be told instead:

- a process's end is awaited on a pidfd (Linux): the kernel wakes the loop when it exits;
- its output comes through pipes that the loop reads as it is written (and copies to a log file
  for the failure message and for the test to read), so a ready line such as `bot_started` or
  `http_listening` is seen the moment it is logged;
- :meth:`CloserProcess.until` re-checks its condition when the process writes, when it exits
  and when a watched stand-in changes (:func:`watch`), and otherwise only every
  ``RECHECK`` seconds, for conditions on something that gives no signal (a database row).

One-shot commands (`closer migrate`, a start-up that must fail) go through :func:`run` (blocking,
for tests without a stand-in) or :func:`run_async` (keeps the loop serving).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from bot.standin import TelegramStandIn
from tests.test_config import environment_without_settings

CLOSER = Path(sys.executable).with_name("closer")
STOP_TIMEOUT = 5.0  # SIGTERM to exit; about a second normally
RECHECK = 0.25  # the longest a wait goes without re-checking its condition
MIN_GAP = 0.02  # the shortest: a busy stand-in wakes a waiter at every call

# Settings Closer reads by prefix as well as by name: none leaks in from the developer's shell.
_PREFIXES = ("TELEGRAM_", "DATABASE_", "CLOSER_", "LOG_", "DATA_")


def closer_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any of Closer's settings, plus ``settings``."""
    env = {
        key: value
        for key, value in environment_without_settings().items()
        if not key.upper().startswith(_PREFIXES) or key.upper() == "CLOSER_TEST_POSTGRES_URL"
    }
    env.update(settings)
    return env


def require_closer() -> None:
    if not CLOSER.exists():
        pytest.fail(f"{CLOSER} is missing: install the project (`pip install -e .`)")


# -- waking waiters -------------------------------------------------------------------------

_waiters: set[asyncio.Event] = set()


def _wake() -> None:
    for event in list(_waiters):
        event.set()


def watch(standin: TelegramStandIn) -> TelegramStandIn:
    """Wake :meth:`CloserProcess.until` waiters whenever ``standin`` changes."""
    standin.add_listener(_wake)
    return standin


# -- one process ----------------------------------------------------------------------------

_live: list[CloserProcess] = []


def close_all() -> None:
    """Kill every process still running and let go of its pipes (after each test)."""
    while _live:
        _live.pop().close()


class _Stream:
    """One pipe from the process, read by the event loop into memory and a log file."""

    def __init__(self, pipe: IO[bytes], log: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.fd = pipe.fileno()
        self._pipe = pipe
        self._loop = loop
        self._log = log.open("ab")
        self._chunks: list[bytes] = []
        self.closed = False
        os.set_blocking(self.fd, False)
        loop.add_reader(self.fd, self.read)

    def read(self) -> None:
        """Take whatever the pipe holds now (the loop calls this when it is readable)."""
        while not self.closed:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self.close()
                return
            self._chunks.append(chunk)
            self._log.write(chunk)
            self._log.flush()
            _wake()

    def text(self) -> str:
        return b"".join(self._chunks).decode("utf-8", errors="replace")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self.fd)
        self._pipe.close()
        self._log.close()


class CloserProcess:
    """One `closer <args>` process (``run`` by default) with its output read as it comes.

    ``log`` receives stderr, and stdout too unless ``stdout_log`` is given (then stdout goes
    there) or ``stdout=False`` (then it is discarded). :attr:`process` is the
    :class:`subprocess.Popen`, for signals.
    """

    def __init__(
        self,
        log: Path,
        *,
        env: Mapping[str, str],
        args: Sequence[str] = ("run",),
        cwd: Path | None = None,
        stdout_log: Path | None = None,
        stdout: bool = True,
        name: str = "closer run",
    ) -> None:
        require_closer()
        _live.append(self)
        self.name = name
        self.log = log
        self.stdout_log = stdout_log
        separate = stdout_log is not None or not stdout
        self.process = subprocess.Popen(
            [str(CLOSER), *args],
            cwd=cwd or log.parent,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE if separate else subprocess.STDOUT,
        )
        loop = asyncio.get_running_loop()
        self._loop = loop
        if separate:
            assert self.process.stderr is not None
            self._err = _Stream(self.process.stderr, log, loop)
            self._out = (
                _Stream(self.process.stdout, stdout_log, loop)
                if self.process.stdout is not None and stdout_log is not None
                else None
            )
        else:
            assert self.process.stdout is not None
            self._err = _Stream(self.process.stdout, log, loop)
            self._out = None
        self._exited: asyncio.Future[None] = loop.create_future()
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(self.process.pid)
        except (AttributeError, OSError):  # not Linux: fall back to re-checking
            pass
        else:
            loop.add_reader(self._pidfd, self._on_exit)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    # Popen's own calls, so a test can treat this as the process itself.
    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Blocking: only for a process already killed."""
        return self.process.wait(timeout)

    def send_signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def _on_exit(self) -> None:
        self._close_pidfd()
        self.process.poll()
        self._drain()
        if not self._exited.done():
            self._exited.set_result(None)
        _wake()

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None

    def _drain(self) -> None:
        for stream in (self._err, self._out):
            if stream is not None and not stream.closed:
                stream.read()

    def _ended(self) -> bool:
        if self.process.poll() is None:
            return False
        if not self._exited.done():
            self._on_exit()
        return True

    # -- what it wrote ------------------------------------------------------------------------

    def output(self) -> str:
        """Everything in ``log`` so far (stderr, with stdout unless that has a log of its own)."""
        self._drain()
        return self._err.text()

    stderr = output

    def stdout(self) -> str:
        self._drain()
        return self._out.text() if self._out is not None else ""

    def _tail(self) -> str:
        return self.output()[-3000:]

    # -- waiting ------------------------------------------------------------------------------

    async def until(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        """Wait until ``condition()`` holds; fail if this process exits first or time runs out."""
        await self._wait(condition, seconds, what, dies=False)

    async def _wait(
        self, condition: Callable[[], bool], seconds: float, what: str, *, dies: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        event = asyncio.Event()
        _waiters.add(event)
        try:
            while not condition():
                if not dies and self._ended():
                    pytest.fail(
                        f"{self.name} exited ({self.process.returncode}) before {what}:\n"
                        f"{self._tail()}"
                    )
                remaining = deadline - loop.time()
                if remaining <= 0:
                    pytest.fail(f"no {what} within {seconds}s; {self.name} wrote:\n{self._tail()}")
                event.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(RECHECK, remaining)):
                        await event.wait()
                await asyncio.sleep(MIN_GAP)  # let a burst of changes land before re-checking
        finally:
            _waiters.discard(event)

    async def wait_dying(self, condition: Callable[[], bool], seconds: float) -> None:
        """Wait until ``condition()`` holds even if (or because) the process exits meanwhile."""
        await self._wait(condition, seconds, "the condition", dies=True)

    async def line(self, pattern: str, seconds: float, what: str | None = None) -> re.Match[str]:
        """The first match of ``pattern`` in the output, as soon as it is written."""
        found: list[re.Match[str]] = []
        compiled = re.compile(pattern)

        def seen() -> bool:
            match = compiled.search(self.output())
            if match:
                found.append(match)
            return match is not None

        await self.until(seen, seconds, what or f"a line matching {pattern!r}")
        return found[0]

    async def exit(self, seconds: float = 15.0) -> int:
        """Wait for the process to end; its exit code (killed, and the test failed, if late)."""
        if self._pidfd is None and not self._exited.done():
            await self._wait(self._ended, seconds, "its exit", dies=True)
        else:
            try:
                async with asyncio.timeout(seconds):
                    await asyncio.shield(self._exited)
            except TimeoutError:
                tail = self._tail()
                self.kill()
                pytest.fail(f"{self.name} did not exit within {seconds}s:\n{tail}")
        self._ended()
        assert self.process.returncode is not None
        return self.process.returncode

    async def exit_code_after(self, sig: signal.Signals, seconds: float = STOP_TIMEOUT) -> int:
        self.process.send_signal(sig)
        return await self.exit(seconds)

    async def stop(self) -> None:
        """SIGTERM (waking it first if it was stopped) and wait for it to end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                await self.exit()
            except BaseException:
                self.kill()
                raise
        self._ended()

    def kill(self) -> None:
        """SIGKILL and reap it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._ended()

    def close(self) -> None:
        """Kill it if it still runs and let go of its pipes (at the end of a test)."""
        self.kill()
        self._close_pidfd()
        for stream in (self._err, self._out):
            if stream is not None:
                stream.close()


# -- one-shot commands ----------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(cwd: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 30.0) -> Run:
    """`closer <args>` to its end, blocking (for tests with no stand-in to serve)."""
    require_closer()
    done = subprocess.run(
        [str(CLOSER), *args],
        cwd=cwd,
        env=dict(env) if env is not None else closer_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


async def run_async(
    cwd: Path | None,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,  # noqa: ASYNC109 - a hang guard, as subprocess.run has
) -> Run:
    """`closer <args>` to its end while the event loop keeps serving (any stand-in)."""
    require_closer()
    process = await asyncio.create_subprocess_exec(
        str(CLOSER),
        *args,
        cwd=cwd,
        env=dict(env) if env is not None else closer_environment(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Run(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))

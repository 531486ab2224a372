"""`closer try` driven as a subprocess through its standard input, as a newcomer would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from content import Library, default_library

CLOSER = [sys.executable, "-m", "bot"]

pytestmark = pytest.mark.slow  # `closer try` in a process of its own


class Terminal:
    """A `closer try` process: type lines, wait for output, press buttons by their number."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
        env.update(COLUMNS="100", PYTHONUNBUFFERED="1", PTB_TIMEDELTA="1")
        self.process = subprocess.Popen(
            [*CLOSER, "try", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.output = ""
        self._lock = threading.Condition()  # notified with each line read
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.output += line
                self._lock.notify_all()
        with self._lock:  # end of output: the process is ending
            self._ended = True
            self._lock.notify_all()

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, pattern: str, *, after: int = 0, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        with self._lock:  # woken by each line the reader takes, not on a timer
            while (match := compiled.search(self.output, after)) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._ended:
                    break
                self._lock.wait(remaining)
        if match:
            return match
        raise AssertionError(f"no {pattern!r} in:\n{self.output[after:]}\n{self.stderr()}")

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def press(self, label: str, *, after: int = 0) -> int:
        """Type the number shown beside a button label; returns where the output stood."""
        match = self.wait_for(rf"\[(\d+)\] {re.escape(label)}", after=after)
        numbers = re.findall(rf"\[(\d+)\] {re.escape(label)}", self.output[after:])
        mark = len(self.output)
        self.type(numbers[-1] if numbers else match.group(1))
        return mark

    def mark(self) -> int:
        with self._lock:
            return len(self.output)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def terminal(tmp_path: Path) -> object:
    started: list[Terminal] = []

    def start(*args: str) -> Terminal:
        term = Terminal(*args, cwd=tmp_path)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def test_closer_try_onboards_nudges_logs_and_exits_cleanly(
    terminal: object, tmp_path: Path
) -> None:
    db = tmp_path / "try.sqlite3"
    term = terminal("--speed", "20000", "--db", str(db))  # type: ignore[operator]
    term.wait_for(r"Closer, in your terminal")
    term.type("/start")
    term.wait_for(r"Step 1 of 3")
    mark = term.press("UTC")
    term.wait_for(r"Step 2 of 3", after=mark)
    mark = term.press("09:00", after=mark)
    term.wait_for(r"Step 3 of 3", after=mark)
    mark = term.press("Daily", after=mark)
    term.wait_for(r"Step 1 of 4", after=mark)  # the first nudge, formatting rendered
    mark = term.press("✅ Tried it", after=mark)
    term.wait_for(r"Went well", after=mark)
    mark = term.press("😊 Went well", after=mark)
    term.wait_for(r"Saved ✓", after=mark)
    mark = term.mark()
    term.type("/progress")
    term.wait_for(r"Conversations logged: 1", after=mark)
    # A spaced nudge arrives on its own under --speed, with numbered buttons again.
    term.wait_for(r"\[\d+\] ✅ Tried it", after=mark, timeout=60)
    term.type("/quit")
    assert term.process.wait(timeout=20) == 0
    term.wait_for(r"Bye for now")
    errors = term.stderr()
    assert "Traceback" not in errors
    assert db.exists()


def test_closer_try_keeps_the_conversation_with_db_and_leaves_on_end_of_input(
    terminal: object, tmp_path: Path
) -> None:
    db = tmp_path / "kept.sqlite3"
    first = terminal("--db", str(db))  # type: ignore[operator]
    first.type("/start")
    first.wait_for(r"Step 1 of 3")
    first.type("Lisbon")
    first.wait_for(r"Step 2 of 3")
    assert first.process.stdin is not None
    first.process.stdin.close()  # end of input leaves cleanly too
    assert first.process.wait(timeout=20) == 0
    second = terminal("--db", str(db))  # type: ignore[operator]
    second.type("/settings")
    second.wait_for(r"Let's finish setting up first|Europe/Lisbon")
    second.type("/quit")
    assert second.process.wait(timeout=20) == 0


@pytest.mark.parametrize(("lang", "step"), [("es", "Paso 1 de 3"), ("ru", "Шаг 1 из 3")])
def test_closer_try_speaks_spanish_and_russian_with_lang(
    terminal: object, lang: str, step: str
) -> None:
    words = default_library_in(lang)
    term = terminal("--speed", "20000", "--lang", lang)  # type: ignore[operator]
    term.type("/start")
    term.wait_for(re.escape(step))
    mark = term.press("UTC")
    mark = term.press("09:00", after=mark)
    mark = term.press(words.label("pace_daily"), after=mark)
    term.wait_for(re.escape(words.label("label_tried_it")), after=mark)
    term.type("/quit")
    assert term.process.wait(timeout=20) == 0
    assert "Traceback" not in term.stderr()


def default_library_in(lang: str) -> Library:
    from importlib import resources

    from content.translations import translate

    return translate(default_library(), resources.files("content").joinpath("data"), lang)[0]


def test_closer_try_rejects_a_bad_speed(tmp_path: Path) -> None:
    run = subprocess.run(
        [*CLOSER, "try", "--speed", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert "--speed" in run.stderr and "Traceback" not in run.stderr


def test_closer_try_runs_the_listening_timer_on_its_clock_and_shows_her_local_time(
    terminal: object, tmp_path: Path
) -> None:
    term = terminal("--db", str(tmp_path / "timer.sqlite3"))  # type: ignore[operator]
    term.wait_for(r"Closer, in your terminal")
    term.type("/start")
    term.wait_for(r"Step 1 of 3")
    mark = term.mark()
    term.type("Toronto")
    term.wait_for(r"Step 2 of 3", after=mark)
    # From here on the panels show Toronto's time, as the bot speaks it.
    term.wait_for(r"Closer · \w{3} \d{2} \w{3} \d{4}, \d{2}:\d{2} E[SD]T", after=mark)
    mark = term.mark()
    term.type("/now")
    mark = term.press("He's opening up right now", after=mark)
    card = term.wait_for(r"Closer · [^\n]*?(\d{2}):(\d{2}) E[SD]T", after=mark)  # before the timer
    mark = term.press("⏱ Start a 5-minute timer", after=mark)
    # Five minutes of a 3,600-times faster clock: a tenth of a real second, not five minutes.
    done = term.wait_for(
        r"Closer · [^\n]*?(\d{2}):(\d{2}) E[SD]T[^\n]*\n[^\n]*That's five minutes",
        after=mark,
        timeout=20,
    )
    took = (int(done[1]) * 60 + int(done[2]) - int(card[1]) * 60 - int(card[2])) % (24 * 60)
    assert 5 <= took <= 60, took  # panels are drawn every tenth of a second: six of her minutes
    term.type("/quit")
    assert term.process.wait(timeout=20) == 0
    assert "Traceback" not in term.stderr()

"""Shared pieces of the benchmarks: a stand-in process, fast SQLite seeding, a bot to dispatch."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import CloserApplication
    from bot.services import Services
    from bot.storage.db import Database

FIRST_ID = 1_000_000


@dataclass
class StandInProcess:
    url_root: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the stand-in process has used so far."""
        return process_cpu_seconds(self.pid)


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process ``pid`` has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def standin_process(users: int) -> Iterator[StandInProcess]:
    """The stand-in served by another process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.standin_server", "--users", str(users)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield StandInProcess(process.stdout.readline().strip(), process.pid)
    finally:
        process.kill()
        process.wait()


def machine_cpu_seconds() -> float:
    """CPU time (all cores, all processes, not idle) the machine has used since boot, from
    /proc/stat: minus the bot's and the stand-in's own, what the rest of the machine used."""
    cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = sum(cpu) - cpu[3] - cpu[4]  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now (no nudge falls in quiet hours)."""
    offset = 12 - now.hour
    if offset > 12:
        offset -= 24
    if offset < -12:
        offset += 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _iso(moment: datetime) -> str:
    # How SQLAlchemy stores UTCDateTime on SQLite: naive UTC, space-separated, microseconds.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def seed_sqlite(
    path: Path,
    users: int,
    *,
    due_now: int,
    now: datetime,
    zone: str,
    spread: timedelta = timedelta(days=7),
    checkins: bool = True,
) -> None:
    """Insert ``users`` onboarded users straight into a migrated SQLite file, each with a
    planned item row (the first ``due_now`` due a minute ago, the rest spread over ``spread``)
    and, with ``checkins``, a planned check-in row: what the planner keeps for active users."""
    connection = sqlite3.connect(path)
    try:
        created = _iso(now - timedelta(days=30))
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = OFF")
        chunk = 50_000
        for start in range(0, users, chunk):
            ids = range(start + 1, min(start + chunk, users) + 1)
            connection.executemany(
                "INSERT INTO users (id, telegram_id, chat_id, created_at, ignored_streak,"
                " backoff_active) VALUES (?, ?, ?, ?, 0, 0)",
                ((i, FIRST_ID + i - 1, FIRST_ID + i - 1, created) for i in ids),
            )
            connection.executemany(
                "INSERT INTO user_settings (user_id, timezone, updated_at) VALUES (?, ?, ?)",
                ((i, zone, created) for i in ids),
            )
            step = spread / max(users, 1)
            rows = []
            for i in ids:
                due = now - timedelta(minutes=1) if i <= due_now else now + step * i
                rows.append((i, "item", _iso(due), created))
                if checkins:
                    rows.append((i, "poll", _iso(now + spread + step * i), created))
            connection.executemany(
                "INSERT INTO outbox (user_id, kind, due_at, status, planned, attempts,"
                " ambiguous_count, created_at) VALUES (?, ?, ?, 'pending', 1, 0, 0, ?)",
                rows,
            )
            connection.commit()
    finally:
        connection.close()


async def seeded_database(folder: Path, name: str, users: int) -> tuple[Database, Path, datetime]:
    """A fresh migrated SQLite file in ``folder`` seeded with ``users`` users, each with an item
    nudge due now (no check-ins); the Database on it, its path, and the seeding time."""
    from bot.storage.db import Database, sqlite_url
    from bot.storage.migrate import upgrade

    path = folder / f"{name}-{time.monotonic_ns()}.sqlite3"
    db = Database(sqlite_url(path))
    await upgrade(db)
    now = datetime.now(UTC)
    seed_sqlite(path, users, due_now=users, now=now, zone=midday_zone(now), checkins=False)
    return db, path, now


async def send_due_nudges(
    application: CloserApplication, services: Services, expected: int, *, batch: int = 500
) -> None:
    """Send every due nudge once through Closer's own dispatcher (as ``bench.dispatch`` does),
    rate limiter off: real nudges, with their outbox rows marked sent. ``application`` must be
    initialized (``async with application``)."""
    from bot.delivery import build_dispatcher

    dispatcher = build_dispatcher(application, services, rate_limit=False, batch_size=batch)
    try:
        report = await dispatcher.tick()
    finally:
        await dispatcher.release()
    if report.sent != expected:
        raise RuntimeError(f"the dispatcher sent {report.sent} of {expected} due nudges: {report}")

"""An idle bot's CPU: `closer run` against the stand-in (a process of its own), nothing to do.

    .venv/bin/python -m bench.idle [--seconds 60]

Starts the stand-in and `closer run` on a fresh SQLite file, waits until the start-up work is
done (the city index and the lexicons warm in the background: under 0.1 CPU s in 5 s), then
reads the bot's CPU time (user + system, from /proc) over ``--seconds`` of idling: long polls,
the poller's and the dispatcher's leases, and any wake of the dispatcher. Prints CPU seconds a
minute, the share of one core, and how busy the rest of the machine was meanwhile.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine_cpu_seconds, process_cpu_seconds, standin_process
from bench.standin_server import TOKEN

CLOSER = Path(sys.executable).with_name("closer")
_SETTINGS = ("TELEGRAM_", "DATABASE_", "CLOSER_", "LOG_", "WEBHOOK_", "LISTEN", "ADMIN_")


def _quiet(pid: int, limit: float = 300.0) -> None:
    """Wait until the process has used under 0.1 CPU s in 5 s (start-up work done)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = process_cpu_seconds(pid)
        time.sleep(5)
        if process_cpu_seconds(pid) - before < 0.1:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, standin_process(1) as standin:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_SETTINGS)}
        env.update(
            TELEGRAM_BASE_URL=standin.url_root,
            TELEGRAM_BOT_TOKEN=TOKEN,
            DATABASE_URL=f"sqlite:///{Path(folder) / 'closer.sqlite3'}",
            LOG_LEVEL="INFO",
        )
        log = Path(folder) / "closer.log"
        with log.open("wb") as err:
            bot = subprocess.Popen([str(CLOSER), "run"], env=env, stderr=err, cwd=folder)
        try:
            deadline = time.monotonic() + 60
            while "bot_started" not in log.read_text(errors="replace"):
                if bot.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"closer run did not start:\n{log.read_text()}")
                time.sleep(0.1)
            _quiet(bot.pid)
            cpu, server = process_cpu_seconds(bot.pid), standin.cpu_seconds()
            machine, wall = machine_cpu_seconds(), time.monotonic()
            time.sleep(args.seconds)
            wall = time.monotonic() - wall
            cpu = process_cpu_seconds(bot.pid) - cpu
            server = standin.cpu_seconds() - server
            others = max(machine_cpu_seconds() - machine - cpu - server, 0.0) / wall
        finally:
            bot.terminate()
            bot.wait(timeout=15)
    print(
        f"closer run idle for {wall:.0f} s: {cpu:.2f} CPU s, {cpu / wall * 60:.3f} CPU s a minute,"
        f" {cpu / wall:.2%} of a core (stand-in {server:.2f} s; other processes: {others:.2f}"
        " cores)"
    )


if __name__ == "__main__":
    main()

"""Updates handled per second: webhook workers (one, two) beside polling, on PostgreSQL, one run.

    .venv/bin/python -m bench.webhook [--users 300] [--repeat 1]

Each mode gets a fresh PostgreSQL schema (CLOSER_TEST_POSTGRES_URL, default the local server)
and real `closer run` processes (webhook: ``WEBHOOK_URL`` set, the stand-in pushing to the
workers in turn as a balancer would; polling: one process, ``getUpdates``). The same workload
each time: ``--users`` new people each send /start, /help and /about (3 updates each; /start
creates the user and plans their schedule). The updates are queued in the stand-in at once
and the clock runs until the stand-in has every one confirmed (a webhook's 2xx, or a
getUpdates offset past it).

The stand-in runs in this process (served over loopback HTTP). Printed per mode: updates per
second, the workers' CPU per 1,000 updates (all worker processes together), the stand-in's
(this process), PostgreSQL's (its server processes on this machine), and 'others': the
cores used meanwhile by other processes than these (on a 2-core machine,
anything above a few hundredths takes CPU from the run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from bench.common import machine_cpu_seconds
from bot.standin import TelegramStandIn, serve_http

TOKEN = "7012345678:AAE-closer_bench_token_0123456789abcdefgh"
SECRET = "closer-bench-secret"
CLOSER = Path(sys.executable).with_name("closer")
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
_PORT = re.compile(r"event='http_listening' host='[^']*' port=(\d+)")
FIRST_USER = 3_000_000


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> dict[int, float]:
    """CPU time of every PostgreSQL server process on this machine (the database's share)."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                found[int(entry.name)] = _cpu(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _postgres_delta(before: dict[int, float]) -> float:
    after = _postgres_cpu()
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _self_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Result:
    mode: str
    updates: int
    seconds: float
    worker_cpu: float
    standin_cpu: float
    database_cpu: float
    others: float

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


async def _schema(base: str) -> tuple[str, str, str]:
    url = make_url(base)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await admin.close()
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return dsn, schema, scoped.render_as_string(hide_password=False)


async def _drop(dsn: str, schema: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await admin.close()


def _env(url_root: str, database_url: str, webhook: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("CLOSER_", "WEBHOOK"))}
    env.update(
        TELEGRAM_BASE_URL=url_root,
        TELEGRAM_BOT_TOKEN=TOKEN,
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        LISTEN="127.0.0.1:0",
    )
    env.pop("ADMIN_IDS", None)
    if webhook:
        env.update(WEBHOOK_URL="https://bot.example.com/hook", WEBHOOK_SECRET=SECRET)
    return env


async def _start(
    env: dict[str, str], folder: Path, name: str
) -> tuple[subprocess.Popen[bytes], int]:
    log = folder / f"{name}.log"
    # INFO for the start-up lines (port, bot_started), then nothing per update is logged at INFO
    env = {**env, "LOG_LEVEL": "INFO"}
    with log.open("wb") as err:
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, never waited on here
            [str(CLOSER), "run"], env=env, stderr=err, cwd=folder
        )
    deadline = time.monotonic() + 60
    while True:
        text = log.read_text(errors="replace")
        found = _PORT.search(text)
        if found and "event='bot_started'" in text:
            return process, int(found.group(1))
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} did not start:\n{text}")
        await asyncio.sleep(0.05)


async def _until_idle(processes: list[subprocess.Popen[bytes]], limit: float = 60.0) -> None:
    """Wait until every worker uses under a tenth of a core (start-up work is done)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = [_cpu(p.pid) for p in processes]
        await asyncio.sleep(0.5)
        if all(_cpu(p.pid) - b < 0.05 for p, b in zip(processes, before, strict=True)):
            return


async def run_mode(mode: str, workers: int, users: int, base_url: str, folder: Path) -> Result:
    standin = TelegramStandIn(TOKEN)
    runner, url_root = await serve_http(standin, "127.0.0.1", 0)
    dsn, schema, database_url = await _schema(base_url)
    processes: list[subprocess.Popen[bytes]] = []
    webhook = mode == "webhook"
    try:
        env = _env(url_root, database_url, webhook)
        started = [await _start(env, folder, f"{mode}{workers}-{n}") for n in range(workers)]
        processes = [process for process, _ in started]
        if webhook:
            await standin.handle(
                "setWebhook",
                TOKEN,
                {"url": "https://bot.example.com/hook", "secret_token": SECRET},
            )
            standin.webhook_upstreams = [f"http://127.0.0.1:{port}/hook" for _, port in started]
        people = [standin.user(FIRST_USER + n) for n in range(users)]
        await _until_idle(processes)  # the city index is built, first dispatcher ticks done
        cpu_before = sum(_cpu(p.pid) for p in processes)
        machine_before, self_before = machine_cpu_seconds(), _self_cpu()
        postgres_before = _postgres_cpu()
        began = time.monotonic()
        for text in ("/start", "/help", "/about"):
            for person in people:
                await person.send(text)
        total = 3 * users
        while len(standin.confirmed_update_ids) < total:  # noqa: ASYNC110 - polled, not signalled
            await asyncio.sleep(0.01)
        seconds = time.monotonic() - began
        worker_cpu = sum(_cpu(p.pid) for p in processes) - cpu_before
        own = _self_cpu() - self_before
        database = _postgres_delta(postgres_before)
        busy = machine_cpu_seconds() - machine_before
        others = max(busy - worker_cpu - own - database, 0.0) / seconds
        return Result(
            f"{mode}, {workers} worker{'s' if workers > 1 else ''}",
            total,
            seconds,
            worker_cpu,
            own,
            database,
            others,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        await runner.cleanup()
        await _drop(dsn, schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    base = os.environ.get("CLOSER_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            for mode, workers in (("polling", 1), ("webhook", 1), ("webhook", 2)):
                results.append(await run_mode(mode, workers, args.users, base, Path(folder)))
    print(
        f"updates handled per second on PostgreSQL: {args.users} new users x "
        "(/start, /help, /about), loopback HTTP, stand-in in the bench process"
    )
    print(f"  {os.cpu_count()} cores; 'others': cores used by other processes during the run")
    for result in results:
        print(
            f"  {result.mode:20} {result.rate:7,.0f} updates/s  ({result.updates} in "
            f"{result.seconds:.1f} s; workers' CPU per 1,000 updates "
            f"{result.worker_cpu / result.updates * 1000:.2f} s, stand-in's "
            f"{result.standin_cpu / result.updates * 1000:.2f} s, PostgreSQL's "
            f"{result.database_cpu / result.updates * 1000:.2f} s; others {result.others:.2f})"
        )


if __name__ == "__main__":
    from bot.cli import run_async

    run_async(main())

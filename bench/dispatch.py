"""Dispatch throughput: due nudges sent through the real dispatcher and python-telegram-bot to
the stand-in over loopback HTTP, rate limiter off, for each transport in the same run.

    .venv/bin/python -m bench.dispatch [--nudges 5000] [--repeat 2] [--batches 100,500]

Prints nudges per second and the bot process's CPU seconds per 1,000 nudges (the stand-in runs in
a process of its own and is not counted), and how busy the rest of the machine was meanwhile
(cores used by other processes: on a 2-core machine, anything above a few hundredths takes CPU
from the run, and the figures drop). Each run uses a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import (
    StandInProcess,
    machine_cpu_seconds,
    seeded_database,
    standin_process,
)
from bench.standin_server import TOKEN
from bot.app import build_application
from bot.config import Settings
from bot.delivery import build_dispatcher
from bot.logs import configure_logging
from bot.services import Services
from bot.transport import AiohttpRequest
from content import load_library
from scheduler.clock import SystemClock


async def run_once(
    transport: str, nudges: int, standin: StandInProcess, folder: Path, batch: int
) -> tuple[float, float, float, float]:
    db, _, _ = await seeded_database(folder, transport, nudges)
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_base_url=standin.url_root,
        database_url=db.url,
        rate_limit=False,
    )
    services = Services(settings=settings, db=db, library=load_library(), clock=SystemClock())
    request = AiohttpRequest() if transport == "aiohttp" else None
    application = build_application(services, request=request)
    try:
        async with application:
            # A new dispatcher, so a new store and planner cache: each run starts cold, as the
            # first batch after a start would.
            dispatcher = build_dispatcher(application, services, rate_limit=False, batch_size=batch)
            wall, cpu = time.perf_counter(), time.process_time()
            server, machine = standin.cpu_seconds(), machine_cpu_seconds()
            report = await dispatcher.tick()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            server = standin.cpu_seconds() - server
            others = max(machine_cpu_seconds() - machine - cpu - server, 0.0) / wall
            await dispatcher.release()
        assert report.sent == nudges, report
    finally:
        await db.dispose()
    return nudges / wall, cpu / nudges * 1000, server / nudges * 1000, others


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nudges", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batches", default="100,500", help="batch sizes (the in-flight bound)")
    args = parser.parse_args()
    configure_logging("WARNING")
    batches = [int(b) for b in args.batches.split(",")]
    results: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {
        (transport, batch): [] for batch in batches for transport in ("httpx", "aiohttp")
    }
    with tempfile.TemporaryDirectory() as folder, standin_process(args.nudges) as standin:
        for _ in range(args.repeat):
            for transport, batch in results:
                run = await run_once(transport, args.nudges, standin, Path(folder), batch)
                results[transport, batch].append(run)
    print(f"dispatch throughput, {args.nudges} due nudges, rate limiter off, loopback HTTP")
    print(f"  {os.cpu_count()} cores; 'others': cores used by other processes during the run")
    for (transport, batch), runs in results.items():
        rates = ", ".join(f"{run[0]:,.0f}/s" for run in runs)
        cpus = ", ".join(f"{run[1]:.2f} s" for run in runs)
        server = ", ".join(f"{run[2]:.2f} s" for run in runs)
        others = ", ".join(f"{run[3]:.2f}" for run in runs)
        print(
            f"  {transport:8} batch {batch:<4} {rates:18} bot CPU per 1,000 nudges: {cpus:12}"
            f" (stand-in: {server}; others: {others})"
        )
    for batch in batches:
        best = {t: max(run[0] for run in results[t, batch]) for t in ("httpx", "aiohttp")}
        print(f"  batch {batch}: aiohttp/httpx throughput {best['aiohttp'] / best['httpx']:.1f}x")


if __name__ == "__main__":
    from bot.cli import run_async

    run_async(main())  # the same event loop as `closer run` (uvloop where installed)

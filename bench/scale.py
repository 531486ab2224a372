"""Scale: a million scheduled users in SQLite, against one JobQueue job per user.

    .venv/bin/python -m bench.scale [--users 1000000] [--peer-users 10000,100000,1000000]

Closer keeps every user's next nudge as outbox rows (here: a planned item row spread over the
coming week and a planned check-in row, so 2 rows a user) and wakes a dispatcher that claims
what is due. The common approach, as in python-telegram-bot's ``timerbot`` example, keeps one
JobQueue (APScheduler) job per user in memory, rebuilt from the database at every start.

Each side runs in a fresh process (so its peak memory is its own) against the stand-in served
by a third process, with ``--due`` users due right now. Printed:

- start-up to first send: from the process's first line to the first nudge delivered
  (Closer: open and migrate the database, build the bot, first tick; the peer: the same bot,
  plus reading every user's next time and adding one job per user);
- peak memory (max RSS);
- Closer's time of one claim (claim and settle one batch of 100 in one transaction, median of
  20, rolled back each time), and of an idle claim (nothing due: what every tick costs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import Connection

T0 = time.perf_counter()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Rollback(Exception):
    pass


async def closer_side(path: Path, url_root: str) -> dict[str, Any]:
    from bench.standin_server import TOKEN
    from bot.app import build_application
    from bot.config import Settings
    from bot.delivery import TelegramSender
    from bot.logs import configure_logging
    from bot.services import Services
    from bot.storage.db import Database, sqlite_url
    from bot.storage.dispatch_store import SqlDispatchStore
    from bot.storage.migrate import upgrade
    from bot.storage.outbox import claim_due
    from bot.storage.planning import PlaneeCache, settle_claimed
    from bot.transport import AiohttpRequest
    from content import load_library
    from scheduler.clock import SystemClock
    from scheduler.dispatcher import Dispatcher
    from scheduler.ports import Claim
    from scheduler.sending import Delivery, Receipt, SendResult, Sent

    configure_logging("WARNING")
    first_send: list[float] = []

    class Probe(TelegramSender):
        async def send(self, delivery: Delivery, receipt: Receipt) -> SendResult:
            result = await super().send(delivery, receipt)
            if isinstance(result, Sent) and not first_send:
                first_send.append(time.perf_counter() - T0)
            return result

    db = Database(sqlite_url(path))
    await upgrade(db)
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_base_url=url_root,
        database_url=db.url,
        rate_limit=False,
    )
    library = load_library()
    services = Services(settings=settings, db=db, library=library, clock=SystemClock())
    application = build_application(services, request=AiohttpRequest())
    async with application:
        sender = Probe(application.bot, services)
        dispatcher = Dispatcher(SqlDispatchStore(db), sender, library.all_items(), batch_size=100)
        report = await dispatcher.tick()
        startup = first_send[0] if first_send else float("nan")
        # One claim among the million: make 100 rows due again, claim them, roll back.
        claims: list[tuple[float, int]] = []
        idle: list[float] = []
        planees = PlaneeCache()  # this measurement's own, as a dispatcher's store would have
        now = datetime.now(UTC)

        def claim_and_roll_back(conn: Connection) -> None:
            began = time.perf_counter()
            rows = claim_due(
                conn,
                Claim(
                    now=now + timedelta(hours=2),  # the next 100 or so planned rows
                    lease_now=now,
                    owner="bench",
                    lease_until=now + timedelta(minutes=1),
                    limit=100,
                ),
            ).rows
            settle_claimed(
                conn, rows, now + timedelta(hours=2), library.all_items(), planees=planees
            )
            claims.append((time.perf_counter() - began, len(rows)))
            raise _Rollback

        def idle_claim(conn: Connection) -> None:
            began = time.perf_counter()
            claim_due(
                conn,
                Claim(
                    now=now - timedelta(days=1),
                    lease_now=now,
                    owner="bench",
                    lease_until=now,
                    limit=100,
                ),
            )
            idle.append(time.perf_counter() - began)

        for _ in range(20):
            with contextlib.suppress(_Rollback):
                await db.run(claim_and_roll_back)
        for _ in range(20):
            await db.run(idle_claim)
        await dispatcher.release()
    await db.dispose()
    return {
        "sent": report.sent,
        "startup_to_first_send_s": startup,
        "peak_mb": _peak_mb(),
        "claim_ms": median(c for c, _ in claims) * 1000,
        "claimed_rows": median(n for _, n in claims),
        "idle_claim_ms": median(idle) * 1000,
    }


async def peer_side(path: Path, url_root: str, users: int, due: int) -> dict[str, Any]:
    import sqlite3

    from telegram.ext import Application, ContextTypes

    from bench.standin_server import TOKEN
    from bot.logs import configure_logging

    configure_logging("WARNING")
    first_send: list[float] = []
    sent = asyncio.Event()

    async def nudge(context: ContextTypes.DEFAULT_TYPE) -> None:
        """The timerbot way: the job itself sends."""
        job = context.job
        assert job is not None and job.chat_id is not None
        await context.bot.send_message(job.chat_id, "A nudge")
        if not first_send:
            first_send.append(time.perf_counter() - T0)
            sent.set()

    application = Application.builder().token(TOKEN).base_url(f"{url_root}/bot").build()
    async with application:
        await application.start()
        job_queue = application.job_queue
        assert job_queue is not None
        began = time.perf_counter()
        connection = sqlite3.connect(path)
        rows = connection.execute(
            "SELECT u.chat_id, o.due_at FROM outbox o JOIN users u ON u.id = o.user_id"
            " WHERE o.kind = 'item' AND o.status = 'pending' ORDER BY o.user_id LIMIT ?",
            (users,),
        )
        now = datetime.now(UTC)
        for index, (chat_id, due_at) in enumerate(rows):
            when = now if index < due else datetime.fromisoformat(due_at).replace(tzinfo=UTC)
            # Without misfire_grace_time=None the due jobs are dropped: adding many jobs takes
            # longer than APScheduler's default grace of one second.
            job_queue.run_once(
                nudge,
                when=when,
                chat_id=chat_id,
                name=str(chat_id),
                job_kwargs={"misfire_grace_time": None},
            )
        connection.close()
        scheduled = time.perf_counter() - began
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sent.wait(), timeout=600)
        jobs = len(job_queue.jobs())
        await application.stop()
    return {
        "jobs": jobs,
        "schedule_s": scheduled,
        "startup_to_first_send_s": first_send[0] if first_send else float("nan"),
        "peak_mb": _peak_mb(),
    }


def _child(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.scale", *args], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--peer-users", default="10000,100000,1000000")
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, path, url_root, *rest = args.child
        if side == "closer":
            result = asyncio.run(closer_side(Path(path), url_root))
        else:
            result = asyncio.run(peer_side(Path(path), url_root, int(rest[0]), int(rest[1])))
        print(json.dumps(result))
        return

    from bench.common import midday_zone, seed_sqlite, standin_process
    from bot.storage.db import Database, sqlite_url
    from bot.storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as folder, standin_process(args.due + 10_000) as standin:
        path = Path(folder) / "scale.sqlite3"
        db = Database(sqlite_url(path))
        asyncio.run(upgrade(db))
        asyncio.run(db.dispose())
        now = datetime.now(UTC)
        began = time.perf_counter()
        seed_sqlite(path, args.users, due_now=args.due, now=now, zone=midday_zone(now))
        print(
            f"seeded {args.users:,} users ({2 * args.users:,} outbox rows, {args.due} due now)"
            f" in {time.perf_counter() - began:.0f} s; database {path.stat().st_size / 1e6:.0f} MB"
        )
        ours = _child("--child", "closer", str(path), standin.url_root)
        print(
            f"Closer  {args.users:>9,} users: start-up to first send "
            f"{ours['startup_to_first_send_s']:.2f} s, peak memory {ours['peak_mb']:.0f} MB, "
            f"one claim {ours['claim_ms']:.1f} ms ({ours['claimed_rows']:.0f} rows), "
            f"idle claim {ours['idle_claim_ms']:.2f} ms"
        )
        for count in (int(n) for n in args.peer_users.split(",") if n):
            peer = _child("--child", "peer", str(path), standin.url_root, str(count), str(args.due))
            print(
                f"JobQueue {count:>9,} jobs:  start-up to first send "
                f"{peer['startup_to_first_send_s']:.2f} s (adding the jobs: "
                f"{peer['schedule_s']:.2f} s), peak memory {peer['peak_mb']:.0f} MB"
            )
            if count == args.users:
                print(
                    f"  ratios at {count:,} users, JobQueue / Closer: start-up "
                    f"{peer['startup_to_first_send_s'] / ours['startup_to_first_send_s']:.1f}x, "
                    f"memory {peer['peak_mb'] / ours['peak_mb']:.1f}x"
                )


if __name__ == "__main__":
    main()

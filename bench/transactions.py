"""A press's two transactions on SQLite, three ways, and what parsing a nudge press costs.

    .venv/bin/python -m bench.transactions [--presses 3000]

On a migrated SQLite file seeded with ``--presses`` users, each with a sent nudge, the press
use case's own transaction functions (``bot.usecases.nudges._load``, the read that checks a
press, and ``_record``, the write that records "Went well"), each given a ``Tx`` over the
connection, run for every user:

- aiosqlite: inside an async session's transaction (``run_sync``), so each
  statement goes to aiosqlite's thread through SQLAlchemy's greenlet bridge;
- worker thread: whole, on the sqlite3 driver, one hop per transaction to a worker thread
  (``run_in_executor``);
- in the loop: ``Database.run`` / ``run_read``, what a press uses.

Prints CPU ms per transaction (the process's, all threads), and for the writes in the loop the
median, 99th percentile and longest wall time with how many took over 2 ms (a WAL checkpoint
inside a commit shows there). Then the CPU that python-telegram-bot's ``Update.de_json`` spends
on a nudge press's update, with and without the pressed message's text, entities and keyboard.
Each way gets a fresh file. "others": cores other processes used meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from telegram import Bot, Update

from bench.common import machine_cpu_seconds, seeded_database
from bot.callbacks import Response
from bot.nudges import render_nudge
from bot.storage.db import Database, _install_sqlite_hooks
from bot.storage.uow import Tx
from bot.usecases import nudges
from content import Item, load_library

Runner = Callable[..., Awaitable[Any]]


def _whole(work: Callable[..., Any], *, write: bool) -> Callable[..., Any]:
    """``work(tx, *args)`` as a function of a connection, as the transaction runner runs it."""

    def core(connection: Any, *args: Any) -> Any:
        tx = Tx(connection, datetime.now(UTC), write=write)
        result = work(tx, *args)
        tx._finish()
        return result

    return core


async def _prepared(folder: Path, users: int) -> tuple[Database, list[tuple[int, int]], Item]:
    """A migrated file whose users each have a sent nudge of one item; (outbox id, telegram id)."""
    db, path, now = await seeded_database(folder, "press", users)
    item = next(item for item in load_library().all_items() if item.kind != "insight")
    connection = sqlite3.connect(path)
    try:
        connection.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, item_id = ?, telegram_message_id = 1",
            (now.isoformat(), item.id),
        )
        connection.commit()
        rows = connection.execute(
            "SELECT outbox.id, users.telegram_id FROM outbox JOIN users ON users.id = user_id"
        ).fetchall()
    finally:
        connection.close()
    return db, [(int(a), int(b)) for a, b in rows], item


def _worker_runners(db: Database) -> tuple[Runner, Runner, Callable[[], None]]:
    """Read and write runners that hop to a worker thread once per transaction."""
    url = db.url.replace("sqlite+aiosqlite", "sqlite+pysqlite")
    engines = {}
    for write in (True, False):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _install_sqlite_hooks(engine, write=write)  # the async engines' pragmas and BEGIN
        engines[write] = engine
    workers = {True: ThreadPoolExecutor(1), False: ThreadPoolExecutor(2)}

    def runner(write: bool) -> Runner:
        async def run(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            def transaction() -> Any:
                with engines[write].begin() as connection:
                    return work(connection, *args, **kwargs)

            return await asyncio.get_running_loop().run_in_executor(workers[write], transaction)

        return run

    def close() -> None:
        for worker in workers.values():
            worker.shutdown()
        for engine in engines.values():
            engine.dispose()

    return runner(False), runner(True), close


def _aiosqlite_runners(db: Database) -> tuple[Runner, Runner]:
    async def read(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async with db.transaction(write=False) as session:
            return await session.run_sync(lambda s: work(s.connection(), *args, **kwargs))

    async def write(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async with db.transaction(write=True) as session:
            return await session.run_sync(lambda s: work(s.connection(), *args, **kwargs))

    return read, write


async def _measure(way: str, folder: Path, users: int) -> str:
    db, rows, item = await _prepared(folder, users)
    catalog = load_library().all_items()
    close: Callable[[], None] | None = None
    if way == "aiosqlite":
        read, write = _aiosqlite_runners(db)
    elif way == "worker thread":
        read, write, close = _worker_runners(db)
    else:
        read, write = db.run_read, db.run
    try:
        machine, cpu, began = machine_cpu_seconds(), time.process_time(), time.perf_counter()
        check = _whole(nudges._load, write=False)
        loaded = [await read(check, telegram_id, outbox, False) for outbox, telegram_id in rows]
        read_cpu = time.process_time() - cpu
        record = _whole(nudges._record, write=True)
        walls = []
        cpu = time.process_time()
        for (outbox, _), found in zip(rows, loaded, strict=True):
            assert found.user is not None
            started = time.perf_counter()
            checked = nudges._Checked(found.user, outbox, item, Response.WENT_WELL)
            recorded = await write(record, checked, catalog)
            walls.append(time.perf_counter() - started)
            assert recorded.response == "went_well"
        write_cpu = time.process_time() - cpu
        busy = machine_cpu_seconds() - machine - read_cpu - write_cpu
        others = max(busy, 0.0) / (time.perf_counter() - began)
    finally:
        if close is not None:
            close()
        await db.dispose()
    walls.sort()
    line = (
        f"  {way:14} read {read_cpu / users * 1e3:.3f} ms CPU, write {write_cpu / users * 1e3:.3f}"
        f" ms CPU (others: {others:.2f})"
    )
    if way == "in the loop":
        slow = sum(wall > 0.002 for wall in walls)
        line += (
            f"\n  {'':14} write wall: median {statistics.median(walls) * 1e3:.2f} ms,"
            f" p99 {walls[int(len(walls) * 0.99)] * 1e3:.2f} ms, longest {walls[-1] * 1e3:.1f} ms,"
            f" {slow} over 2 ms"
        )
    return line


def _parse_costs(rounds: int = 5000) -> str:
    """CPU per Update.de_json of a nudge press, with and without the pressed message's body."""
    item = next(item for item in load_library().all_items() if item.kind != "insight")
    text, keyboard = render_nudge(item, 12345)
    assert keyboard is not None
    message: dict[str, Any] = {
        "message_id": 5,
        "date": 1_700_000_000,
        "chat": {"id": 42, "type": "private", "first_name": "A"},
        "from": {"id": 1, "is_bot": True, "first_name": "Closer", "username": "closer_bot"},
        "text": text,
        "entities": [
            {"type": "bold", "offset": 0, "length": 10},
            {"type": "italic", "offset": 20, "length": 30},
        ],
        "reply_markup": keyboard.to_dict(),
    }
    sender = {"id": 42, "is_bot": False, "first_name": "A"}
    query = {"id": "9", "from": sender, "chat_instance": "1"}
    heavy = ("text", "entities", "reply_markup")
    bare = {key: value for key, value in message.items() if key not in heavy}
    bot = Bot("123:abc")
    costs = []
    for body in (message, bare):
        update = {"update_id": 1, "callback_query": {**query, "data": "x", "message": body}}
        cpu = time.process_time()
        for _ in range(rounds):
            Update.de_json(update, bot)
        costs.append((time.process_time() - cpu) / rounds * 1e3)
    return (
        f"  Update.de_json of a nudge press: {costs[0]:.3f} ms CPU; without the message's text,"
        f" entities and keyboard: {costs[1]:.3f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presses", type=int, default=3000)
    args = parser.parse_args()
    print(f"a press's transactions on SQLite, {args.presses} presses each way")
    with tempfile.TemporaryDirectory() as folder:
        for way in ("aiosqlite", "worker thread", "in the loop"):
            print(await _measure(way, Path(folder), args.presses))
    print(_parse_costs())


if __name__ == "__main__":
    asyncio.run(main())

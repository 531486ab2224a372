"""Database.run / run_read: a synchronous Core function as one whole transaction.

On both dialects it commits, rolls back when the function raises, refuses writes when read-only
and is counted. On SQLite it runs on the event loop's own thread without ever waiting in
SQLite's busy handler: a lock held by another connection is waited for asynchronously (the
loop keeps serving), and for no longer than the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace

import pytest
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.storage import db as db_module
from bot.storage.db import Database, TransactionCount
from bot.storage.models import metadata, utcnow
from bot.storage.outage import DatabaseBusy

STATE = metadata.tables["bot_state"]


class Boom(Exception):
    pass


def _add(connection: Connection, key: str, *, fail: bool = False) -> int:
    connection.execute(insert(STATE).values(key=key, value=1, updated_at=utcnow()))
    if fail:
        raise Boom
    return int(connection.execute(select(func.count()).select_from(STATE)).scalar_one())


def _count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(STATE)).scalar_one())


async def test_run_commits_rolls_back_and_counts(migrated_any_db: Database) -> None:
    db = migrated_any_db
    before = replace(db.transactions)
    assert await db.run(_add, "one") == 1
    with pytest.raises(Boom):
        await db.run(_add, "two", fail=True)
    assert await db.run_read(_count) == 1  # "two" was rolled back
    spent = db.transactions
    assert TransactionCount(spent.read - before.read, spent.write - before.write) == (
        TransactionCount(read=1, write=2)
    )


async def test_run_read_refuses_writes(migrated_any_db: Database) -> None:
    with pytest.raises(DBAPIError):
        await migrated_any_db.run_read(_add, "sneaky")
    assert await migrated_any_db.run_read(_count) == 0
    assert await migrated_any_db.run(_add, "fine") == 1  # the pool recovered


def _path(db: Database) -> str:
    path = make_url(db.url).database
    assert path is not None
    return path


async def test_a_lock_held_elsewhere_is_waited_for_without_blocking_the_loop(
    migrated_db: Database,
) -> None:
    """Another process's write transaction holds SQLite's lock for 0.3 s: the write waits for
    it asynchronously (a ticker keeps running meanwhile), reads never wait, and both commit."""
    other = sqlite3.connect(_path(migrated_db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, other.execute, "COMMIT")
    try:
        started = loop.time()
        assert await migrated_db.run_read(_count) == 0  # WAL: a reader is not held up
        assert loop.time() - started < 0.1
        assert await migrated_db.run(_add, "after") == 1
        waited = loop.time() - started
    finally:
        ticking.cancel()
        other.close()
    assert 0.25 <= waited < 2.0
    assert ticks >= 10  # the loop kept serving while the write waited


async def test_a_lock_held_past_the_busy_timeout_gives_database_busy(
    migrated_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(_path(migrated_db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseBusy):
            await migrated_db.run(_add, "never")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await migrated_db.run(_add, "now") == 1  # nothing half-done was left behind


def _autocheckpoint(connection: Connection) -> int:
    return int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


async def test_the_wal_is_checkpointed_in_a_worker_thread_not_in_a_commit(
    migrated_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run's connections leave SQLite's automatic checkpoint off (it would run inside a commit,
    in the loop's thread); every CHECKPOINT_EVERY writes one runs in a worker thread instead."""
    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY", 5)
    assert await migrated_db.run(_autocheckpoint) == 0
    assert await migrated_db.run_read(_autocheckpoint) == 0
    for round_ in (1, 2):
        for n in range(5):
            await migrated_db.run(_add, f"k{round_}-{n}")
        for _ in range(200):
            if migrated_db.checkpoints >= round_:
                break
            await asyncio.sleep(0.01)
        assert migrated_db.checkpoints == round_
    other = sqlite3.connect(_path(migrated_db))
    try:  # nothing is left to copy back: the worker's checkpoints kept up
        busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        other.close()
    assert busy == 0 and frames == copied

"""SQLite under concurrency: WAL, busy timeout, and write transactions that never hit "locked"."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from bot.storage.db import SQLITE_BUSY_TIMEOUT_MS, Database
from bot.storage.models import BotState, utcnow

TASKS = 20


async def _seed_counter(db: Database) -> None:
    async with db.transaction(write=True) as session:
        session.add(BotState(key="counter", value=0))


async def _read_counter(db: Database) -> int:
    async with db.transaction(write=False) as session:
        value = await session.scalar(select(BotState.value).where(BotState.key == "counter"))
    assert isinstance(value, int)
    return value


async def _increment(db: Database) -> None:
    async with db.transaction(write=True) as session:
        row = await session.get(BotState, "counter")
        assert row is not None
        seen = row.value
        assert isinstance(seen, int)
        # Let every other task read before this one writes: the classic lost-update setup.
        await asyncio.sleep(0.005)
        row.value = seen + 1
        row.updated_at = utcnow()


async def test_concurrent_read_then_write_transactions_all_succeed_exactly(
    migrated_db: Database,
) -> None:
    await _seed_counter(migrated_db)
    results = await asyncio.gather(
        *(_increment(migrated_db) for _ in range(TASKS)), return_exceptions=True
    )
    errors = [result for result in results if isinstance(result, BaseException)]
    assert errors == []
    assert await _read_counter(migrated_db) == TASKS


async def test_pragmas_are_in_effect_on_every_pooled_connection(migrated_db: Database) -> None:
    async def pragmas() -> tuple[object, ...]:
        async with migrated_db.transaction(write=True) as session:
            values = []
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous"):
                values.append((await session.execute(text(f"PRAGMA {name}"))).scalar_one())
            await asyncio.sleep(0.01)  # hold the connection so the others need their own
            return tuple(values)

    seen = await asyncio.gather(*(pragmas() for _ in range(5)))
    # synchronous: 1 is NORMAL.
    assert set(seen) == {("wal", 1, SQLITE_BUSY_TIMEOUT_MS, 1)}


async def test_reads_proceed_while_a_write_transaction_is_open(migrated_db: Database) -> None:
    await _seed_counter(migrated_db)
    writer_holds_lock = asyncio.Event()
    release_writer = asyncio.Event()

    async def writer() -> None:
        async with migrated_db.transaction(write=True) as session:
            row = await session.get(BotState, "counter")
            assert row is not None
            row.value = 41
            await session.flush()
            writer_holds_lock.set()
            await release_writer.wait()

    task = asyncio.create_task(writer())
    await writer_holds_lock.wait()
    # WAL: the reader sees the last committed value without waiting for the writer.
    assert await asyncio.wait_for(_read_counter(migrated_db), timeout=1) == 0
    release_writer.set()
    await task
    assert await _read_counter(migrated_db) == 41


async def test_read_only_transaction_refuses_writes_and_the_connection_recovers(
    migrated_db: Database,
) -> None:
    with pytest.raises(OperationalError, match="readonly"):
        async with migrated_db.transaction(write=False) as session:
            session.add(BotState(key="nope", value=1))
    # The same pooled connection serves a write transaction again.
    await _seed_counter(migrated_db)
    assert await _read_counter(migrated_db) == 0

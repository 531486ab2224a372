"""Database.transaction(write=True) on both dialects: commit, rollback, read-only, locking reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from bot.storage.db import Database, async_url, sqlite_url
from bot.storage.models import BotState, utcnow


class Boom(Exception):
    pass


async def _count_state(db: Database) -> int:
    async with db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(BotState)) or 0)


async def test_transaction_commits_on_success(migrated_any_db: Database) -> None:
    async with migrated_any_db.transaction(write=True) as session:
        session.add(BotState(key="lease", owner="a"))
    assert await _count_state(migrated_any_db) == 1


async def test_transaction_rolls_back_when_the_block_raises(migrated_any_db: Database) -> None:
    with pytest.raises(Boom):
        async with migrated_any_db.transaction(write=True) as session:
            session.add(BotState(key="lease", owner="a"))
            await session.flush()
            raise Boom
    assert await _count_state(migrated_any_db) == 0


async def test_read_only_transaction_refuses_writes(migrated_any_db: Database) -> None:
    with pytest.raises(DBAPIError):
        async with migrated_any_db.transaction(write=False) as session:
            session.add(BotState(key="lease", owner="a"))
    async with migrated_any_db.transaction(write=True) as session:
        session.add(BotState(key="lease", owner="b"))
    assert await _count_state(migrated_any_db) == 1


async def test_locking_read_then_write_is_exact_on_both_dialects(
    migrated_any_db: Database,
) -> None:
    # The portable pattern for read-modify-write: FOR UPDATE on PostgreSQL (READ COMMITTED),
    # ignored by SQLite, where BEGIN IMMEDIATE already serialises writers.
    async with migrated_any_db.transaction(write=True) as session:
        session.add(BotState(key="counter", value=0))

    async def increment() -> None:
        async with migrated_any_db.transaction(write=True) as session:
            row = await session.scalar(
                select(BotState).where(BotState.key == "counter").with_for_update()
            )
            assert row is not None
            seen = row.value
            assert isinstance(seen, int)
            await asyncio.sleep(0.002)
            row.value = seen + 1
            row.updated_at = utcnow()

    await asyncio.gather(*(increment() for _ in range(10)))
    async with migrated_any_db.transaction(write=False) as session:
        assert await session.scalar(select(BotState.value)) == 10


def test_urls_map_to_async_drivers() -> None:
    assert async_url("sqlite:///data/x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+psycopg://u@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://u@h/db")
    assert sqlite_url("/srv/closer/db.sqlite3") == "sqlite+aiosqlite:////srv/closer/db.sqlite3"


async def test_sqlite_database_creates_its_folder(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "deeper" / "closer.sqlite3"
    db = Database(f"sqlite:///{target}")
    try:
        assert db.dialect == "sqlite"
        assert target.parent.is_dir()
        async with db.transaction(write=True) as session:
            await session.execute(select(1))
        assert target.exists()
    finally:
        await db.dispose()


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="SQLite file"):
        Database("sqlite://")
    with pytest.raises(ValueError, match="SQLite file"):
        Database("sqlite:///:memory:")


def test_repr_hides_the_password() -> None:
    db = Database("postgresql://closer:s3cret@db.example/closer")
    assert "s3cret" not in repr(db)
    assert db.dialect == "postgresql"


async def test_many_concurrent_writers_in_one_process_all_commit_without_waiting_in_sqlite(
    migrated_db: Database,
) -> None:
    """Write transactions take turns on the Database's own lock (SQLite), not in SQLite's busy
    handler, which sleeps up to 100 ms a try: two hundred at once all commit, none 'locked'."""

    async def write(n: int) -> None:
        async with migrated_db.transaction(write=True) as session:
            session.add(BotState(key=f"k{n}", updated_at=utcnow()))
            await asyncio.sleep(0)  # give the others a chance to collide

    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(write(n) for n in range(200)))
    elapsed = loop.time() - started
    async with migrated_db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(BotState)) == 200
    print(f"\n200 concurrent write transactions in {elapsed:.2f} s")

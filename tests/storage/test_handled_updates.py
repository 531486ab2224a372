"""The record of handled updates: what a write records, and how long an id is kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from bot.config import Settings
from bot.runner import forget_handled_updates
from bot.services import Services
from bot.storage.db import Database
from bot.storage.handled import (
    FORGET_BATCH,
    HANDLED,
    RETENTION,
    AlreadyHandled,
    forget_all_expired,
    handling,
)
from bot.storage.uow import Transactions, Tx
from content import default_library

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def _ids(db: Database) -> set[int]:
    async with db.transaction(write=False) as session:
        return set((await session.scalars(select(HANDLED.c.update_id))).all())


async def _seed(db: Database, ages: dict[int, timedelta]) -> None:
    async with db.transaction(write=True) as session:
        await session.execute(
            insert(HANDLED),
            [{"update_id": i, "handled_at": NOW - age} for i, age in ages.items()],
        )


async def test_ids_older_than_the_retention_go_in_batches_the_rest_stay(
    migrated_any_db: Database,
) -> None:
    old = {n: RETENTION + timedelta(minutes=n) for n in range(1, 2 * FORGET_BATCH + 8)}
    kept = {
        100_000: RETENTION - timedelta(minutes=1),  # a week and a day, nearly: still kept
        100_001: timedelta(0),
    }
    await _seed(migrated_any_db, old | kept)
    writes = migrated_any_db.transactions.write
    assert await forget_all_expired(migrated_any_db, NOW) == len(old)
    assert await _ids(migrated_any_db) == set(kept)
    assert migrated_any_db.transactions.write - writes >= 3  # in batches, not one transaction


async def test_the_running_bot_sweeps_at_start_up(migrated_db: Database) -> None:
    await _seed(migrated_db, {1: RETENTION + timedelta(hours=1), 2: timedelta(hours=1)})
    services = Services(
        settings=Settings(_env_file=None),
        db=migrated_db,
        library=default_library(),
        clock=lambda: NOW,
    )
    stop = asyncio.Event()
    stop.set()  # one sweep, then it ends with the bot
    await asyncio.wait_for(forget_handled_updates(services, stop), 10)
    assert await _ids(migrated_db) == {2}


async def test_a_handling_records_with_its_first_write_only(migrated_any_db: Database) -> None:
    runner = Transactions(migrated_any_db, lambda: NOW)

    def touch(tx: Tx) -> int:
        return int(tx.conn.scalar(select(func.count()).select_from(HANDLED)) or 0)

    assert await runner.write(touch) == 0  # outside a handling: nothing recorded
    with handling(7):
        assert await runner.read(touch) == 0  # a read records nothing
        assert await runner.write(touch) == 1  # the first write records it, before the work
        assert await runner.write(touch) == 1  # a second write of the same handling passes
    with handling(7), pytest.raises(AlreadyHandled):
        await runner.read(touch)  # delivered again: refused at the first look
    with handling(7):
        with pytest.raises(AlreadyHandled):
            await runner.write(touch)
        with pytest.raises(AlreadyHandled):
            await runner.read(touch)  # and so is everything after it
    assert await _ids(migrated_any_db) == {7}

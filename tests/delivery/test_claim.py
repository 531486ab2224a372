"""Claiming due rows: concurrent claimers never share a row, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.outbox import claim_due
from scheduler.ports import Claim
from tests.delivery.seeding import seed_due, seed_users

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


async def _claim(db: Database, owner: str, limit: int) -> list[int]:
    async with db.transaction(write=True) as session:
        claimed = await session.run_sync(
            lambda s: claim_due(
                s.connection(),
                Claim(
                    now=NOW,
                    lease_now=NOW,
                    owner=owner,
                    lease_until=NOW + timedelta(minutes=1),
                    limit=limit,
                ),
            )
        )
    return [row.id for row in claimed.rows]


async def test_concurrent_claimers_never_claim_the_same_row(migrated_any_db: Database) -> None:
    db = migrated_any_db
    users = await seed_users(db, 30, now=NOW)
    ids = await seed_due(db, [u for u, _ in users], NOW, per_user=10, planned=False, item_id="x")

    async def claimer(owner: str) -> list[int]:
        claimed: list[int] = []
        while batch := await _claim(db, owner, 7):
            claimed.extend(batch)
            await asyncio.sleep(0)
        return claimed

    results = await asyncio.gather(*(claimer(f"claimer-{n}") for n in range(4)))

    everything = [row for result in results for row in result]
    assert sorted(everything) == ids, "every row claimed exactly once"
    assert sum(1 for result in results if result) >= 2, "the claimers really ran side by side"


async def test_a_live_lease_is_not_taken_and_an_expired_one_is(migrated_any_db: Database) -> None:
    db = migrated_any_db
    users = await seed_users(db, 1, now=NOW)
    (row_id,) = await seed_due(db, [users[0][0]], NOW, planned=False, item_id="x")
    assert await _claim(db, "first", 10) == [row_id]
    assert await _claim(db, "second", 10) == [], "leased for a minute"
    async with db.transaction(write=True) as session:
        later = NOW + timedelta(minutes=2)
        claimed = await session.run_sync(
            lambda s: claim_due(
                s.connection(),
                Claim(now=later, lease_now=later, owner="second", lease_until=later, limit=10),
            )
        )
    assert [(row.id, row.stale, row.attempts) for row in claimed.rows] == [(row_id, True, 2)]


async def test_postgres_skip_locked_passes_over_rows_another_claim_holds(
    postgres_url: str,
) -> None:
    db = Database(postgres_url)
    try:
        await upgrade(db)
        users = await seed_users(db, 4, now=NOW)
        ids = await seed_due(db, [u for u, _ in users], NOW, per_user=5, planned=False, item_id="x")
        async with db.transaction(write=True) as holding:
            claim = Claim(now=NOW, lease_now=NOW, owner="a", lease_until=NOW, limit=10)
            first = (await holding.run_sync(lambda s: claim_due(s.connection(), claim))).rows
            # The first claim is not committed: its rows are locked. Without SKIP LOCKED the
            # second claim would wait for them; with it, it takes the others at once.
            second = await asyncio.wait_for(_claim(db, "b", 20), timeout=5)
        assert len(first) == 10 and len(second) == 10
        assert sorted([row.id for row in first] + second) == ids
    finally:
        await db.dispose()

"""Migrations: every step goes up and down cleanly, and they match the models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from bot.storage.db import Database
from bot.storage.migrate import alembic_config, current_revision, downgrade, upgrade
from bot.storage.models import metadata


def _revisions_base_to_head(db: Database) -> list[tuple[str, str]]:
    script = ScriptDirectory.from_config(alembic_config(db.url))
    assert len(script.get_heads()) == 1, "migrations must have a single head"
    steps = []
    for revision in reversed(list(script.walk_revisions("base", "heads"))):
        down = revision.down_revision
        assert down is None or isinstance(down, str), "merge revisions need their own test"
        steps.append((revision.revision, down or "base"))
    return steps


async def _table_names(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_stairway_each_revision_upgrades_downgrades_and_upgrades_again(
    any_db: Database,
) -> None:
    steps = _revisions_base_to_head(any_db)
    assert steps, "there must be at least one revision"
    for revision, previous in steps:
        await upgrade(any_db, revision)
        assert await current_revision(any_db) == revision
        await downgrade(any_db, previous)
        assert await current_revision(any_db) == (None if previous == "base" else previous)
        await upgrade(any_db, revision)
        assert await current_revision(any_db) == revision


async def test_downgrade_to_base_removes_every_table(any_db: Database) -> None:
    await upgrade(any_db)
    assert await _table_names(any_db) >= set(metadata.tables)
    await downgrade(any_db, "base")
    assert await _table_names(any_db) <= {"alembic_version"}
    assert await current_revision(any_db) is None


async def test_models_and_migrations_do_not_drift(migrated_any_db: Database) -> None:
    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with migrated_any_db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_fresh_database_has_no_revision_and_head_after_upgrade(any_db: Database) -> None:
    assert await current_revision(any_db) is None
    await upgrade(any_db)
    head = ScriptDirectory.from_config(alembic_config(any_db.url)).get_current_head()
    assert await current_revision(any_db) == head


async def test_migrations_run_from_any_working_directory(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No alembic.ini: the Config finds the installed migrations package by itself.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    db = Database(sqlite_url)
    try:
        await upgrade(db)
        assert await current_revision(db) is not None
    finally:
        await db.dispose()


async def test_sqlite_foreign_keys_stay_on_after_migrating(migrated_db: Database) -> None:
    # Migrations switch them off around the transaction; pooled connections must get them back.
    async with migrated_db.transaction(write=False) as session:
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1


async def test_0004_lets_the_outbox_hold_timers_and_its_downgrade_drops_them(
    any_db: Database,
) -> None:
    insert_timer = text(
        "INSERT INTO outbox (user_id, kind, due_at, status, attempts, planned,"
        " ambiguous_count, created_at) VALUES"
        " (1, 'timer', CURRENT_TIMESTAMP, 'pending', 0, false, 0, CURRENT_TIMESTAMP)"
    )
    await upgrade(any_db, "0003")
    async with any_db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO users (id, telegram_id, chat_id, created_at)"
                " VALUES (1, 1, 1, CURRENT_TIMESTAMP)"
            )
        )
    with pytest.raises(Exception, match=r"(?i)check"):
        async with any_db.engine.begin() as conn:
            await conn.execute(insert_timer)
    await upgrade(any_db, "0004")
    async with any_db.engine.begin() as conn:
        await conn.execute(insert_timer)
    await downgrade(any_db, "0003")
    async with any_db.engine.connect() as conn:
        kinds = list(await conn.scalars(text("SELECT kind FROM outbox")))
    assert kinds == []

"""An erased note leaves no bytes in the SQLite file (PRAGMA secure_delete)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.storage.db import SQLITE_PRAGMAS, Database

NOW = "2026-11-30 23:00:00.000000"
MARKER = "zq-erased-note-7f3a9c-he-said-he-was-fine"


def _path(db: Database) -> Path:
    return Path(make_url(db.url).database or "")


async def _checkpoint(db: Database) -> None:
    """Copy the WAL into the main file (a plain connection: no transaction may be open)."""
    with closing(sqlite3.connect(_path(db))) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _file_bytes(db: Database) -> bytes:
    path = _path(db)
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_secure_delete_is_among_the_pragmas() -> None:
    assert "PRAGMA secure_delete = ON" in SQLITE_PRAGMAS


async def test_an_erased_note_is_not_left_in_the_sqlite_file(migrated_db: Database) -> None:
    note = f"{MARKER} " * 20  # a few hundred bytes, inside one page and spilling over
    async with migrated_db.transaction(write=True) as session:
        user_id = (
            await session.execute(
                text(
                    "INSERT INTO users (telegram_id, chat_id, created_at)"
                    " VALUES (901, 901, :now) RETURNING id"
                ),
                {"now": NOW},
            )
        ).scalar_one()
        await session.execute(
            text(
                "INSERT INTO conversation_logs (user_id, outcome, note, source, created_at)"
                " VALUES (:user_id, 'mixed', :note, 'log', :now)"
            ),
            {"user_id": user_id, "note": note, "now": NOW},
        )
    await _checkpoint(migrated_db)
    assert MARKER.encode() in _file_bytes(migrated_db)  # the test can see a note when there is one

    async with migrated_db.transaction(write=True) as session:
        await session.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    await _checkpoint(migrated_db)
    await migrated_db.dispose()
    assert MARKER.encode() not in _file_bytes(migrated_db)


def test_without_secure_delete_the_same_erasure_leaves_the_note(tmp_path: Path) -> None:
    """The control: this check does see remnants when the pragma is off (whatever the build's
    default), so the test above would catch a Database that stopped setting it."""
    path = tmp_path / "plain.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA secure_delete = OFF")
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, note TEXT)")
        connection.execute("INSERT INTO notes (note) VALUES (?)", (f"{MARKER} " * 20,))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("DELETE FROM notes")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert MARKER.encode() in path.read_bytes()


async def test_every_connection_runs_with_secure_delete(migrated_db: Database) -> None:
    async with migrated_db.transaction(write=False) as session:
        assert (await session.execute(text("PRAGMA secure_delete"))).scalar_one() == 1

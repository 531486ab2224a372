"""Storage outages are told from bugs by the driver's codes: real errors from real drivers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from telegram.error import NetworkError, TimedOut

from bot.storage.db import Database
from bot.storage.outage import DatabaseBusy, StorageWatch, storage_outage


def _raised(action: object) -> BaseException:
    try:
        action()  # type: ignore[operator]
    except BaseException as exc:
        return exc
    raise AssertionError("nothing was raised")


def test_sqlite_codes(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT)")
    # SQLITE_FULL: the file may not grow.
    count = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {count}")
    full = _raised(lambda: connection.execute("INSERT INTO t (y) VALUES (?)", ("x" * 100_000,)))
    outage = storage_outage(full)
    assert outage is not None and outage.reason == "disk full" and outage.code == "SQLITE_FULL"
    # SQLITE_READONLY, SQLITE_CANTOPEN.
    connection.execute("PRAGMA max_page_count = 1073741823")
    readonly = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    found = storage_outage(_raised(lambda: readonly.execute("INSERT INTO t (y) VALUES ('a')")))
    assert found is not None and found.reason == "database read-only"
    missing = _raised(lambda: sqlite3.connect(f"file:{tmp_path}/no/such.db?mode=rw", uri=True))
    found = storage_outage(missing)
    assert found is not None and found.code == "SQLITE_CANTOPEN"
    # An empty (unmigrated) file: no such table.
    found = storage_outage(_raised(lambda: connection.execute("SELECT * FROM users")))
    assert found is not None and found.reason == "schema missing"
    # Bugs: a constraint, a syntax error, a wrong column.
    connection.execute("INSERT INTO t (x, y) VALUES (1, 'a')")
    for bug in (
        lambda: connection.execute("INSERT INTO t (x, y) VALUES (1, 'b')"),
        lambda: connection.execute("SELEC 1"),
        lambda: connection.execute("SELECT nope FROM t"),
    ):
        assert storage_outage(_raised(bug)) is None


def test_busy_past_the_timeout_and_plain_bugs() -> None:
    assert storage_outage(DatabaseBusy("locked")) is not None
    assert storage_outage(ValueError("a bug")) is None
    assert storage_outage(KeyError("x")) is None


def test_a_telegram_network_error_is_not_a_storage_outage() -> None:
    try:
        try:
            raise ConnectionResetError(104, "reset")
        except ConnectionResetError as inner:
            raise NetworkError("telegram unreachable") from inner
    except NetworkError as exc:
        assert storage_outage(exc) is None
    try:
        try:
            raise TimeoutError
        except TimeoutError as inner:
            raise TimedOut from inner
    except TimedOut as exc:
        assert storage_outage(exc) is None


async def test_through_sqlalchemy_on_sqlite(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        found = storage_outage(await _fails(db, "SELECT * FROM no_such_table"))
        assert found is not None and found.reason == "schema missing"
        assert db.watch.outage is not None  # Database.run noted it
        await db.run(lambda conn: conn.execute(text("CREATE TABLE ok (x INTEGER)")))
        assert db.watch.outage is None, "a write that went through ends it"
        assert storage_outage(await _fails(db, "SELEC 1")) is None
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_postgresql_codes(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        found = storage_outage(await _fails(db, "SELECT * FROM no_such_table"))
        assert found is not None and found.code == "42P01"
        assert storage_outage(await _fails(db, "SELEC 1")) is None  # 42601: a bug
        assert storage_outage(await _fails(db, "SELECT 1/0")) is None  # 22012: a bug
        found = storage_outage(await _fails(db, "SELECT pg_terminate_backend(pg_backend_pid())"))
        assert found is not None, "a connection the server ended"
    finally:
        await db.dispose()
    url = make_url(postgres_url).set(database="closer_no_such_database")
    gone = Database(url.render_as_string(hide_password=False))
    try:
        found = storage_outage(await _fails(gone, "SELECT 1"))
        assert found is not None and found.code == "3D000"
    finally:
        await gone.dispose()
    refused = Database("postgresql://postgres@127.0.0.1:1/test")
    try:
        found = storage_outage(await _fails(refused, "SELECT 1"))
        assert found is not None and found.reason == "connection failed"
    finally:
        await refused.dispose()


def test_the_watch_counts_tries_to_its_bound() -> None:
    watch = StorageWatch(attempts_bound=3, seconds_bound=0.0)
    assert [watch.tried(7) for _ in range(3)] == [False, False, True]
    watch.done(7)
    assert watch.tried(7) is False  # counted afresh
    slow = StorageWatch(attempts_bound=1, seconds_bound=3600.0)
    assert slow.tried(1) is False, "both bounds must be passed"
    assert watch.first_word(5) and not watch.first_word(5)


async def _fails(db: Database, sql: str) -> BaseException:
    try:
        await asyncio.wait_for(db.run_read(lambda conn: conn.execute(text(sql)).all()), 10)
    except Exception as exc:
        return exc
    raise AssertionError(f"{sql!r} did not fail")

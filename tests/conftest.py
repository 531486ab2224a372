"""Shared fixtures.

Databases: a real SQLite file per test (``sqlite_url``, ``migrated_db``) and, for tests about
PostgreSQL, the server at 127.0.0.1:5432 (``postgres_url``; override with
CLOSER_TEST_POSTGRES_URL), each test in a fresh schema of its own. Without a reachable server the
PostgreSQL tests are skipped, except when CI=true, where they fail: CI must really run them.
``any_db_url`` / ``migrated_any_db`` run a test once on each dialect.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NoReturn

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from bot.storage.db import Database
from bot.storage.db import sqlite_url as make_sqlite_url
from bot.storage.migrate import upgrade

POSTGRES_URL_ENV = "CLOSER_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses PostgreSQL, so ``-m "not postgres"`` leaves them out."""
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


# Why the server was unreachable, remembered so later tests do not wait for the timeout again.
_postgres_failure: list[str] = []


def _postgres_unavailable(reason: str) -> NoReturn:
    if not _postgres_failure:
        _postgres_failure.append(reason)
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required when CI=true but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not reachable ({reason}); with CI=true this fails instead")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh SQLite file (not created yet) in this test's folder."""
    return make_sqlite_url(tmp_path / "closer.sqlite3")


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of the test PostgreSQL database, confined to a fresh schema dropped afterwards."""
    base = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    if _postgres_failure:
        _postgres_unavailable(_postgres_failure[0])
    try:
        admin = await asyncpg.connect(dsn, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        _postgres_unavailable(f"connecting to {base.render_as_string()} failed: {exc!r}")
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
async def migrated_db(sqlite_url: str) -> AsyncIterator[Database]:
    """A Database on a fresh SQLite file, migrated to head."""
    db = Database(sqlite_url)
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database URL, once for SQLite and once for PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def any_db(any_db_url: str) -> AsyncIterator[Database]:
    """A Database on an empty SQLite file / PostgreSQL schema (not migrated)."""
    db = Database(any_db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def migrated_any_db(any_db: Database) -> Database:
    """``any_db`` migrated to head."""
    await upgrade(any_db)
    return any_db

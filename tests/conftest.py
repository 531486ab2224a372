"""Shared fixtures.

Databases: a real SQLite file per test (``sqlite_url``, ``migrated_db``) and, for tests about
PostgreSQL, the server at 127.0.0.1:5432 (``postgres_url``; override with
CLOSER_TEST_POSTGRES_URL), each test in a fresh schema of its own. Without a reachable server the
PostgreSQL tests are skipped, except when CI=true, where they fail: CI must really run them.
``any_db_url`` / ``migrated_any_db`` run a test once on each dialect. A migrated SQLite file is
made once per test session (``migrated_sqlite_template``) and copied for each test that wants one.

Tests marked ``slow`` start processes of their own (`closer run` and the like, often to crash
them); ``python -m pytest -m "not slow"`` runs the fast tier alone. Any such process still
running when its test ends is killed.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NoReturn

import asyncpg  # type: ignore[import-untyped]
import pytest
import structlog
from sqlalchemy.engine import make_url

from bot.storage.db import Database
from bot.storage.db import sqlite_url as make_sqlite_url
from bot.storage.migrate import upgrade
from tests.templates import copy_migrated_sqlite, make_migrated_sqlite

POSTGRES_URL_ENV = "CLOSER_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses PostgreSQL, so ``-m "not postgres"`` leaves them out; and
    start the slow tests first, so that with several workers none is left for the end alone."""
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    yield
    processes = sys.modules.get("tests.processes")
    if processes is not None:
        processes.close_all()


@pytest.fixture(autouse=True)
def _plain_tracebacks_in_logs() -> None:
    """structlog's default console output, but with plain tracebacks. Its default draws them
    with rich, every local variable included (the whole content library, for an error in a
    handler): seconds for each error a test provokes. Tests that configure logging themselves
    are unaffected."""
    if structlog.is_configured():
        return
    *processors, renderer = structlog.get_config()["processors"]
    if isinstance(renderer, structlog.dev.ConsoleRenderer):
        plain = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        structlog.configure(processors=[*processors, plain])


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


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, once per session: copy it, never open it."""
    return make_migrated_sqlite(tmp_path_factory.mktemp("template") / "closer.sqlite3")


@pytest.fixture
async def migrated_db(sqlite_url: str, migrated_sqlite_template: Path) -> AsyncIterator[Database]:
    """A Database on a fresh SQLite file, migrated to head (a copy of the session's template)."""
    copy_migrated_sqlite(migrated_sqlite_template, sqlite_url)
    db = Database(sqlite_url)
    try:
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
async def migrated_any_db(
    any_db: Database, any_db_url: str, request: pytest.FixtureRequest
) -> Database:
    """``any_db`` migrated to head (on SQLite, a copy of the session's migrated template)."""
    if make_url(any_db_url).get_backend_name() == "sqlite":
        copy_migrated_sqlite(request.getfixturevalue("migrated_sqlite_template"), any_db_url)
    else:
        await upgrade(any_db)
    return any_db

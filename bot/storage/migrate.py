"""Run the Alembic migrations in ``migrations/`` on a Database, inside the caller's event loop.

There is no alembic.ini: the Config is built here, pointing at the installed ``migrations``
package, and the connection is handed to ``migrations/env.py`` through
``config.attributes["connection"]``.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from bot.storage.db import Database


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (e.g. a dangling foreign key on SQLite)."""


def script_location() -> str:
    """The folder of the installed ``migrations`` package (env.py, versions/).

    Found as a package resource, not imported: the migration scripts import the models, and
    the storage layer only needs to know where Alembic should look.
    """
    return str(Path(str(importlib.resources.files("migrations"))).resolve())


def alembic_config(url: str) -> Config:
    """An Alembic Config for ``url`` built in code (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", script_location())
    config.set_main_option("path_separator", "os")
    # ConfigParser interpolation treats "%" specially (e.g. in URL-encoded passwords).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: the newest)."""
    await _run(db, lambda config: command.upgrade(config, revision))


async def downgrade(db: Database, revision: str) -> None:
    """Downgrade the database to ``revision`` (e.g. ``"-1"`` or ``"base"``)."""
    await _run(db, lambda config: command.downgrade(config, revision))


def head_revision() -> str | None:
    """The newest revision of the installed migrations (what ``upgrade`` brings a database to)."""
    config = Config()
    config.set_main_option("script_location", script_location())
    config.set_main_option("path_separator", "os")
    return ScriptDirectory.from_config(config).get_current_head()


async def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )


async def _run(db: Database, work: Callable[[Config], None]) -> None:
    config = alembic_config(db.url)
    async with db.engine.connect() as conn:
        await conn.run_sync(run_in_transaction, lambda c: _with_connection(config, c, work))


def _with_connection(
    config: Config, connection: Connection, work: Callable[[Config], None]
) -> None:
    config.attributes["connection"] = connection
    work(config)


def run_in_transaction(connection: Connection, work: Callable[[Connection], None]) -> None:
    """Run ``work`` in one transaction on ``connection`` (not yet in a transaction).

    On SQLite, batch migrations rebuild tables (create a copy, drop the original, rename); with
    foreign keys enforced, dropping a parent table would cascade-delete its children. So foreign
    keys are switched off around the transaction (the pragma is ignored inside one) and checked
    with ``PRAGMA foreign_key_check`` before committing instead.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_pragma_outside_transaction(connection, "PRAGMA foreign_keys = OFF")
    try:
        with connection.begin():
            work(connection)
            if sqlite:
                dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    raise MigrationError(f"foreign keys broken by the migration: {dangling!r}")
    finally:
        if sqlite:
            _sqlite_pragma_outside_transaction(connection, "PRAGMA foreign_keys = ON")


def _sqlite_pragma_outside_transaction(connection: Connection, pragma: str) -> None:
    # Through the DBAPI cursor: a SQLAlchemy execute would autobegin a transaction first.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()

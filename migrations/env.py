"""Alembic environment for Closer: async engine, batch mode on SQLite, shared connection.

``bot.storage.migrate`` hands over a connection in ``config.attributes["connection"]`` and the
migrations run on it, inside the caller's event loop and transaction. Without one (the ``alembic``
command line with a Config naming ``sqlalchemy.url``) this file opens its own async engine.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from bot.storage.db import Database
from bot.storage.migrate import run_in_transaction
from bot.storage.models import UTCDateTime, metadata

config = context.config
target_metadata = metadata


def _render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render the model's UTCDateTime as the plain column type it stores (autogenerate)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations(connection: Connection) -> None:
    """Run the migrations on a connection; the caller owns the transaction."""
    sqlite = connection.dialect.name == "sqlite"
    _configure(
        connection=connection,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        # SQLAlchemy emits BEGIN for SQLite (see bot.storage.db), so its DDL is transactional.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    """Run the migrations through an AsyncEngine of our own."""
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(run_in_transaction, run_migrations)
    finally:
        await db.dispose()


def run_migrations_offline(url: str) -> None:
    """Emit the SQL instead of running it (``alembic upgrade --sql``)."""
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    shared = config.attributes.get("connection")
    if isinstance(shared, Connection):
        run_migrations(shared)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or pass a connection")
    if context.is_offline_mode():
        run_migrations_offline(url)
    else:
        asyncio.run(run_async_migrations(url))


main()

"""A migrated SQLite file made once and copied: the same file a fresh migration gives, for the
price of a copy (see ``migrated_sqlite_template`` in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.storage.db import Database
from bot.storage.db import sqlite_url as make_sqlite_url
from bot.storage.migrate import upgrade


def make_migrated_sqlite(path: Path) -> Path:
    """Create the SQLite file ``path`` migrated to head (in a thread with an event loop of its
    own: the fixture asking for it may be running in a test's loop)."""

    async def migrate() -> None:
        db = Database(make_sqlite_url(path))
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, migrate()).result()
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert not leftovers, f"the migrated file is more than one file: {leftovers}"
    return path


def copy_migrated_sqlite(template: Path, url: str) -> None:
    """Make the (not yet created) SQLite file of ``url`` a copy of the migrated ``template``."""
    target = make_url(url).database
    assert target and not Path(target).exists(), target
    shutil.copyfile(template, target)

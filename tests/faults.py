"""A full disk for SQLite, without mounting anything: the bot's test-only fault setting.

``CLOSER_FAULT_DISK_FULL_FILE`` (``Database(disk_full_file=...)``) names a file; while it exists,
every write transaction runs with ``PRAGMA max_page_count`` at the database's current size, so
the file cannot grow. :func:`fill_the_disk` then uses up the free pages and the slack of the
handled-updates table with rows above any real update id: every update's first write (its
id, recorded in the page beside those rows) needs a page SQLite cannot have, and fails with a
real SQLITE_FULL, as on a full disk. Remove the file and the space is back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from bot.storage.db import Database
from bot.storage.models import metadata

HANDLED = metadata.tables["handled_updates"]
FILLER_IDS = 1 << 40  # above any update id Telegram (or the stand-in) gives


async def fill_the_disk(db: Database, flag: Path) -> int:
    """Make the disk full for every connection made with ``flag`` as its fault file (``db``'s
    own included); the filler rows written."""
    flag.touch()  # noqa: ASYNC240 - instant, and the point of the test
    start = FILLER_IDS
    now = datetime.now(UTC)

    def fill(conn: Any, first: int, count: int) -> None:
        conn.execute(
            HANDLED.insert(), [{"update_id": first + n, "handled_at": now} for n in range(count)]
        )

    for batch in (200, 20, 1):
        while True:
            try:
                await db.run(fill, start, batch)
            except OperationalError as exc:
                if "full" not in str(exc):
                    raise
                break
            start += batch
    db.watch.wrote()  # the filling's own failure is not an outage of the bot's
    return start - FILLER_IDS

"""Each update takes effect once, by Telegram's ``update_id``.

The update being handled is known to the transaction runner through a context variable,
:data:`HANDLING`, set for the duration of ``Application.process_update`` (``bot.context``): each
update is processed in a task of its own (the poller's, the webhook request's, a test's
``gather``), so two deliveries of one update handled at once each see their own
:class:`Handling`.

The first write transaction of a handling inserts the update's id into ``handled_updates``,
before the use case runs and in the same transaction as its effect. If the id is there
already, the update took effect before (a re-delivery after a crash or a webhook retry) or
takes effect right now on another task or worker (on PostgreSQL the insert waits for that
transaction and then finds the row; on SQLite write transactions take turns): the transaction
is rolled back and :class:`AlreadyHandled` raised, so nothing is written and nothing sent.
Later writes of the same handling (an update may run two: /tip prepares its nudge, then
records it sent) go through; after a refusal, every later transaction of it is refused too.
The first read of a handling looks the id up: an update that took effect before is refused
there too, so its re-delivery is not answered as something new (a note as free text). A pure
read (/help, a stale press) records nothing and may answer twice.

Telegram numbers updates at random after a week without any, so a row is kept for
:data:`RETENTION` (eight days) and then deleted (:func:`forget_expired`, in small batches).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Table, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.db import Database
from bot.storage.models import metadata
from bot.storage.outage import Outage, storage_outage

HANDLED: Final[Table] = metadata.tables["handled_updates"]
RETENTION: Final = timedelta(days=8)
"""How long a handled update's id is kept: longer than Telegram keeps an update (a day) and
than the week after which it may start numbering again."""
FORGET_BATCH: Final = 500
"""Rows deleted per transaction by :func:`forget_expired`."""
SWEEP_EVERY: Final = timedelta(hours=6)
"""How often a running process deletes expired rows (``bot.runner``; also at start-up)."""


class AlreadyHandled(Exception):
    """This update took (or is taking) effect in another handling: nothing was written."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} was handled already")
        self.update_id = update_id


@dataclass(slots=True)
class Handling:
    """One handling of one update: its id; whether a write of it recorded the id, a read found
    it not recorded yet, or a transaction found it handled already (then every later one of
    this handling is refused too)."""

    update_id: int
    recorded: bool = False
    checked: bool = False
    refused: bool = False
    outage: Outage | None = None  # storage failed under it: it is to come again
    set_aside: bool = False  # a bug failed it: it was set aside (``bot.storage.set_aside``)
    replayable: bool = False  # ... with what replaying it needs
    replay: bool = False  # run again from the set-aside store: its id may be recorded already


HANDLING: Final[contextvars.ContextVar[Handling | None]] = contextvars.ContextVar(
    "closer_handling", default=None
)


@contextmanager
def handling(update_id: int, *, replay: bool = False) -> Iterator[Handling]:
    """Writes in this block (in this task) belong to the handling of update ``update_id``."""
    current = Handling(update_id, replay=replay)
    token = HANDLING.set(current)
    try:
        yield current
    finally:
        HANDLING.reset(token)


def outage_under_handling(exc: BaseException) -> Outage | None:
    """The storage outage ``exc`` reports, if any, noted on the update being handled (which
    then is not confirmed: it comes again), for a caller that goes on without storage."""
    outage = storage_outage(exc)
    current = HANDLING.get()
    if outage is not None and current is not None:
        current.outage = outage
    return outage


# Built once: a statement made per call costs more CPU than the transaction around it.
_RECORD: Final = {
    "postgresql": postgresql.insert(HANDLED)
    .values(update_id=bindparam("b_id"), handled_at=bindparam("b_at"))
    .on_conflict_do_nothing(index_elements=["update_id"]),
    "sqlite": sqlite.insert(HANDLED)
    .values(update_id=bindparam("b_id"), handled_at=bindparam("b_at"))
    .on_conflict_do_nothing(index_elements=["update_id"]),
}
_FIND: Final = select(HANDLED.c.update_id).where(HANDLED.c.update_id == bindparam("b_id"))


def record(conn: Connection, update_id: int, now: datetime) -> bool:
    """Insert the handled update's row in the caller's transaction; False if it is there.

    ``ON CONFLICT DO NOTHING`` on both databases: a concurrent duplicate waits for the first
    transaction (PostgreSQL; on SQLite write transactions take turns) and then reads as
    "there" instead of raising an IntegrityError.
    """
    result = conn.execute(_RECORD[conn.dialect.name], {"b_id": update_id, "b_at": now})
    return bool(result.rowcount)


def was_handled(conn: Connection, update_id: int) -> bool:
    """Whether update ``update_id`` is recorded as handled."""
    return conn.scalar(_FIND, {"b_id": update_id}) is not None


async def newest(db: Database) -> int | None:
    """The highest update id recorded as handled (None: none)."""

    def read(conn: Connection) -> int | None:
        found: int | None = conn.scalar(select(func.max(HANDLED.c.update_id)))
        return found

    return await db.run_read(read)


def forget_expired(conn: Connection, now: datetime, limit: int = FORGET_BATCH) -> int:
    """Delete up to ``limit`` rows older than :data:`RETENTION`; how many went."""
    oldest = (
        select(HANDLED.c.update_id)
        .where(HANDLED.c.handled_at < now - RETENTION)
        .order_by(HANDLED.c.handled_at)
        .limit(limit)
    )
    ids = list(conn.scalars(oldest))
    if not ids:
        return 0
    conn.execute(delete(HANDLED).where(HANDLED.c.update_id.in_(ids)))
    return len(ids)


async def forget_all_expired(db: Database, now: datetime) -> int:
    """Delete every expired row, :data:`FORGET_BATCH` per transaction (a short write lock
    each, other writers pass in between); how many went."""
    gone = 0
    while True:
        batch = await db.run(forget_expired, now)
        gone += batch
        if batch < FORGET_BATCH:
            return gone
        await asyncio.sleep(0)

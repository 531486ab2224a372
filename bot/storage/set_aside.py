"""Updates a bug failed, kept so that they can be replayed once the bug is fixed.

A row per update (``set_aside_updates``): its id, kind, the error's type (never its message,
which may quote data), why (``bug``, or ``outage`` past the bound of ``bot.storage.outage``),
her chat id (so /forget deletes it) and, for an update without anything she wrote, the update
itself as JSON to replay. Rows are kept for :data:`RETENTION` and then deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.models import metadata

SET_ASIDE: Final[Table] = metadata.tables["set_aside_updates"]
RETENTION: Final = timedelta(days=30)
"""How long a set-aside update is kept: long enough to fix a bug and replay it."""


@dataclass(frozen=True, slots=True)
class SetAside:
    update_id: int
    kind: str
    error_type: str
    reason: str
    chat_id: int | None
    replay: str | None
    set_aside_at: datetime
    replayed_at: datetime | None = None


def keep(conn: Connection, row: SetAside) -> None:
    """Store ``row``; an update set aside again keeps its first row, with the newest error."""
    values = {
        "update_id": row.update_id,
        "kind": row.kind,
        "error_type": row.error_type[:100],
        "reason": row.reason,
        "chat_id": row.chat_id,
        "replay": row.replay,
        "set_aside_at": row.set_aside_at,
        "replayed_at": None,
    }
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(SET_ASIDE)
    conn.execute(
        insert.values(values).on_conflict_do_update(
            index_elements=["update_id"],
            set_={"error_type": values["error_type"], "reason": row.reason, "replayed_at": None},
        )
    )


def listing(conn: Connection, *, replayed: bool = False) -> list[SetAside]:
    """The set-aside updates, oldest first (``replayed``: those replayed already too)."""
    query = select(SET_ASIDE).order_by(SET_ASIDE.c.set_aside_at, SET_ASIDE.c.update_id)
    if not replayed:
        query = query.where(SET_ASIDE.c.replayed_at.is_(None))
    return [SetAside(**row._mapping) for row in conn.execute(query)]


def replayed(conn: Connection, update_id: int, now: datetime) -> None:
    conn.execute(
        update(SET_ASIDE).where(SET_ASIDE.c.update_id == update_id).values(replayed_at=now)
    )


def forget_chat(conn: Connection, chat_id: int) -> None:
    """Delete every set-aside update of this chat (/forget)."""
    conn.execute(delete(SET_ASIDE).where(SET_ASIDE.c.chat_id == chat_id))


def forget_expired(conn: Connection, now: datetime) -> int:
    """Delete rows older than :data:`RETENTION`; how many went."""
    result = conn.execute(delete(SET_ASIDE).where(SET_ASIDE.c.set_aside_at < now - RETENTION))
    return int(result.rowcount or 0)

"""Item progress after sends: the spacing policy's ``record_sent`` applied to ``item_progress``.

Called in the caller's transaction when items went out (``bot.storage.planning``: a dispatched
batch, or an item a handler sent directly). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Table, and_, bindparam, select, update

from bot.storage.models import metadata
from bot.storage.progress import state_of
from scheduler.policy import ItemState, record_sent

PROGRESS: Final[Table] = metadata.tables["item_progress"]


def record_items_sent(conn: Connection, sent: Sequence[tuple[int, str]], now: datetime) -> None:
    """After ``(user id, item id)`` pairs were sent at ``now``: the spacing policy's
    ``record_sent`` on each item's progress (created if new), and one more ``times_sent``.

    Several sends of one item in the batch are applied in order.
    """
    if not sent:
        return
    users = sorted({user_id for user_id, _ in sent})
    items = sorted({item_id for _, item_id in sent})
    rows = (
        conn.execute(
            select(PROGRESS).where(PROGRESS.c.user_id.in_(users), PROGRESS.c.item_id.in_(items))
        )
    ).all()
    existing: dict[tuple[int, str], tuple[ItemState, int]] = {
        (row.user_id, row.item_id): (state_of(row), row.times_sent) for row in rows
    }
    changed: dict[tuple[int, str], tuple[ItemState, int]] = {}
    for user_id, item_id in sent:
        key = (user_id, item_id)
        state, times = changed.get(key) or existing.get(key) or (None, 0)
        changed[key] = (record_sent(state, item_id, now), times + 1)
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for (user_id, item_id), (state, times) in changed.items():
        values = {
            "b_user": user_id,
            "b_item": item_id,
            "b_due": state.due_at,
            "b_first": state.first_sent_at,
            "b_last": state.last_sent_at,
            "b_times": times,
        }
        (updates if (user_id, item_id) in existing else inserts).append(values)
    if updates:
        conn.execute(
            update(PROGRESS)
            .where(
                and_(
                    PROGRESS.c.user_id == bindparam("b_user"),
                    PROGRESS.c.item_id == bindparam("b_item"),
                )
            )
            .values(
                due_at=bindparam("b_due"),
                first_sent_at=bindparam("b_first"),
                last_sent_at=bindparam("b_last"),
                times_sent=bindparam("b_times"),
            ),
            updates,
        )
    if inserts:
        conn.execute(
            PROGRESS.insert(),
            [
                {
                    "user_id": v["b_user"],
                    "item_id": v["b_item"],
                    "due_at": v["b_due"],
                    "first_sent_at": v["b_first"],
                    "last_sent_at": v["b_last"],
                    "times_sent": v["b_times"],
                }
                for v in inserts
            ],
        )

"""Progress and nudge rows: translation between the tables and the spacing policy's dataclasses.

Like every repository here, nothing in this module commits; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import ConversationLog, ItemProgress, OutboxMessage
from scheduler.policy import ItemState, Outcome


@dataclass(frozen=True, slots=True)
class NudgeSnapshot:
    """An outbox row as handlers see it."""

    id: int
    user_id: int
    kind: str
    item_id: str | None
    status: str
    telegram_message_id: int | None
    response: str | None
    sent_at: datetime | None

    @classmethod
    def of(cls, row: OutboxMessage) -> NudgeSnapshot:
        return cls(
            id=row.id,
            user_id=row.user_id,
            kind=row.kind,
            item_id=row.item_id,
            status=row.status,
            telegram_message_id=row.telegram_message_id,
            response=row.response,
            sent_at=row.sent_at,
        )


def state_of(row: Any) -> ItemState:
    """The spacing policy's view of an item_progress row (an ORM row or a Core row)."""
    outcome = cast(Outcome | None, row.last_outcome)
    return ItemState(
        item_id=row.item_id,
        box=row.box,
        due_at=row.due_at,
        first_sent_at=row.first_sent_at,
        last_sent_at=row.last_sent_at,
        last_outcome=outcome,
        tries=row.tries,
    )


async def load_states(
    session: AsyncSession, user_id: int, *, lock: bool = False
) -> dict[str, ItemState]:
    """Every item state of this user, by item id.

    ``lock=True`` (in a write transaction that will save a state) takes the rows with
    ``FOR UPDATE``: PostgreSQL runs READ COMMITTED, and a press racing the dispatcher would
    otherwise overwrite the other's change. SQLite ignores it (its writers are serialised).
    """
    statement = select(ItemProgress).where(ItemProgress.user_id == user_id)
    if lock:
        statement = statement.with_for_update()
    rows = await session.scalars(statement)
    return {row.item_id: state_of(row) for row in rows}


async def save_state(session: AsyncSession, user_id: int, state: ItemState) -> None:
    """Insert or update one item's state."""
    row = await session.scalar(
        select(ItemProgress).where(
            ItemProgress.user_id == user_id, ItemProgress.item_id == state.item_id
        )
    )
    if row is None:
        row = ItemProgress(user_id=user_id, item_id=state.item_id)
        session.add(row)
    row.box = state.box
    row.due_at = state.due_at
    row.first_sent_at = state.first_sent_at
    row.last_sent_at = state.last_sent_at
    row.last_outcome = state.last_outcome
    row.tries = state.tries
    await session.flush()


async def add_nudge(
    session: AsyncSession,
    user_id: int,
    *,
    kind: str,
    item_id: str | None,
    due_at: datetime,
    status: str = "pending",
    payload: Any = None,
) -> int:
    """A new outbox row; returns its id."""
    row = OutboxMessage(
        user_id=user_id, kind=kind, item_id=item_id, due_at=due_at, status=status, payload=payload
    )
    session.add(row)
    await session.flush()
    return row.id


async def own_nudge(session: AsyncSession, outbox_id: int, user_id: int) -> NudgeSnapshot | None:
    """The outbox row with this id if, and only if, it belongs to this user."""
    row = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.id == outbox_id, OutboxMessage.user_id == user_id)
    )
    return None if row is None else NudgeSnapshot.of(row)


async def claim_response(
    session: AsyncSession, outbox_id: int, user_id: int, response: str, now: datetime
) -> bool:
    """Record the answer to a nudge once: False if it was already answered (a replay).

    A conditional UPDATE is atomic on every dialect, so two taps racing each other cannot both
    win, whichever database is underneath.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.user_id == user_id,
            OutboxMessage.response.is_(None),
        )
        .values(response=response, responded_at=now)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def add_log(
    session: AsyncSession,
    user_id: int,
    *,
    outcome: str,
    source: str,
    item_id: str | None = None,
    outbox_id: int | None = None,
    note: str | None = None,
    now: datetime,
) -> int:
    row = ConversationLog(
        user_id=user_id,
        outcome=outcome,
        source=source,
        item_id=item_id,
        outbox_id=outbox_id,
        note=note,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id

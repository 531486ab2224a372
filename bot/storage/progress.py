"""Progress and nudge rows: translation between the tables and the spacing policy's dataclasses.

Like every repository here, nothing in this module commits; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from bot.storage.db import Repository
from bot.storage.models import ItemProgress, OutboxMessage, Poll, PollAnswer, metadata
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
    payload: Any = None  # what an answer promised (a snooze, "Not yet"): see scheduler.promises

    @classmethod
    def of(cls, row: Any) -> NudgeSnapshot:
        return cls(
            id=row.id,
            user_id=row.user_id,
            kind=row.kind,
            item_id=row.item_id,
            status=row.status,
            telegram_message_id=row.telegram_message_id,
            response=row.response,
            sent_at=row.sent_at,
            payload=getattr(row, "payload", None),
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


def load_states(session: Session, user_id: int, *, lock: bool = False) -> dict[str, ItemState]:
    """Every item state of this user, by item id.

    ``lock=True`` (in a write transaction that will save a state) takes the rows with
    ``FOR UPDATE``: PostgreSQL runs READ COMMITTED, and a press racing the dispatcher would
    otherwise overwrite the other's change. SQLite ignores it (its writers are serialised).
    """
    statement = select(ItemProgress).where(ItemProgress.user_id == user_id)
    if lock:
        statement = statement.with_for_update()
    rows = session.scalars(statement)
    return {row.item_id: state_of(row) for row in rows}


_PROGRESS: Final[Table] = metadata.tables["item_progress"]
_OUTBOX: Final[Table] = metadata.tables["outbox"]
# Statements built once (their compiled form is cached by SQLAlchemy on first use).
_STATE = select(_PROGRESS).where(
    _PROGRESS.c.user_id == bindparam("b_user"), _PROGRESS.c.item_id == bindparam("b_item")
)
_STATE_LOCKED = _STATE.with_for_update()
_SAVE_STATE = update(_PROGRESS).where(
    _PROGRESS.c.user_id == bindparam("b_user"), _PROGRESS.c.item_id == bindparam("b_item")
)
_INSERT_STATE = insert(_PROGRESS)
_CLAIM = update(_OUTBOX).where(
    _OUTBOX.c.id == bindparam("b_id"),
    _OUTBOX.c.user_id == bindparam("b_user"),
    _OUTBOX.c.response.is_(None),
)
_INSERT_NUDGE = insert(_OUTBOX)


def read_state(
    connection: Connection, user_id: int, item_id: str, *, lock: bool = False
) -> ItemState | None:
    """One item's state, if it has one (``lock``: see ``load_states``)."""
    statement = _STATE_LOCKED if lock else _STATE
    row = connection.execute(statement, {"b_user": user_id, "b_item": item_id}).first()
    return None if row is None else state_of(row)


def save_state(connection: Connection, user_id: int, state: ItemState) -> None:
    """Insert or update one item's state (one UPDATE for an item seen before)."""
    values = {
        "box": state.box,
        "due_at": state.due_at,
        "first_sent_at": state.first_sent_at,
        "last_sent_at": state.last_sent_at,
        "last_outcome": state.last_outcome,
        "tries": state.tries,
    }
    result = connection.execute(_SAVE_STATE, {"b_user": user_id, "b_item": state.item_id, **values})
    if result.rowcount == 0:
        connection.execute(_INSERT_STATE, {"user_id": user_id, "item_id": state.item_id, **values})


def add_nudge(
    connection: Connection,
    user_id: int,
    *,
    kind: str,
    item_id: str | None,
    due_at: datetime,
    status: str = "pending",
    payload: Any = None,
    lease_until: datetime | None = None,
) -> int:
    """A new outbox row; returns its id. ``lease_until``: for a row made ``sending``, when
    the dispatcher may adopt it if it was not recorded sent by then."""
    result = connection.execute(
        _INSERT_NUDGE.values(
            user_id=user_id,
            kind=kind,
            item_id=item_id,
            due_at=due_at,
            status=status,
            payload=payload,
            lease_until=lease_until,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


_SET_PAYLOAD = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("b_id"))
_STATES_OF = select(_PROGRESS).where(_PROGRESS.c.user_id == bindparam("b_user"))
_LOGS: Final[Table] = metadata.tables["conversation_logs"]
_LATEST_LOG = (
    select(_LOGS.c.outcome, _LOGS.c.item_id, _LOGS.c.created_at)
    .where(_LOGS.c.user_id == bindparam("b_user"))
    .order_by(_LOGS.c.id.desc())
    .limit(1)
)
_LAST_SENT_ITEM = select(func.max(_OUTBOX.c.sent_at)).where(
    _OUTBOX.c.user_id == bindparam("b_user"),
    _OUTBOX.c.kind == "item",
    _OUTBOX.c.sent_at.is_not(None),
)
_WAITING_ITEMS = (
    select(_OUTBOX.c.due_at, _OUTBOX.c.planned)
    .where(
        _OUTBOX.c.user_id == bindparam("b_user"),
        _OUTBOX.c.kind == "item",
        _OUTBOX.c.status.in_(("pending", "ambiguous")),
    )
    .order_by(_OUTBOX.c.due_at)
)


def set_payload(connection: Connection, outbox_id: int, payload: Any) -> None:
    """Replace an outbox row's payload (e.g. what an answer to it promised)."""
    connection.execute(_SET_PAYLOAD, {"b_id": outbox_id, "payload": payload})


@dataclass(frozen=True, slots=True)
class NextNudgeFacts:
    """What deciding what her next nudge brings needs (a "Not yet" press)."""

    states: dict[str, ItemState]
    latest_log: tuple[str, str | None, datetime] | None  # (outcome, item id, created at)
    last_nudge_at: datetime | None
    planned_due: datetime | None  # her planned item row waiting, if any
    snoozes: list[datetime]  # due times of her snoozed rows waiting


def next_nudge_facts(connection: Connection, user_id: int) -> NextNudgeFacts:
    """Her item states, latest log, last item sent, and item rows waiting (four statements)."""
    params = {"b_user": user_id}
    states = {row.item_id: state_of(row) for row in connection.execute(_STATES_OF, params)}
    log = connection.execute(_LATEST_LOG, params).first()
    last = connection.execute(_LAST_SENT_ITEM, params).scalar()
    waiting = connection.execute(_WAITING_ITEMS, params).all()
    planned = [row.due_at for row in waiting if row.planned]
    return NextNudgeFacts(
        states=states,
        latest_log=None if log is None else (log.outcome, log.item_id, log.created_at),
        last_nudge_at=last,
        planned_due=planned[0] if planned else None,
        snoozes=[row.due_at for row in waiting if not row.planned],
    )


def claim_response(
    connection: Connection, outbox_id: int, user_id: int, response: str, now: datetime
) -> bool:
    """Record the answer to a nudge once: False if it was already answered (a replay).

    A conditional UPDATE is atomic on every dialect, so two taps racing each other cannot both
    win, whichever database is underneath.
    """
    result = connection.execute(
        _CLAIM,
        {"b_id": outbox_id, "b_user": user_id, "response": response, "responded_at": now},
    )
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class ProgressCounts:
    """What /progress counts for one user (her logs and answers come as records).

    Nudges are the item messages (``kind="item"``) and check-ins the weekly polls
    (``kind="poll"``), counted apart: a check-in is not a nudge.
    """

    answered: int  # nudges she answered (a button pressed under it)
    sent: int  # nudges sent
    next_due: datetime | None  # the next nudge due
    checkins_answered: int = 0  # check-ins with at least one poll answered
    checkins_sent: int = 0


class ProgressRepository(Repository):
    """Item progress (the spacing policy's states) of one transaction."""

    def states(self, user_id: int, *, lock: bool = False) -> dict[str, ItemState]:
        """Every item state of this user (``lock``: see ``load_states``)."""
        return load_states(self._session, user_id, lock=lock)

    def state(self, user_id: int, item_id: str, *, lock: bool = False) -> ItemState | None:
        """One item's state, if it has one."""
        return read_state(self._conn(), user_id, item_id, lock=lock)

    def save(self, user_id: int, state: ItemState) -> None:
        """Insert or update one item's state."""
        save_state(self._conn(), user_id, state)

    def counts(self, user_id: int) -> ProgressCounts:
        """Answered and sent nudges, when the next one is due, and check-ins apart."""
        mine = OutboxMessage.user_id == user_id
        nudges = (mine, OutboxMessage.kind == "item")
        sent_nudges = (*nudges, OutboxMessage.status == "sent")
        answered = self._session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(*sent_nudges, OutboxMessage.response.is_not(None))
        )
        sent = self._session.scalar(
            select(func.count()).select_from(OutboxMessage).where(*sent_nudges)
        )
        next_due = self._session.scalar(
            select(func.min(OutboxMessage.due_at)).where(*nudges, OutboxMessage.status == "pending")
        )
        checkins = (mine, OutboxMessage.kind == "poll", OutboxMessage.status == "sent")
        checkins_sent = self._session.scalar(
            select(func.count()).select_from(OutboxMessage).where(*checkins)
        )
        checkins_answered = self._session.scalar(
            select(func.count(func.distinct(OutboxMessage.id)))
            .select_from(OutboxMessage)
            .join(Poll, Poll.outbox_id == OutboxMessage.id)
            .join(PollAnswer, PollAnswer.poll_id == Poll.id)
            .where(*checkins, PollAnswer.user_id == user_id)
        )
        return ProgressCounts(
            answered or 0,
            sent or 0,
            next_due,
            checkins_answered=checkins_answered or 0,
            checkins_sent=checkins_sent or 0,
        )


_NEWER = _OUTBOX.alias("newer")
_PRESSED = select(
    _OUTBOX.c.id,
    _OUTBOX.c.user_id,
    _OUTBOX.c.kind,
    _OUTBOX.c.item_id,
    _OUTBOX.c.status,
    _OUTBOX.c.telegram_message_id,
    _OUTBOX.c.response,
    _OUTBOX.c.sent_at,
    _OUTBOX.c.payload,
    select(_NEWER.c.id)
    .where(
        _NEWER.c.user_id == _OUTBOX.c.user_id,
        _NEWER.c.item_id == _OUTBOX.c.item_id,
        _NEWER.c.id > _OUTBOX.c.id,
        _NEWER.c.sent_at.is_not(None),
    )
    .exists()
    .label("superseded"),
).where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.user_id == bindparam("b_user"))
"""A pressed nudge and whether a newer copy of its item was sent: one statement, built once."""


@dataclass(frozen=True, slots=True)
class PressedNudge:
    """The nudge a button press points at, as the press handler needs it."""

    nudge: NudgeSnapshot
    superseded: bool  # the same item was sent again later: only the newest copy counts


def find_pressed(connection: Connection, outbox_id: int, user_id: int) -> PressedNudge | None:
    """The outbox row with this id if, and only if, it belongs to this user (one query)."""
    found = connection.execute(_PRESSED, {"b_id": outbox_id, "b_user": user_id}).first()
    if found is None:
        return None
    nudge = NudgeSnapshot.of(found)
    return PressedNudge(nudge, bool(found.superseded) and nudge.response is None)


class NudgeRepository(Repository):
    """Nudges (item outbox rows) as the chat handlers see them, in one transaction."""

    def add(
        self,
        user_id: int,
        *,
        item_id: str,
        due_at: datetime,
        status: str = "pending",
        lease_until: datetime | None = None,
    ) -> int:
        """A new item nudge outside the plan (sent now, or a snooze); its outbox id.

        No replan: a snooze goes at the time it promised (``scheduler.promises``); the planned
        nudge of its day moves when it comes due (``scheduler.planner.settle``).
        """
        return add_nudge(
            self._conn(),
            user_id,
            kind="item",
            item_id=item_id,
            due_at=due_at,
            status=status,
            lease_until=lease_until,
        )

    def latest_sent(self, user_id: int, limit: int = 10) -> list[NudgeSnapshot]:
        """Her item nudges that reached the chat, newest first (answered or not)."""
        rows = self._session.execute(
            select(OutboxMessage)
            .where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.kind == "item",
                OutboxMessage.status == "sent",
                OutboxMessage.telegram_message_id.is_not(None),
            )
            .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
        return [NudgeSnapshot.of(row) for row in rows.scalars()]

    def next_due(self, user_id: int) -> datetime | None:
        """When her next item nudge is due (planned or snoozed), if one is waiting."""
        return self._session.scalar(
            select(func.min(OutboxMessage.due_at)).where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.kind == "item",
                OutboxMessage.status == "pending",
            )
        )

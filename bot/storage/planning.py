"""The planner's queries: the facts ``scheduler.planner`` decides on, and its changes applied.

Nothing here commits; the caller owns the transaction. The decisions (which rows to insert,
move or cancel; which rows go, with which item) are pure functions in ``scheduler.planner``;
this module reads what they need in a handful of statements and writes what they return.

- ``replan_user`` / ``replan_users``: bring users' planned rows in line with their state. Call
  after anything that changes when the next nudge should come.
- ``settle_claimed``: for rows the dispatcher just leased (``planner.settle``).
- ``record_deliveries``: after the dispatcher's sends: rows sent, progress, ignored nudges (the
  pause offer), next rows.
- ``record_item_delivery``: the same after a handler sent an item itself (first nudge, /tip).

``PlaneeCache``: validating a user's settings (the zone, the minutes) costs more than reading
the row, and the dispatcher sees the same rows again and again. Its owner (the dispatch store)
passes it in; without one, nothing is cached.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, update

from bot.storage.models import metadata
from bot.storage.outbox import (
    FINISHED,
    OUTBOX,
    close_rows,
    mark_rows_sent,
    requeue_rows,
    set_item_ids,
)
from bot.storage.progress import state_of
from bot.storage.sent_items import record_items_sent
from scheduler.planner import (
    PAUSE_OFFER_TEXT,
    PLANNED_KINDS,
    WAITING,
    LatestLog,
    PlanChanges,
    Planee,
    PlannedRow,
    SettleFacts,
    choosing_users,
    count_ignored,
    plan,
    planning_users,
    schedule_from,
    settle,
)
from scheduler.policy import CatalogItem, ItemState, ScheduleSettings
from scheduler.ports import ClaimedRow, Settled
from scheduler.promises import Promise, kept_or_carried, snooze_record
from scheduler.sending import Delivery
from scheduler.timers import TIMER_KIND, settle_timers

USERS: Final = metadata.tables["users"]
SETTINGS: Final = metadata.tables["user_settings"]
PROGRESS: Final = metadata.tables["item_progress"]
LOGS: Final = metadata.tables["conversation_logs"]

__all__ = [
    "PAUSE_OFFER_TEXT",
    "PLANNED_KINDS",
    "PlaneeCache",
    "carry_snoozes",
    "last_items",
    "last_nudges",
    "load_planees",
    "pending_snoozes",
    "record_deliveries",
    "record_item_delivery",
    "replan_user",
    "replan_users",
    "settle_claimed",
]


class PlaneeCache:
    """``Planee``s by the database row they were built from, at most ``max_size`` of them
    (when full it starts again empty: cheap, and the rows seen next are the ones needed)."""

    def __init__(self, max_size: int = 50_000) -> None:
        if max_size < 1:
            raise ValueError("max_size must be >= 1")
        self.max_size = max_size
        self._planees: dict[tuple[Any, ...], Planee] = {}

    def __len__(self) -> int:
        return len(self._planees)

    def get(self, row: Any) -> Planee:
        """The ``Planee`` of this users-and-settings row, built once."""
        key = tuple(row)
        planee = self._planees.get(key)
        if planee is None:
            if len(self._planees) >= self.max_size:
                self._planees.clear()
            planee = self._planees[key] = _build_planee(row)
        return planee

    def clear(self) -> None:
        self._planees.clear()


def _build_planee(row: Any) -> Planee:
    schedule = None
    if row.settings_user_id is not None:
        schedule = schedule_from(
            timezone=row.timezone,
            nudge_minute=row.nudge_minute,
            pace=row.pace,
            quiet_start_minute=row.quiet_start_minute,
            quiet_end_minute=row.quiet_end_minute,
            checkin_weekday=row.checkin_weekday,
            paused_until=row.paused_until,
            backoff_active=bool(row.backoff_active),
        )
    return Planee(
        id=row.id,
        chat_id=row.chat_id,
        blocked=row.blocked_at is not None,
        onboarded=row.onboarding_step is None,
        ignored_streak=row.ignored_streak,
        backoff_active=bool(row.backoff_active),
        schedule=schedule,
        language=row.language or "en",
    )


def load_planees(
    conn: Connection, user_ids: Collection[int], cache: PlaneeCache | None = None
) -> dict[int, Planee]:
    """The users with these ids (missing ones are simply absent), with their settings."""
    if not user_ids:
        return {}
    rows = (
        conn.execute(
            select(
                USERS.c.id,
                USERS.c.chat_id,
                USERS.c.blocked_at,
                USERS.c.onboarding_step,
                USERS.c.ignored_streak,
                USERS.c.backoff_active,
                USERS.c.language,
                SETTINGS.c.user_id.label("settings_user_id"),
                SETTINGS.c.timezone,
                SETTINGS.c.nudge_minute,
                SETTINGS.c.pace,
                SETTINGS.c.quiet_start_minute,
                SETTINGS.c.quiet_end_minute,
                SETTINGS.c.checkin_weekday,
                SETTINGS.c.paused_until,
            )
            .select_from(USERS.outerjoin(SETTINGS, SETTINGS.c.user_id == USERS.c.id))
            .where(USERS.c.id.in_(sorted(user_ids)))
        )
    ).all()
    if cache is None:
        return {row.id: _build_planee(row) for row in rows}
    return {row.id: cache.get(row) for row in rows}


def _latest_sent_item(
    conn: Connection,
    user_ids: Collection[int],
    column: Any,
    *,
    leave_out: Collection[int] = (),
) -> dict[int, Any]:
    """``column`` of each user's latest sent item row (what ``last_nudges`` dates), leaving
    out the rows ``leave_out``; users with none are missing."""
    if not user_ids:
        return {}
    where = [
        OUTBOX.c.user_id.in_(sorted(user_ids)),
        OUTBOX.c.kind == "item",
        OUTBOX.c.sent_at.is_not(None),  # i.e. sent (see last_nudges)
    ]
    if leave_out:
        where.append(OUTBOX.c.id.not_in(list(leave_out)))
    ranked = (
        select(
            OUTBOX.c.user_id,
            column.label("value"),
            func.row_number()
            .over(
                partition_by=OUTBOX.c.user_id,
                order_by=(OUTBOX.c.sent_at.desc(), OUTBOX.c.id.desc()),
            )
            .label("rank"),
        )
        .where(*where)
        .subquery()
    )
    rows = conn.execute(select(ranked.c.user_id, ranked.c.value).where(ranked.c.rank == 1))
    return {row[0]: row[1] for row in rows}


def last_items(conn: Connection, user_ids: Collection[int]) -> dict[int, str | None]:
    """The item of each user's latest sent item row (what ``last_nudges`` dates)."""
    return _latest_sent_item(conn, user_ids, OUTBOX.c.item_id)


def last_nudges(conn: Connection, user_ids: Collection[int]) -> dict[int, datetime]:
    """When each user was last sent an item (any item row marked sent)."""
    if not user_ids:
        return {}
    rows = conn.execute(
        select(OUTBOX.c.user_id, func.max(OUTBOX.c.sent_at))
        .where(
            OUTBOX.c.user_id.in_(sorted(user_ids)),
            OUTBOX.c.kind == "item",
            OUTBOX.c.sent_at.is_not(None),  # set only when marked sent; not indexed on purpose
        )
        .group_by(OUTBOX.c.user_id)
    )
    return {row[0]: row[1] for row in rows if row[1] is not None}


def _snooze_rows(user_ids: Collection[int], leave_out: Collection[int] = ()) -> Any:
    """Her snoozed rows still waiting: unplanned item rows (a handler's direct send is
    "sending" from the start, never waiting)."""
    where = [
        OUTBOX.c.user_id.in_(sorted(user_ids)),
        OUTBOX.c.kind == "item",
        OUTBOX.c.planned.is_(False),
        OUTBOX.c.status.in_(WAITING),
    ]
    if leave_out:
        where.append(OUTBOX.c.id.not_in(sorted(leave_out)))
    return (
        select(OUTBOX.c.id, OUTBOX.c.user_id, OUTBOX.c.due_at, OUTBOX.c.payload)
        .where(*where)
        .order_by(OUTBOX.c.due_at, OUTBOX.c.id)
    )


def pending_snoozes(
    conn: Connection, user_ids: Collection[int], *, leave_out: Collection[int] = ()
) -> dict[int, list[datetime]]:
    """The due times of each user's snoozed rows still waiting (``leave_out``: rows not to
    count, e.g. a batch being settled); users with none are missing."""
    if not user_ids:
        return {}
    snoozes: dict[int, list[datetime]] = {}
    for row in conn.execute(_snooze_rows(user_ids, leave_out)):
        snoozes.setdefault(row.user_id, []).append(row.due_at)
    return snoozes


def carry_snoozes(
    conn: Connection, user_id: int, schedule: ScheduleSettings, now: datetime
) -> list[datetime]:
    """After a pause or a resume (``schedule`` as it now is): her waiting snoozes kept, or
    carried to the resume. A snooze whose promised time is free keeps it; one the pause covers
    (or covered) comes back at her nudge time after the pause ends
    (``promises.kept_or_carried``).
    Returns the new due times, earliest first (what the pause's or resume's message names)."""
    moves: list[tuple[int, datetime]] = []
    dues: list[datetime] = []
    for row in conn.execute(_snooze_rows([user_id])):
        record = snooze_record(row.payload)
        promise = Promise.from_record(record) if record is not None else None
        promised = promise.due if promise is not None else row.due_at
        due = kept_or_carried(promised, schedule, now)
        dues.append(due)
        if due != row.due_at:
            moves.append((row.id, due))
    requeue_rows(conn, moves)
    return sorted(dues)


# --- replanning ----------------------------------------------------------------------------


def replan_user(
    conn: Connection, user_id: int, now: datetime, *, planees: PlaneeCache | None = None
) -> None:
    """Make this user's planned rows match their settings and state at ``now`` (idempotent;
    the item itself is chosen at send time). Does not commit.
    """
    replan_users(conn, [user_id], now, planees=planees)


def replan_users(
    conn: Connection,
    user_ids: Iterable[int],
    now: datetime,
    *,
    kinds: Sequence[str] = PLANNED_KINDS,
    last_nudge_at: Mapping[int, datetime] | None = None,
    planees: PlaneeCache | None = None,
) -> None:
    """``replan_user`` for many users with a handful of statements.

    ``kinds`` limits the work to some planned kinds, e.g. only "item" right after an item was
    sent (nothing else changed for the check-in). ``last_nudge_at``: when each user was last
    sent an item, if the caller knows (``last_nudges`` otherwise).
    """
    ids = sorted(set(user_ids))
    if not ids:
        return
    users = load_planees(conn, ids, planees)
    last: Mapping[int, datetime] = {}
    if "item" in kinds:
        last = last_nudge_at if last_nudge_at is not None else last_nudges(conn, ids)
    rows = (
        conn.execute(
            select(
                OUTBOX.c.id,
                OUTBOX.c.user_id,
                OUTBOX.c.kind,
                OUTBOX.c.status,
                OUTBOX.c.due_at,
                OUTBOX.c.lease_until,
            )
            .where(
                OUTBOX.c.user_id.in_(ids),
                OUTBOX.c.planned.is_(True),
                OUTBOX.c.kind.in_(kinds),
                # Not "status IN (...)": without statistics SQLite would then walk the status
                # index (every waiting row of every user) instead of these users' rows.
                OUTBOX.c.status.not_in(FINISHED),
            )
            .order_by(OUTBOX.c.due_at, OUTBOX.c.id)
        )
    ).all()
    planned = [
        PlannedRow(row.id, row.user_id, row.kind, row.status, row.due_at)
        for row in rows
        # a "sending" row without a lease is a handler's direct send, not the dispatcher's
        if not (row.status == "sending" and row.lease_until is None)
    ]
    snoozes = pending_snoozes(conn, ids) if "item" in kinds else {}
    changes = plan(
        ids, now, planees=users, rows=planned, last_nudge_at=last, kinds=kinds, snoozes=snoozes
    )
    apply_plan(conn, changes, now)


def apply_plan(conn: Connection, changes: PlanChanges, now: datetime) -> None:
    """Write ``planner.plan``'s changes."""
    if changes.cancels:
        close_rows(conn, changes.cancels, "cancelled", "replanned")
    if changes.moves:
        requeue_rows(conn, changes.moves)
    if changes.inserts:
        conn.execute(
            insert(OUTBOX),
            [
                {
                    "user_id": row.user_id,
                    "kind": row.kind,
                    "item_id": None,
                    "payload": None,
                    "due_at": row.due_at,
                    "status": "pending",
                    "planned": True,
                    "created_at": now,
                }
                for row in changes.inserts
            ],
        )


# --- at send time --------------------------------------------------------------------------


def _latest_logs(conn: Connection, user_ids: Collection[int]) -> dict[int, LatestLog]:
    if not user_ids:
        return {}
    latest = (
        select(func.max(LOGS.c.id))
        .where(LOGS.c.user_id.in_(sorted(user_ids)))
        .group_by(LOGS.c.user_id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(LOGS.c.user_id, LOGS.c.outcome, LOGS.c.item_id, LOGS.c.created_at).where(
            LOGS.c.id.in_(latest)
        )
    )
    return {
        user_id: LatestLog(outcome, item_id, created_at)
        for user_id, outcome, item_id, created_at in rows.all()
    }


def _states(conn: Connection, user_ids: Collection[int]) -> dict[int, dict[str, ItemState]]:
    if not user_ids:
        return {}
    rows = conn.execute(select(PROGRESS).where(PROGRESS.c.user_id.in_(sorted(user_ids))))
    states: dict[int, dict[str, ItemState]] = {}
    for row in rows:
        states.setdefault(row.user_id, {})[row.item_id] = state_of(row)
    return states


def settle_claimed(
    conn: Connection,
    rows: Sequence[ClaimedRow],
    now: datetime,
    catalog: Sequence[CatalogItem],
    *,
    planees: PlaneeCache | None = None,
) -> Settled:
    """Decide (``planner.settle``) and apply, for rows just leased, which go out now.

    Same transaction as the claim: rows that must not go are cancelled or moved, and each
    planned item row that goes gets its item chosen now.
    """
    if not rows:
        return Settled()
    user_ids = {row.user_id for row in rows}
    users = load_planees(conn, user_ids, planees)
    # Timers she started are not nudges: they go on time, whatever the schedule says.
    timers = settle_timers(
        [row for row in rows if row.kind == TIMER_KIND],
        {user_id: planee.chat_id for user_id, planee in users.items()},
        {user_id for user_id, planee in users.items() if planee.blocked},
    )
    close_rows(conn, timers.cancels, "cancelled", "not sendable now", refund_attempt=True)
    rows = [row for row in rows if row.kind != TIMER_KIND]
    if not rows:
        return Settled(deliveries=timers.deliveries, cancelled=len(timers.cancels))
    last = last_nudges(conn, user_ids)
    snoozes = pending_snoozes(conn, planning_users(rows), leave_out={row.id for row in rows})
    choosing = choosing_users(rows)
    facts = SettleFacts(
        planees=users,
        last_nudge_at=last,
        snoozes=snoozes,
        states=_states(conn, choosing),
        latest_logs=_latest_logs(conn, choosing),
    )
    decision = settle(rows, facts, now, catalog)
    set_item_ids(conn, decision.chosen)
    close_rows(conn, decision.cancels, "cancelled", "not sendable now", refund_attempt=True)
    requeue_rows(conn, decision.moves, error="missed its slot window", refund_attempt=True)
    replan_users(conn, decision.replan, now, planees=planees)
    return Settled(
        deliveries=timers.deliveries + decision.deliveries,
        moved=len(decision.moves),
        cancelled=len(timers.cancels) + len(decision.cancels),
    )


def record_deliveries(
    conn: Connection,
    sent: Sequence[tuple[Delivery, int]],
    now: datetime,
    *,
    planees: PlaneeCache | None = None,
) -> int:
    """After ``(delivery, Telegram message id)`` sends at ``now``; returns pause offers queued.

    Marks the rows sent, records ``policy.record_sent`` for sent items, counts an ignored nudge
    when a planned item goes out while the previous item nudge got no answer (the third in a row
    switches the back-off on and queues the pause offer once), then replans those users.
    """
    if not sent:
        return 0
    planned_items = [d for d, _ in sent if d.planned and d.kind == "item"]
    offers = _record_ignored(conn, planned_items, {d.outbox_id for d, _ in sent}, now)
    mark_rows_sent(conn, [(d.outbox_id, message_id, now) for d, message_id in sent])
    record_items_sent(
        conn, [(d.user_id, d.item_id) for d, _ in sent if d.kind == "item" and d.item_id], now
    )
    # An item just sent is each of those users' last nudge: no need to ask the database.
    items_sent = {d.user_id: now for d, _ in sent if d.kind == "item"}
    for kind in PLANNED_KINDS:
        users = {d.user_id for d, _ in sent if d.planned and d.kind == kind}
        replan_users(conn, users, now, kinds=(kind,), last_nudge_at=items_sent, planees=planees)
    return offers


def record_item_delivery(
    conn: Connection,
    *,
    user_id: int,
    outbox_id: int,
    item_id: str,
    message_id: int,
    now: datetime,
) -> None:
    """After a handler sent an item directly (first nudge, /tip): the same bookkeeping as the
    dispatcher's (row sent, ``policy.record_sent``, times sent), then the user's next slot."""
    mark_rows_sent(conn, [(outbox_id, message_id, now)])
    record_items_sent(conn, [(user_id, item_id)], now)
    replan_users(conn, [user_id], now)


def _record_ignored(
    conn: Connection, deliveries: Sequence[Delivery], batch_ids: Collection[int], now: datetime
) -> int:
    if not deliveries:
        return 0
    user_ids = sorted({d.user_id for d in deliveries})
    previous: dict[int, str | None] = _latest_sent_item(
        conn, user_ids, OUTBOX.c.response, leave_out=batch_ids
    )
    streaks: dict[int, int] = {
        row[0]: row[1]
        for row in conn.execute(
            select(USERS.c.id, USERS.c.ignored_streak).where(USERS.c.id.in_(user_ids))
        )
    }
    offers = 0
    for ignored in count_ignored(user_ids, previous, streaks):
        values: dict[str, Any] = {
            "ignored_streak": ignored.streak,
            "backoff_active": ignored.backoff,
        }
        if ignored.offer_pause:
            values["backoff_prompted_at"] = now
            conn.execute(
                insert(OUTBOX).values(
                    user_id=ignored.user_id,
                    kind="text",
                    payload={"text": PAUSE_OFFER_TEXT},
                    due_at=now,
                    status="pending",
                    planned=False,
                    created_at=now,
                )
            )
            offers += 1
        conn.execute(update(USERS).where(USERS.c.id == ignored.user_id).values(values))
    return offers

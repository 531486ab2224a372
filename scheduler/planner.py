"""The planner: the next nudge of every active user is a row in the database.

Telegram-free, database-facing. For each onboarded, reachable user it keeps exactly one *planned*
item row (``kind="item"``, ``item_id`` NULL until send time) at ``policy.next_slot`` and one planned
check-in row (``kind="poll"``) at ``policy.next_checkin``; paused users get them no earlier than
the end of the pause; blocked or unfinished users get none. ``replan_user`` is idempotent: call it
after anything that changes when the next nudge should come (onboarding, settings, a press, pause,
resume, unblock) and it adjusts the rows to match.

The dispatcher uses the rest at send time, in its own transactions:

- ``settle_claimed``: for leased rows, drop what must not go (blocked, paused, erased), move what
  was missed by more than its slot window (``policy.late_or_reschedule``: never a burst after
  downtime), and choose the item of each planned item row (``policy.choose``; a "hard" logged
  with no item sent since owes a supportive tip of that step).
- ``record_deliveries``: after sends, mark rows sent, record ``policy.record_sent`` in the items'
  progress, count ignored nudges (``policy.register_ignored``; the third in a row switches on the
  back-off and queues the one-off pause offer) and plan each user's next rows.

Rows that are not planned (snoozes, direct sends, the pause offer) belong to whoever added them;
the planner only cancels them for users who must get nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import metadata
from bot.storage.outbox import (
    FINISHED,
    OUTBOX,
    WAITING,
    close_rows,
    mark_rows_sent,
    record_items_sent,
    requeue_rows,
    set_item_ids,
)
from bot.storage.progress import state_of
from scheduler.policy import (
    CatalogItem,
    ItemState,
    Pace,
    ScheduleSettings,
    choose,
    current_step,
    late_or_reschedule,
    next_checkin,
    next_slot,
    owed_support_step,
    register_ignored,
    slot_on,
    unlocked_steps,
)
from scheduler.sending import Delivery
from scheduler.slots import is_quiet, local_date, local_minute

USERS: Final = metadata.tables["users"]
SETTINGS: Final = metadata.tables["user_settings"]
PROGRESS: Final = metadata.tables["item_progress"]
LOGS: Final = metadata.tables["conversation_logs"]

PLANNED_KINDS: Final = ("item", "poll")
PAUSE_OFFER_TEXT: Final = "pause_offer"
"""``payload["text"]`` of the one-off "shall we pause?" message (a content text key)."""


@dataclass(frozen=True, slots=True)
class Planee:
    """A user as the planner sees them."""

    id: int
    chat_id: int
    blocked: bool
    onboarded: bool
    ignored_streak: int
    backoff_active: bool
    schedule: ScheduleSettings | None  # None: no settings row, or settings that do not parse

    @property
    def active(self) -> bool:
        """Whether this user gets nudges at all (paused users do, later)."""
        return self.onboarded and not self.blocked and self.schedule is not None

    def paused_at(self, now: datetime) -> bool:
        schedule = self.schedule
        return (
            schedule is not None
            and schedule.paused_until is not None
            and schedule.paused_until > now
        )


@dataclass(frozen=True, slots=True)
class _PlannedRow:
    id: int
    user_id: int
    kind: str
    status: str
    due_at: datetime


_PLANEES: dict[tuple[Any, ...], Planee] = {}
"""``Planee``s by the database row they were built from: validating settings (the zone, the
minutes) costs more than reading the row, and most rows are seen again and again."""
_PLANEES_MAX: Final = 50_000


def clear_caches() -> None:
    """Forget the cached ``Planee``s (benchmarks start each run cold)."""
    _PLANEES.clear()


def _planee(row: Any) -> Planee:
    key = tuple(row)
    planee = _PLANEES.get(key)
    if planee is None:
        if len(_PLANEES) >= _PLANEES_MAX:
            _PLANEES.clear()
        planee = _PLANEES[key] = _build_planee(row)
    return planee


def _build_planee(row: Any) -> Planee:
    schedule: ScheduleSettings | None = None
    if row.settings_user_id is not None:
        try:
            schedule = ScheduleSettings(
                timezone=row.timezone,
                nudge_minute=row.nudge_minute,
                pace=cast(Pace, row.pace),
                quiet_start_minute=row.quiet_start_minute,
                quiet_end_minute=row.quiet_end_minute,
                checkin_weekday=row.checkin_weekday,
                paused_until=row.paused_until,
                backoff_active=bool(row.backoff_active),
            )
        except ValueError:
            schedule = None  # e.g. a zone this machine's tzdata no longer knows
    return Planee(
        id=row.id,
        chat_id=row.chat_id,
        blocked=row.blocked_at is not None,
        onboarded=row.onboarding_step is None,
        ignored_streak=row.ignored_streak,
        backoff_active=bool(row.backoff_active),
        schedule=schedule,
    )


async def load_planees(session: AsyncSession, user_ids: Collection[int]) -> dict[int, Planee]:
    """The users with these ids (missing ones are simply absent), with their settings."""
    if not user_ids:
        return {}
    rows = (
        await session.execute(
            select(
                USERS.c.id,
                USERS.c.chat_id,
                USERS.c.blocked_at,
                USERS.c.onboarding_step,
                USERS.c.ignored_streak,
                USERS.c.backoff_active,
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
    return {row.id: _planee(row) for row in rows}


async def _latest_sent_item(
    session: AsyncSession,
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
    rows = await session.execute(select(ranked.c.user_id, ranked.c.value).where(ranked.c.rank == 1))
    return {row[0]: row[1] for row in rows}


async def last_items(session: AsyncSession, user_ids: Collection[int]) -> dict[int, str | None]:
    """The item of each user's latest sent item row (what ``last_nudges`` dates)."""
    return await _latest_sent_item(session, user_ids, OUTBOX.c.item_id)


_SNOOZE_SEARCH_DAYS: Final = 14


def snoozed_send_time(
    schedule: ScheduleSettings,
    now: datetime,
    *,
    seed: int,
    item_id: str | None,
    last_nudge_at: datetime | None,
    last_item_id: str | None,
) -> datetime:
    """When a snoozed nudge (a "Later" press: an unplanned item row) may go, seen at ``now``.

    ``now`` unless it is quiet hours, or a *different* item was already sent this local day
    (one nudge a local day). The snoozed nudge itself coming back the same day ("in an hour",
    "this evening") is the same nudge the user asked to see later, not a second one. Otherwise
    the user's slot on the first following day that has no other nudge and is not the check-in
    day (never in quiet hours; a pause is handled by the caller).
    """
    zone = schedule.zone
    today = local_date(now, zone)
    other_today = (
        last_nudge_at is not None
        and local_date(last_nudge_at, zone) == today
        and last_item_id != item_id
    )
    quiet = is_quiet(
        local_minute(now, zone), schedule.quiet_start_minute, schedule.quiet_end_minute
    )
    if not other_today and not quiet:
        return now
    day = today
    for _ in range(_SNOOZE_SEARCH_DAYS):
        if not (other_today and day == today) and day.weekday() != schedule.checkin_weekday:
            instant = slot_on(schedule, day, seed=seed)
            if instant is not None and instant > now:
                return instant
        day += timedelta(days=1)
    return next_slot(schedule, now, seed=seed, last_nudge_at=last_nudge_at)


async def last_nudges(session: AsyncSession, user_ids: Collection[int]) -> dict[int, datetime]:
    """When each user was last sent an item (any item row marked sent)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(OUTBOX.c.user_id, func.max(OUTBOX.c.sent_at))
        .where(
            OUTBOX.c.user_id.in_(sorted(user_ids)),
            OUTBOX.c.kind == "item",
            OUTBOX.c.sent_at.is_not(None),  # set only when marked sent; not indexed on purpose
        )
        .group_by(OUTBOX.c.user_id)
    )
    return {row[0]: row[1] for row in rows if row[1] is not None}


# --- replanning ----------------------------------------------------------------------------


async def replan_user(
    session: AsyncSession, user_id: int, now: datetime, catalog: object = None
) -> None:
    """Make this user's planned rows match their settings and state at ``now`` (idempotent).

    ``catalog`` is accepted for callers written against the issue's signature and not needed:
    the item itself is chosen at send time. Does not commit.
    """
    del catalog
    await replan_users(session, [user_id], now)


async def replan_users(
    session: AsyncSession,
    user_ids: Iterable[int],
    now: datetime,
    *,
    kinds: Sequence[str] = PLANNED_KINDS,
    last_nudge_at: Mapping[int, datetime] | None = None,
) -> None:
    """``replan_user`` for many users with a handful of statements.

    ``kinds`` limits the work to some planned kinds, e.g. only "item" right after an item was
    sent (nothing else changed for the check-in). ``last_nudge_at``: when each user was last
    sent an item, if the caller knows (``last_nudges`` otherwise).
    """
    ids = sorted(set(user_ids))
    if not ids:
        return
    planees = await load_planees(session, ids)
    last: Mapping[int, datetime] = {}
    if "item" in kinds:
        last = last_nudge_at if last_nudge_at is not None else await last_nudges(session, ids)
    rows = (
        await session.execute(
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
    by_user: dict[tuple[int, str], list[_PlannedRow]] = {}
    for row in rows:
        if row.status == "sending" and row.lease_until is None:
            continue  # a handler's direct send, not the dispatcher's
        by_user.setdefault((row.user_id, row.kind), []).append(
            _PlannedRow(row.id, row.user_id, row.kind, row.status, row.due_at)
        )
    plan = _Plan()
    for user_id in ids:
        planee = planees.get(user_id)
        for kind in kinds:
            desired = _desired(planee, kind, now, last.get(user_id))
            _plan_kind(plan, user_id, kind, by_user.get((user_id, kind), []), desired, planee, now)
    await plan.apply(session, now)


def _desired(
    planee: Planee | None, kind: str, now: datetime, last_nudge_at: datetime | None
) -> datetime | None:
    if planee is None or not planee.active:
        return None
    schedule = planee.schedule
    assert schedule is not None
    if kind == "poll":
        return next_checkin(schedule, now, seed=planee.id)
    return next_slot(schedule, now, seed=planee.id, last_nudge_at=last_nudge_at)


@dataclass
class _Plan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    moves: list[tuple[int, datetime]] = field(default_factory=list)
    cancels: list[int] = field(default_factory=list)

    async def apply(self, session: AsyncSession, now: datetime) -> None:
        if self.cancels:
            await close_rows(session, self.cancels, "cancelled", "replanned")
        if self.moves:
            await requeue_rows(session, self.moves)
        if self.inserts:
            await session.execute(
                insert(OUTBOX), [{**row, "created_at": now} for row in self.inserts]
            )


def _plan_kind(
    plan: _Plan,
    user_id: int,
    kind: str,
    rows: list[_PlannedRow],
    desired: datetime | None,
    planee: Planee | None,
    now: datetime,
) -> None:
    waiting = [row for row in rows if row.status == "pending"]
    if desired is None:  # gone, blocked, not onboarded: nothing planned may wait
        plan.cancels.extend(row.id for row in rows if row.status in WAITING)
        return
    if any(row.status != "pending" for row in rows):
        # One is being sent (or awaits a retry after an unknown outcome): that one is the
        # user's next nudge of this kind; the dispatcher plans the following one after it.
        plan.cancels.extend(row.id for row in waiting)
        return
    if not waiting:
        plan.inserts.append(
            {
                "user_id": user_id,
                "kind": kind,
                "item_id": None,
                "payload": None,
                "due_at": desired,
                "status": "pending",
                "planned": True,
            }
        )
        return
    keep, *extra = waiting
    plan.cancels.extend(row.id for row in extra)
    paused = planee is not None and planee.paused_at(now)
    if keep.due_at <= now and not paused:
        return  # due already: the dispatcher sends it late or moves it (late_or_reschedule)
    if keep.due_at != desired:
        plan.moves.append((keep.id, desired))


# --- at send time --------------------------------------------------------------------------


@dataclass
class Settled:
    """What ``settle_claimed`` did with a batch of leased rows."""

    deliveries: list[Delivery] = field(default_factory=list)
    moved: int = 0
    cancelled: int = 0


async def _owed_support(
    session: AsyncSession,
    user_ids: Collection[int],
    last: Mapping[int, datetime],
) -> dict[int, str | None]:
    """Users whose latest log is "hard" with no item sent since: the item of that log (or None).

    The value is the logged item id (None for a /log without one); absent users owe nothing.
    """
    if not user_ids:
        return {}
    latest = (
        select(func.max(LOGS.c.id))
        .where(LOGS.c.user_id.in_(sorted(user_ids)))
        .group_by(LOGS.c.user_id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(LOGS.c.user_id, LOGS.c.outcome, LOGS.c.item_id, LOGS.c.created_at).where(
            LOGS.c.id.in_(latest)
        )
    )
    owed: dict[int, str | None] = {}
    for user_id, outcome, item_id, created_at in rows.all():
        sent = last.get(user_id)
        if outcome == "hard" and (sent is None or sent <= created_at):
            owed[user_id] = item_id
    return owed


async def _states(
    session: AsyncSession, user_ids: Collection[int]
) -> dict[int, dict[str, ItemState]]:
    if not user_ids:
        return {}
    rows = await session.execute(select(PROGRESS).where(PROGRESS.c.user_id.in_(sorted(user_ids))))
    states: dict[int, dict[str, ItemState]] = {}
    for row in rows:
        states.setdefault(row.user_id, {})[row.item_id] = state_of(row)
    return states


async def settle_claimed(
    session: AsyncSession,
    rows: Sequence[Any],
    now: datetime,
    catalog: Sequence[CatalogItem],
) -> Settled:
    """Decide, for rows just leased (``bot.storage.outbox.ClaimedRow``), which go out now.

    Same transaction as the claim. Rows that must not go are cancelled (user blocked, not
    onboarded, paused) or moved (missed by more than the slot window, or not on an allowed
    day any more); each planned item row that goes gets its item chosen now.
    """
    settled = Settled()
    if not rows:
        return settled
    user_ids = {row.user_id for row in rows}
    planees = await load_planees(session, user_ids)
    last = await last_nudges(session, user_ids)
    snoozing = {row.user_id for row in rows if row.kind == "item" and not row.planned}
    last_item = await last_items(session, snoozing)
    # A user's snoozed row goes before their planned one in the same batch: the user asked for
    # it, and the planned one then moves to a later day (one nudge a local day).
    rows = sorted(rows, key=lambda row: row.kind != "item" or bool(row.planned))
    choosing = {row.user_id for row in rows if row.kind == "item" and row.item_id is None}
    states = await _states(session, choosing)
    owed = await _owed_support(session, choosing, last)
    steps_by_item = {item.id: item.step for item in catalog}

    cancels: list[int] = []
    moves: list[tuple[int, datetime]] = []
    chosen: list[tuple[int, str]] = []
    replan: set[int] = set()
    for row in rows:
        planee = planees.get(row.user_id)
        if planee is None or not planee.active or planee.paused_at(now):
            cancels.append(row.id)
            if row.planned:
                replan.add(row.user_id)
            continue
        schedule = planee.schedule
        assert schedule is not None
        if row.planned and row.kind in PLANNED_KINDS:
            when = late_or_reschedule(
                row.due_at,
                now,
                schedule,
                seed=planee.id,
                last_nudge_at=last.get(row.user_id) if row.kind == "item" else None,
                checkin=row.kind == "poll",
            )
            if when > now:
                moves.append((row.id, when))
                continue
        elif row.kind == "item":  # a snooze: quiet hours and one nudge a local day hold too
            when = snoozed_send_time(
                schedule,
                now,
                seed=planee.id,
                item_id=row.item_id,
                last_nudge_at=last.get(row.user_id),
                last_item_id=last_item.get(row.user_id),
            )
            if when > now:
                moves.append((row.id, when))
                continue
        item_id = row.item_id
        if row.kind == "item" and item_id is None:
            user_states = states.get(row.user_id, {})
            support: int | None = None
            if row.user_id in owed:
                logged = owed[row.user_id]
                step = steps_by_item.get(logged) if logged is not None else None
                if step is None:
                    step = current_step(unlocked_steps(catalog, user_states, now))
                support = owed_support_step("hard", step)
            choice = choose(catalog, user_states, now, owed_support_step=support)
            if choice is None:  # everything was shown in the last few days
                cancels.append(row.id)
                replan.add(row.user_id)
                continue
            item_id = choice.item_id
            chosen.append((row.id, item_id))
        if row.kind == "item":  # this batch's send is the user's last nudge from now on
            last[row.user_id] = now
            last_item[row.user_id] = item_id
        settled.deliveries.append(
            Delivery(
                outbox_id=row.id,
                user_id=row.user_id,
                chat_id=planee.chat_id,
                kind=row.kind,
                item_id=item_id,
                payload=row.payload,
                due_at=row.due_at,
                attempts=row.attempts,
                planned=row.planned,
            )
        )
    await set_item_ids(session, chosen)
    await close_rows(session, cancels, "cancelled", "not sendable now", refund_attempt=True)
    await requeue_rows(session, moves, error="missed its slot window", refund_attempt=True)
    await replan_users(session, replan, now)
    settled.moved = len(moves)
    settled.cancelled = len(cancels)
    return settled


async def record_deliveries(
    session: AsyncSession, sent: Sequence[tuple[Delivery, int]], now: datetime
) -> int:
    """After ``(delivery, Telegram message id)`` sends at ``now``; returns pause offers queued.

    Marks the rows sent, records ``policy.record_sent`` for sent items, counts an ignored nudge
    when a planned item goes out while the previous item nudge got no answer (the third in a row
    switches the back-off on and queues the pause offer once), then replans those users.
    """
    if not sent:
        return 0
    planned_items = [d for d, _ in sent if d.planned and d.kind == "item"]
    offers = await _count_ignored(session, planned_items, {d.outbox_id for d, _ in sent}, now)
    await mark_rows_sent(session, [(d.outbox_id, message_id, now) for d, message_id in sent])
    await record_items_sent(
        session, [(d.user_id, d.item_id) for d, _ in sent if d.kind == "item" and d.item_id], now
    )
    # An item just sent is each of those users' last nudge: no need to ask the database.
    items_sent = {d.user_id: now for d, _ in sent if d.kind == "item"}
    for kind in PLANNED_KINDS:
        users = {d.user_id for d, _ in sent if d.planned and d.kind == kind}
        await replan_users(session, users, now, kinds=(kind,), last_nudge_at=items_sent)
    return offers


async def record_item_delivery(
    session: AsyncSession,
    *,
    user_id: int,
    outbox_id: int,
    item_id: str,
    message_id: int,
    now: datetime,
) -> None:
    """After a handler sent an item directly (first nudge, /tip): the same bookkeeping as the
    dispatcher's (row sent, ``policy.record_sent``, times sent), then the user's next slot."""
    await mark_rows_sent(session, [(outbox_id, message_id, now)])
    await record_items_sent(session, [(user_id, item_id)], now)
    await replan_users(session, [user_id], now)


async def _count_ignored(
    session: AsyncSession, deliveries: Sequence[Delivery], batch_ids: Collection[int], now: datetime
) -> int:
    if not deliveries:
        return 0
    user_ids = sorted({d.user_id for d in deliveries})
    previous: dict[int, str | None] = await _latest_sent_item(
        session, user_ids, OUTBOX.c.response, leave_out=batch_ids
    )
    streaks: dict[int, int] = {
        row[0]: row[1]
        for row in await session.execute(
            select(USERS.c.id, USERS.c.ignored_streak).where(USERS.c.id.in_(user_ids))
        )
    }
    offers = 0
    for user_id in user_ids:
        if user_id not in previous or previous[user_id] is not None or user_id not in streaks:
            continue  # first nudge ever, or the last one got a tap
        streak, backoff, ask = register_ignored(streaks[user_id])
        values: dict[str, Any] = {"ignored_streak": streak, "backoff_active": backoff}
        if ask:
            values["backoff_prompted_at"] = now
            await session.execute(
                insert(OUTBOX).values(
                    user_id=user_id,
                    kind="text",
                    payload={"text": PAUSE_OFFER_TEXT},
                    due_at=now,
                    status="pending",
                    planned=False,
                    created_at=now,
                )
            )
            offers += 1
        await session.execute(update(USERS).where(USERS.c.id == user_id).values(values))
    return offers

"""The planner's decisions: pure functions of facts and the clock. No database here.

For each onboarded, reachable user the outbox holds exactly one *planned* item row
(``kind="item"``, ``item_id`` NULL until send time) at ``policy.next_slot`` and one planned
check-in row (``kind="poll"``) at ``policy.next_checkin``; paused users get them no earlier than
the end of the pause; blocked or unfinished users get none. ``plan`` says which rows to insert,
move or cancel so that a user's planned rows match their settings and state at ``now``; it is
idempotent (planning again at once changes nothing).

At send time, for rows the dispatcher just leased:

- ``settle``: drop what must not go (blocked, paused, erased), move what was missed by more than
  its slot window (``policy.late_or_reschedule``: never a burst after downtime) or falls on a
  day a snooze takes, carry a snooze through a pause (``promises.carried_due``), and choose the
  item of each planned item row (``policy.choose``; a "hard" logged with no item sent since owes a
  supportive tip of that step, ``owed_support``).
- ``count_ignored``: after sends, a planned item that went out while the previous item nudge got
  no answer counts as ignored (``policy.register_ignored``; the third in a row switches on the
  back-off and queues the one-off pause offer).

The facts are gathered and the changes applied by ``bot.storage.planning`` (the queries), in the
caller's transaction. Rows that are not planned (snoozes, direct sends, the pause offer) belong to
whoever added them; the planner only cancels them for users who must get nothing. A snoozed row
is a promise (``scheduler.promises``): it goes at its time, and the planned item of its day moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, cast

from scheduler.policy import (
    SLOT_WINDOW,
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
    unlocked_steps,
)
from scheduler.ports import ClaimedRow
from scheduler.promises import carried_due, next_day_slot, snooze_days
from scheduler.sending import Delivery
from scheduler.slots import is_quiet, local_date, local_minute

PLANNED_KINDS: Final = ("item", "poll")
PAUSE_OFFER_TEXT: Final = "pause_offer"
"""``payload["text"]`` of the one-off "shall we pause?" message (a content text key)."""
WAITING: Final = ("pending", "ambiguous")
"""Statuses of rows waiting for a send (``ambiguous``: the last attempt's outcome is unknown)."""


def schedule_from(
    *,
    timezone: str,
    nudge_minute: int,
    pace: str,
    quiet_start_minute: int,
    quiet_end_minute: int,
    checkin_weekday: int,
    paused_until: datetime | None,
    backoff_active: bool,
) -> ScheduleSettings | None:
    """A user's stored settings as the policy's ``ScheduleSettings``; None if they do not
    parse (e.g. a zone this machine's tzdata no longer knows): such a user gets no nudges."""
    try:
        return ScheduleSettings(
            timezone=timezone,
            nudge_minute=nudge_minute,
            pace=cast(Pace, pace),
            quiet_start_minute=quiet_start_minute,
            quiet_end_minute=quiet_end_minute,
            checkin_weekday=checkin_weekday,
            paused_until=paused_until,
            backoff_active=backoff_active,
        )
    except ValueError:
        return None


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
    language: str | None = None  # the language she is written to in, where it was read

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
class PlannedRow:
    """A planned outbox row not finished yet (a handler's direct send left out)."""

    id: int
    user_id: int
    kind: str
    status: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class NewRow:
    """A planned row to insert (pending, no item yet)."""

    user_id: int
    kind: str
    due_at: datetime


@dataclass
class PlanChanges:
    """What bringing some users' planned rows in line takes."""

    inserts: list[NewRow] = field(default_factory=list)
    moves: list[tuple[int, datetime]] = field(default_factory=list)  # (row id, new due time)
    cancels: list[int] = field(default_factory=list)


def desired_time(
    planee: Planee | None,
    kind: str,
    now: datetime,
    last_nudge_at: datetime | None,
    snoozes: Sequence[datetime] = (),
) -> datetime | None:
    """When this user's next planned row of ``kind`` should be due; None: no row at all.
    ``snoozes``: due times of her pending snoozed rows (their days carry no planned item)."""
    if planee is None or not planee.active:
        return None
    schedule = planee.schedule
    assert schedule is not None
    if kind == "poll":
        return next_checkin(schedule, now, seed=planee.id)
    return next_slot(
        schedule,
        now,
        seed=planee.id,
        last_nudge_at=last_nudge_at,
        avoid=snooze_days(snoozes, schedule),
    )


def late_snooze(due_at: datetime, now: datetime, schedule: ScheduleSettings) -> datetime:
    """When a snoozed row due at ``due_at`` goes, seen at ``now``: ``now``, unless it was
    missed by more than the slot window (downtime) and it is quiet hours now, then her next
    nudge time."""
    if now - due_at <= SLOT_WINDOW or not is_quiet(
        local_minute(now, schedule.zone), schedule.quiet_start_minute, schedule.quiet_end_minute
    ):
        return now
    return next_day_slot(schedule, now)


def plan(
    user_ids: Iterable[int],
    now: datetime,
    *,
    planees: Mapping[int, Planee],
    rows: Iterable[PlannedRow],
    last_nudge_at: Mapping[int, datetime],
    kinds: Sequence[str] = PLANNED_KINDS,
    snoozes: Mapping[int, Sequence[datetime]] | None = None,
) -> PlanChanges:
    """The changes that make these users' planned rows of ``kinds`` match their state at
    ``now``. ``planees``: the users (absent ones are gone); ``rows``: their planned rows not
    finished, in due order; ``last_nudge_at``: when each was last sent an item; ``snoozes``:
    the due times of their pending snoozed rows (never moved here: the planned item of their
    day moves instead)."""
    by_user: dict[tuple[int, str], list[PlannedRow]] = {}
    for row in rows:
        by_user.setdefault((row.user_id, row.kind), []).append(row)
    changes = PlanChanges()
    for user_id in user_ids:
        planee = planees.get(user_id)
        for kind in kinds:
            desired = desired_time(
                planee, kind, now, last_nudge_at.get(user_id), (snoozes or {}).get(user_id, ())
            )
            plan_user_rows(
                changes, user_id, kind, by_user.get((user_id, kind), []), desired, planee, now
            )
    return changes


def plan_user_rows(
    changes: PlanChanges,
    user_id: int,
    kind: str,
    rows: Sequence[PlannedRow],
    desired: datetime | None,
    planee: Planee | None,
    now: datetime,
) -> None:
    """Add to ``changes`` what one user's planned rows of one kind need."""
    waiting = [row for row in rows if row.status == "pending"]
    if desired is None:  # gone, blocked, not onboarded: nothing planned may wait
        changes.cancels.extend(row.id for row in rows if row.status in WAITING)
        return
    if any(row.status != "pending" for row in rows):
        # One is being sent (or awaits a retry after an unknown outcome): that one is the
        # user's next nudge of this kind; the dispatcher plans the following one after it.
        changes.cancels.extend(row.id for row in waiting)
        return
    if not waiting:
        changes.inserts.append(NewRow(user_id, kind, desired))
        return
    keep, *extra = waiting
    changes.cancels.extend(row.id for row in extra)
    paused = planee is not None and planee.paused_at(now)
    if keep.due_at <= now and not paused:
        return  # due already: the dispatcher sends it late or moves it (late_or_reschedule)
    if keep.due_at != desired:
        changes.moves.append((keep.id, desired))


# --- at send time --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatestLog:
    """A user's latest conversation log."""

    outcome: str
    item_id: str | None
    created_at: datetime


def owed_support(
    latest_logs: Mapping[int, LatestLog], last_nudge_at: Mapping[int, datetime]
) -> dict[int, str | None]:
    """Users whose latest log is "hard" with no item sent since: the item of that log (None for
    a /log without one); absent users owe nothing."""
    owed: dict[int, str | None] = {}
    for user_id, log in latest_logs.items():
        sent = last_nudge_at.get(user_id)
        if log.outcome == "hard" and (sent is None or sent <= log.created_at):
            owed[user_id] = log.item_id
    return owed


def planning_users(rows: Iterable[ClaimedRow]) -> set[int]:
    """Users with a planned item row among ``rows``: ``settle`` needs their pending snoozes."""
    return {row.user_id for row in rows if row.kind == "item" and row.planned}


def choosing_users(rows: Iterable[ClaimedRow]) -> set[int]:
    """Users with an item row without an item among ``rows``: ``settle`` needs their item
    states and latest log."""
    return {row.user_id for row in rows if row.kind == "item" and row.item_id is None}


@dataclass(frozen=True, slots=True)
class SettleFacts:
    """What ``settle`` needs to know about the users of a batch."""

    planees: Mapping[int, Planee]
    last_nudge_at: Mapping[int, datetime]  # every user of the batch
    snoozes: Mapping[int, Sequence[datetime]]  # ``planning_users``: due times of their
    # pending snoozed rows outside the batch
    states: Mapping[int, Mapping[str, ItemState]]  # ``choosing_users``
    latest_logs: Mapping[int, LatestLog]  # ``choosing_users``


@dataclass
class SettleDecision:
    """What to do with a batch of leased rows."""

    deliveries: list[Delivery] = field(default_factory=list)
    chosen: list[tuple[int, str]] = field(default_factory=list)  # (row id, item id)
    cancels: list[int] = field(default_factory=list)
    moves: list[tuple[int, datetime]] = field(default_factory=list)
    replan: set[int] = field(default_factory=set)  # users whose planned row was cancelled


def settle(
    rows: Sequence[ClaimedRow],
    facts: SettleFacts,
    now: datetime,
    catalog: Sequence[CatalogItem],
) -> SettleDecision:
    """Decide, for rows just leased, which go out now.

    Rows that must not go are cancelled (user blocked, not onboarded, paused) or moved (missed
    by more than the slot window, or not on an allowed day any more); each planned item row
    that goes gets its item chosen now.
    """
    decision = SettleDecision()
    if not rows:
        return decision
    planees = facts.planees
    owed = owed_support(facts.latest_logs, facts.last_nudge_at)
    last = dict(facts.last_nudge_at)
    # A user's snoozed row goes before their planned one in the same batch: the user asked for
    # it, and the planned one then moves to a later day (one nudge a local day).
    rows = sorted(rows, key=lambda row: row.kind != "item" or bool(row.planned))
    steps_by_item = {item.id: item.step for item in catalog}
    for row in rows:
        planee = planees.get(row.user_id)
        snoozed = row.kind == "item" and not row.planned
        if snoozed and planee is not None and planee.active and planee.paused_at(now):
            # A pause carries a snooze to the resume (the pause's message says when).
            schedule = planee.schedule
            assert schedule is not None and schedule.paused_until is not None
            decision.moves.append((row.id, carried_due(schedule, schedule.paused_until)))
            continue
        if planee is None or not planee.active or planee.paused_at(now):
            decision.cancels.append(row.id)
            if row.planned:
                decision.replan.add(row.user_id)
            continue
        schedule = planee.schedule
        assert schedule is not None
        if row.planned and row.kind in PLANNED_KINDS:
            is_item = row.kind == "item"
            when = late_or_reschedule(
                row.due_at,
                now,
                schedule,
                seed=planee.id,
                last_nudge_at=last.get(row.user_id) if is_item else None,
                checkin=row.kind == "poll",
                avoid=snooze_days(facts.snoozes.get(row.user_id, ()), schedule) if is_item else (),
            )
            if when > now:
                decision.moves.append((row.id, when))
                continue
        elif snoozed:
            # A snooze goes when she was promised, whatever else was sent that day; only one
            # missed by a long outage and now in quiet hours waits for her next nudge time.
            when = late_snooze(row.due_at, now, schedule)
            if when > now:
                decision.moves.append((row.id, when))
                continue
        item_id = row.item_id
        if row.kind == "item" and item_id is None:
            user_states = facts.states.get(row.user_id, {})
            support = (
                support_step(owed[row.user_id], steps_by_item, catalog, user_states, now)
                if row.user_id in owed
                else None
            )
            choice = choose(catalog, user_states, now, owed_support_step=support)
            if choice is None:  # everything was shown in the last few days
                decision.cancels.append(row.id)
                decision.replan.add(row.user_id)
                continue
            item_id = choice.item_id
            decision.chosen.append((row.id, item_id))
        if row.kind == "item":  # this batch's send is the user's last nudge from now on
            last[row.user_id] = now
        decision.deliveries.append(
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
                language=planee.language,
            )
        )
    return decision


def support_step(
    logged_item: str | None,
    steps_by_item: Mapping[str, int],
    catalog: Sequence[CatalogItem],
    states: Mapping[str, ItemState],
    now: datetime,
) -> int | None:
    """The step whose supportive tip a "hard" log of ``logged_item`` owes (for a /log without
    an item: her current step)."""
    step = steps_by_item.get(logged_item) if logged_item is not None else None
    if step is None:
        step = current_step(unlocked_steps(catalog, states, now))
    return owed_support_step("hard", step)


@dataclass(frozen=True, slots=True)
class NextNudge:
    """What "Not yet" can promise: when her next planned nudge goes, and whether it brings the
    step she said "Not yet" to back (an item of that step: another angle, or its tip)."""

    at: datetime
    comeback: bool


def not_yet_promise(
    planee: Planee,
    now: datetime,
    catalog: Sequence[CatalogItem],
    states: Mapping[str, ItemState],
    item_id: str,
    *,
    planned_due: datetime | None,
    last_nudge_at: datetime | None,
    snoozes: Sequence[datetime],
    latest_log: LatestLog | None,
) -> NextNudge | None:
    """After "Not yet" on ``item_id`` at ``now`` (``states`` already hold it): her next planned
    nudge, as ``settle`` will send it, and whether ``choose`` brings the step back then.

    Its time is her planned row's (or, if that one must move for a snooze or is not planned
    yet, the time ``plan`` gives it); None for a user who gets no nudges."""
    schedule = planee.schedule
    if not planee.active or schedule is None:
        return None
    avoid = snooze_days(snoozes, schedule)
    at = planned_due
    if at is None or at <= now or local_date(at, schedule.zone) in avoid or planee.paused_at(at):
        at = desired_time(planee, "item", now, last_nudge_at, snoozes)
        if at is None:
            return None
    steps_by_item = {item.id: item.step for item in catalog}
    owed = owed_support(
        {0: latest_log} if latest_log is not None else {},
        {0: last_nudge_at} if last_nudge_at is not None else {},
    )
    support = support_step(owed[0], steps_by_item, catalog, states, at) if 0 in owed else None
    choice = choose(catalog, states, at, owed_support_step=support)
    comeback = choice is not None and steps_by_item.get(choice.item_id) == steps_by_item.get(
        item_id
    )
    return NextNudge(at, comeback)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A user's nudge went unanswered: their new streak and back-off, and whether to queue the
    pause offer now."""

    user_id: int
    streak: int
    backoff: bool
    offer_pause: bool


def count_ignored(
    user_ids: Iterable[int],
    previous_response: Mapping[int, str | None],
    streaks: Mapping[int, int],
) -> list[Ignored]:
    """For users just sent a planned item: ``previous_response`` is the answer to each one's
    item nudge before it (absent: none was ever sent), ``streaks`` their ignored streaks."""
    ignored: list[Ignored] = []
    for user_id in sorted(user_ids):
        if (
            user_id not in previous_response
            or previous_response[user_id] is not None
            or user_id not in streaks
        ):
            continue  # first nudge ever, or the last one got a tap
        streak, backoff, ask = register_ignored(streaks[user_id])
        ignored.append(Ignored(user_id, streak, backoff, ask))
    return ignored

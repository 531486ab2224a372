"""The spacing policy: pure functions of (user settings, progress, outcomes, now).

Nothing here knows Telegram or the database. Callers translate rows into these dataclasses, ask
the policy, and store what it answers. Every datetime in and out is timezone-aware; outputs are UTC.

Pace day patterns (local weekdays; the check-in weekday never carries an item nudge, because the
check-in poll is that day's one nudge, so the item nudge moves to the next pace day):

========  ==========================  =================================================
pace      normal                      backed off (three ignored nudges in a row)
========  ==========================  =================================================
gentle    Tue, Sat                    Tue (Sat when the check-in is on Tuesday)
steady    Mon, Wed, Fri, Sat          Tue, Sat
daily     every day                   every other day (days with an even date ordinal)
========  ==========================  =================================================

Slot time on a day: the user's minute, moved out of quiet hours to the nearest allowed minute of
that day, plus a jitter of ``-JITTER_MINUTES..JITTER_MINUTES`` derived from (seed, local date)
and clamped so it stays outside quiet hours. See ``scheduler.slots`` for daylight-saving rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal, Protocol
from zoneinfo import ZoneInfo

from scheduler.slots import (
    JITTER_MINUTES,
    check_minute,
    is_quiet,
    jitter_for,
    local_date,
    local_minute,
    require_aware,
    resolve_local,
    slot_minute,
)

Pace = Literal["gentle", "steady", "daily"]
Outcome = Literal["went_well", "mixed", "hard", "not_yet", "ignored"]
Kind = Literal["step", "tip", "insight"]
ChoiceReason = Literal["support", "due", "new", "unseen"]
_DayFilter = Callable[[date], bool]

BOX_INTERVALS: Final[Mapping[int, timedelta]] = {
    1: timedelta(days=1),
    2: timedelta(days=2),
    3: timedelta(days=4),
    4: timedelta(days=7),
    5: timedelta(days=14),
    6: timedelta(days=30),
}
FIRST_BOX: Final = 1
LAST_BOX: Final = 6
TRIED_OUTCOMES: Final[frozenset[str]] = frozenset({"went_well", "mixed", "hard"})
OUTCOMES: Final[frozenset[str]] = TRIED_OUTCOMES | {"not_yet", "ignored"}

STEP_AUTO_UNLOCK: Final = timedelta(days=7)
"""A step unlocks the next one this long after it was first sent, even with no try logged."""
RECENT_WINDOW: Final = timedelta(days=3)
"""An item shown within this window is not chosen again (measured in slot-days, see below)."""
SLOT_TOLERANCE: Final = timedelta(hours=12)
"""Slack when comparing a slot time with a due time or a last-shown time.

Slots drift by jitter, daylight-saving changes and late sends, so "due tomorrow" must match
tomorrow's slot even if it fires a few minutes earlier than today's did. Half a day keeps each
comparison on the right side of a whole slot-day.
"""
SLOT_WINDOW: Final = timedelta(hours=2)
"""A nudge missed by less than this (e.g. after downtime) is still sent late."""
BACKOFF_AFTER: Final = 3
"""Ignored nudges in a row that halve the pace and make the bot ask once about pausing."""
DEFAULT_QUIET_START: Final = 21 * 60 + 30
DEFAULT_QUIET_END: Final = 8 * 60
DEFAULT_CHECKIN_WEEKDAY: Final = 6  # Sunday: a look back on the week

_KIND_RANK: Final[Mapping[str, int]] = {"step": 0, "tip": 1, "insight": 2}
_MON, _TUE, _WED, _THU, _FRI, _SAT, _SUN = range(7)
_PACE_WEEKDAYS: Final[Mapping[str, frozenset[int]]] = {
    "gentle": frozenset({_TUE, _SAT}),
    "steady": frozenset({_MON, _WED, _FRI, _SAT}),
    "daily": frozenset(range(7)),
}
_DAWN: Final = datetime.min.replace(tzinfo=UTC)
_SEARCH_DAYS: Final = 400  # far more than any pattern needs; guards against an endless loop


class CatalogItem(Protocol):
    """What the policy reads from a content item (``supportive`` is optional on tips)."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...  # "step" | "tip" | "insight"; anything else is ignored

    @property
    def step(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """One user's scheduling preferences; minutes are minutes after local midnight."""

    timezone: str
    nudge_minute: int
    pace: Pace
    quiet_start_minute: int = DEFAULT_QUIET_START
    quiet_end_minute: int = DEFAULT_QUIET_END
    checkin_weekday: int = DEFAULT_CHECKIN_WEEKDAY  # 0 = Monday .. 6 = Sunday
    paused_until: datetime | None = None
    backoff_active: bool = False

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown IANA time zone {self.timezone!r}") from exc
        check_minute(self.nudge_minute, "nudge_minute")
        check_minute(self.quiet_start_minute, "quiet_start_minute")
        check_minute(self.quiet_end_minute, "quiet_end_minute")
        if self.pace not in _PACE_WEEKDAYS:
            raise ValueError(f"unknown pace {self.pace!r}")
        if not 0 <= self.checkin_weekday <= 6:
            raise ValueError(f"checkin_weekday must be 0..6, got {self.checkin_weekday}")
        if self.paused_until is not None:
            require_aware(self.paused_until, "paused_until")

    @property
    def zone(self) -> ZoneInfo:
        """The user's zone (ZoneInfo caches instances by key)."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class ItemState:
    """One user's progress on one content item."""

    item_id: str
    box: int = FIRST_BOX
    due_at: datetime | None = None
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None
    last_outcome: Outcome | None = None
    tries: int = 0  # logged tries: went_well, mixed or hard

    def __post_init__(self) -> None:
        if not FIRST_BOX <= self.box <= LAST_BOX:
            raise ValueError(f"box must be {FIRST_BOX}..{LAST_BOX}, got {self.box}")
        if self.tries < 0:
            raise ValueError(f"tries must be >= 0, got {self.tries}")
        for name in ("due_at", "first_sent_at", "last_sent_at"):
            value = getattr(self, name)
            if value is not None:
                require_aware(value, name)


@dataclass(frozen=True, slots=True)
class Choice:
    """The item to send at a slot and why it was picked."""

    item_id: str
    reason: ChoiceReason


# --- Leitner boxes -------------------------------------------------------------------------


def interval(box: int) -> timedelta:
    """The spacing interval of a Leitner box."""
    return BOX_INTERVALS[box]


def apply_outcome(state: ItemState, outcome: Outcome, now: datetime) -> ItemState:
    """The item's state after the user logged ``outcome`` at ``now``.

    went_well: up one box (max 6); mixed: same box; hard: down one box (min 1). Each counts as a
    try and makes the item due at ``now + interval(new box)``; the slot that picks it is the first
    at or after that time. not_yet and ignored leave the box alone and make the item due at once,
    so the next slot may pick it again (the "not shown in the last 3 days" rule still applies).
    A hard outcome also owes a supportive tip: see ``owed_support_step``.
    """
    now = require_aware(now, "now")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    if outcome in ("not_yet", "ignored"):
        return replace(state, due_at=now, last_outcome=outcome)
    if outcome == "went_well":
        box = min(state.box + 1, LAST_BOX)
    elif outcome == "hard":
        box = max(state.box - 1, FIRST_BOX)
    else:
        box = state.box
    return replace(
        state, box=box, due_at=now + interval(box), last_outcome=outcome, tries=state.tries + 1
    )


def owed_support_step(outcome: Outcome, step: int) -> int | None:
    """The step whose supportive tip the next nudge must bring after ``outcome``, if any."""
    return step if outcome == "hard" else None


def record_sent(state: ItemState | None, item_id: str, now: datetime) -> ItemState:
    """The item's state after it was sent at ``now`` (a fresh state if it was never sent).

    The due time moves one interval ahead, so an item that gets no answer comes back in time
    even if no "ignored" outcome is ever logged for it.
    """
    now = require_aware(now, "now")
    current = state if state is not None else ItemState(item_id=item_id)
    return replace(
        current,
        first_sent_at=current.first_sent_at or now,
        last_sent_at=now,
        due_at=now + interval(current.box),
    )


# --- Unlocking -----------------------------------------------------------------------------


def _index(states: Iterable[ItemState] | Mapping[str, ItemState]) -> dict[str, ItemState]:
    values = states.values() if isinstance(states, Mapping) else states
    return {state.item_id: state for state in values}


def unlocked_steps(
    catalog: Iterable[CatalogItem],
    states: Iterable[ItemState] | Mapping[str, ItemState],
    now: datetime,
) -> frozenset[int]:
    """The step numbers unlocked at ``now``: always a prefix 1..k, never out of order.

    Step 1 is always unlocked. Step k+1 unlocks once step k is unlocked and has a logged try, or
    once 7 days have passed since step k was first sent.
    """
    now = require_aware(now, "now")
    by_id = _index(states)
    step_states: dict[int, list[ItemState]] = {}
    for item in catalog:
        if item.kind == "step":
            state = by_id.get(item.id)
            step_states.setdefault(item.step, [])
            if state is not None:
                step_states[item.step].append(state)
    unlocked = {1}
    step = 1
    while step + 1 in step_states:
        progress = step_states.get(step, [])
        tried = any(s.tries > 0 for s in progress)
        aged = any(
            s.first_sent_at is not None and now >= s.first_sent_at + STEP_AUTO_UNLOCK
            for s in progress
        )
        if not (tried or aged):
            break
        step += 1
        unlocked.add(step)
    return frozenset(unlocked)


def current_step(unlocked: frozenset[int]) -> int:
    """The highest unlocked step."""
    return max(unlocked)


# --- Choice at a slot ----------------------------------------------------------------------


def _shown_recently(state: ItemState | None, now: datetime, tolerance: timedelta) -> bool:
    if state is None or state.last_sent_at is None:
        return False
    return now - state.last_sent_at < RECENT_WINDOW - tolerance


def _never_shown(state: ItemState | None) -> bool:
    return state is None or state.last_sent_at is None


def choose(
    catalog: Iterable[CatalogItem],
    states: Iterable[ItemState] | Mapping[str, ItemState],
    now: datetime,
    *,
    owed_support_step: int | None,
    tolerance: timedelta = SLOT_TOLERANCE,
) -> Choice | None:
    """The item to send at the slot ``now``, with the rule that picked it, or None.

    In order:
    1. "support": a tip of the step the user found hard (supportive tips first, then never shown,
       then least recently shown), not shown in the last 3 days.
    2. "due": the most overdue unlocked item, steps before tips before insights, not shown in the
       last 3 days. An unlocked step that was never sent counts as due (and most overdue), so a
       newly unlocked step arrives before the tips that support it.
    3. "new": a never-shown tip or insight (tips first) linked to the current step.
    4. "unseen": any never-shown unlocked item (lower kinds and steps first).
    An item counts as due when ``due_at <= now + tolerance`` and as recently shown when it was
    sent less than ``3 days - tolerance`` before ``now``: slots drift by minutes, not days.
    """
    now = require_aware(now, "now")
    items = [item for item in catalog if item.kind in _KIND_RANK]
    by_id = _index(states)
    unlocked = unlocked_steps(items, by_id, now)
    position = {item.id: index for index, item in enumerate(items)}

    def fresh(item: CatalogItem) -> bool:
        return not _shown_recently(by_id.get(item.id), now, tolerance)

    if owed_support_step is not None:
        tips = [
            item
            for item in items
            if item.kind == "tip" and item.step == owed_support_step and fresh(item)
        ]
        if tips:

            def support_key(item: CatalogItem) -> tuple[bool, datetime, int]:
                state = by_id.get(item.id)
                last = state.last_sent_at if state is not None else None
                # Never shown sorts as shown at the dawn of time: before any shown tip.
                return (
                    not getattr(item, "supportive", False),
                    last or _DAWN,
                    position[item.id],
                )

            return Choice(min(tips, key=support_key).id, "support")

    available = [item for item in items if item.step in unlocked]

    due: list[tuple[int, int, datetime, int, str]] = []
    for item in available:
        state = by_id.get(item.id)
        if not fresh(item):
            continue
        rank = _KIND_RANK[item.kind]
        if item.kind == "step" and _never_shown(state):
            due.append((rank, 0, now, item.step, item.id))
        elif state is not None and state.due_at is not None and state.due_at <= now + tolerance:
            due.append((rank, 1, state.due_at, position[item.id], item.id))
    if due:
        return Choice(min(due)[-1], "due")

    step = current_step(unlocked)
    new = [
        item
        for item in available
        if item.kind != "step" and item.step == step and _never_shown(by_id.get(item.id))
    ]
    if new:
        pick = min(new, key=lambda item: (_KIND_RANK[item.kind], position[item.id]))
        return Choice(pick.id, "new")

    unseen = [item for item in available if _never_shown(by_id.get(item.id))]
    if unseen:
        pick = min(unseen, key=lambda item: (_KIND_RANK[item.kind], item.step, position[item.id]))
        return Choice(pick.id, "unseen")
    return None


def choose_item(
    catalog: Iterable[CatalogItem],
    states: Iterable[ItemState] | Mapping[str, ItemState],
    now: datetime,
    *,
    owed_support_step: int | None,
) -> str | None:
    """The id of the item to send at the slot ``now``, or None (see ``choose`` for the rules)."""
    choice = choose(catalog, states, now, owed_support_step=owed_support_step)
    return choice.item_id if choice is not None else None


# --- Back-off ------------------------------------------------------------------------------


def register_ignored(streak: int) -> tuple[int, bool, bool]:
    """After one more nudge with no tap: (new streak, back-off active, ask once to pause).

    The third ignored nudge in a row turns the back-off on and is the only one that asks about
    pausing; later ones keep the back-off without asking again.
    """
    new_streak = max(streak, 0) + 1
    return new_streak, new_streak >= BACKOFF_AFTER, new_streak == BACKOFF_AFTER


def register_tap(streak: int) -> tuple[int, bool]:
    """After any tap: (new streak, back-off active). A tap ends the back-off."""
    del streak  # any tap resets, whatever the streak was
    return 0, False


# --- Slots ---------------------------------------------------------------------------------


def nudge_weekdays(pace: Pace, *, backoff_active: bool, checkin_weekday: int) -> frozenset[int]:
    """The weekdays (0 = Monday) that may carry an item nudge; none for halved daily (parity)."""
    if backoff_active:
        if pace == "daily":
            days = frozenset(range(7))
        elif pace == "steady":
            days = _PACE_WEEKDAYS["gentle"]
        else:  # gentle: one day a week, never the check-in day
            days = frozenset({_SAT if checkin_weekday == _TUE else _TUE})
    else:
        days = _PACE_WEEKDAYS[pace]
    return days - {checkin_weekday}


def is_nudge_day(settings: ScheduleSettings, day: date) -> bool:
    """Whether the local ``day`` is one on which an item nudge may be sent."""
    weekdays = nudge_weekdays(
        settings.pace,
        backoff_active=settings.backoff_active,
        checkin_weekday=settings.checkin_weekday,
    )
    if day.weekday() not in weekdays:
        return False
    if settings.backoff_active and settings.pace == "daily":
        return day.toordinal() % 2 == 0
    return True


def slot_on(
    settings: ScheduleSettings, day: date, *, seed: int, jitter: int = JITTER_MINUTES
) -> datetime | None:
    """The UTC time of the slot on local ``day`` (any day), or None if the day has none.

    A day has none only when daylight saving pushes the jittered time off the day or into quiet
    hours (a zone's gap at the very edge of the quiet window), which is rare and harmless.
    """
    zone = settings.zone
    minute = slot_minute(
        settings.nudge_minute,
        jitter_for(seed, day, jitter),
        settings.quiet_start_minute,
        settings.quiet_end_minute,
    )
    instant = resolve_local(day, minute, zone)
    if instant is None:
        return None
    if is_quiet(
        local_minute(instant, zone), settings.quiet_start_minute, settings.quiet_end_minute
    ):
        return None
    return instant


def _earliest(settings: ScheduleSettings, after: datetime) -> datetime:
    """Slots must be strictly after ``after`` and no earlier than the end of a pause."""
    return after if settings.paused_until is None else max(after, settings.paused_until)


def next_slot(
    settings: ScheduleSettings,
    after: datetime,
    *,
    seed: int,
    last_nudge_at: datetime | None,
    jitter: int = JITTER_MINUTES,
) -> datetime:
    """The first item-nudge time strictly after ``after``, in UTC.

    It lies on a nudge day of the pace (see the module docstring), never on the check-in weekday
    nor on the local day of ``last_nudge_at``, never in quiet hours, and never before
    ``paused_until``. ``seed`` (e.g. the user id) makes the jitter reproducible.
    """
    after = require_aware(after, "after")
    blocked = None if last_nudge_at is None else local_date(last_nudge_at, settings.zone)
    return _search(
        settings,
        after,
        seed=seed,
        jitter=jitter,
        accept=lambda day: day != blocked and is_nudge_day(settings, day),
    )


def next_checkin(
    settings: ScheduleSettings, after: datetime, *, seed: int, jitter: int = JITTER_MINUTES
) -> datetime:
    """The first weekly check-in poll time strictly after ``after``, in UTC.

    On the check-in weekday, at the user's time with the same jitter and quiet-hours rules,
    never before ``paused_until``. Item nudges never fall on that weekday.
    """
    after = require_aware(after, "after")
    return _search(
        settings,
        after,
        seed=seed,
        jitter=jitter,
        accept=lambda day: day.weekday() == settings.checkin_weekday,
    )


def _search(
    settings: ScheduleSettings,
    after: datetime,
    *,
    seed: int,
    jitter: int,
    accept: _DayFilter,
) -> datetime:
    earliest = _earliest(settings, after)
    day = local_date(earliest, settings.zone)
    for _ in range(_SEARCH_DAYS):
        if accept(day):
            instant = slot_on(settings, day, seed=seed, jitter=jitter)
            if instant is not None and instant > after and instant >= earliest:
                return instant
        day += timedelta(days=1)
    raise ValueError(f"no slot within {_SEARCH_DAYS} days for {settings!r}")


# --- Downtime ------------------------------------------------------------------------------


def late_or_reschedule(
    due_at: datetime,
    now: datetime,
    settings: ScheduleSettings,
    window: timedelta = SLOT_WINDOW,
    *,
    seed: int,
    last_nudge_at: datetime | None = None,
    checkin: bool = False,
    jitter: int = JITTER_MINUTES,
) -> datetime:
    """When to send a nudge that was due at ``due_at``, seen at ``now`` (e.g. after downtime).

    Not yet due: ``due_at``. Missed by less than ``window``, still on the slot's local day, outside
    quiet hours, not paused, and no other nudge that day: ``now`` (send late). Otherwise the next
    slot (``next_checkin`` when ``checkin``), so a backlog never goes out in a burst.
    """
    due_at = require_aware(due_at, "due_at")
    now = require_aware(now, "now")
    if due_at > now:
        return due_at
    zone = settings.zone
    today = local_date(now, zone)
    late_ok = (
        now - due_at < window
        and local_date(due_at, zone) == today
        and not is_quiet(
            local_minute(now, zone), settings.quiet_start_minute, settings.quiet_end_minute
        )
        and (settings.paused_until is None or settings.paused_until <= now)
        and (last_nudge_at is None or local_date(last_nudge_at, zone) != today)
    )
    if late_ok:
        return now
    if checkin:
        return next_checkin(settings, now, seed=seed, jitter=jitter)
    return next_slot(settings, now, seed=seed, last_nudge_at=last_nudge_at, jitter=jitter)

"""What a snooze or a "Not yet" promises, and when: one pure decision for the words and the row.

A snooze is a promise with a time. ``snooze_promise`` decides, from the press time and her
settings, when a snoozed nudge comes back *and* how the bot words it, so the button, the
confirmation and the outbox row cannot disagree:

- "In an hour": 30 to 90 minutes after the press (an hour when it can, else the nearest minute
  of that window outside quiet hours).
- "This evening": the same local day, between 17:00 and the start of her quiet hours (19:00, or
  half an hour from now when it is already evening).
- "Tomorrow": the next local day at her nudge time (moved out of quiet hours, never jittered).

Where that cannot be kept as worded (quiet hours, the check-in day, which carries no item
nudge, a pause, or it is already too late in the evening), the promise is her nudge time on the
first day that can carry it (``wording="at"``: the bot names the day and the time) or, while
she is paused, her nudge time after the pause (``wording="resume"``). The planner honours the
row: a snoozed row is never moved by replanning or by one nudge a local day; the planned nudge
of that day moves instead (``snooze_days``). A pause carries it to the resume (``carried_due``).

Everything here is pure; times are aware UTC datetimes in and out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal, cast

from scheduler.policy import ScheduleSettings
from scheduler.slots import (
    MINUTES_PER_DAY,
    is_quiet,
    local_date,
    local_minute,
    nearest_allowed_minute,
    require_aware,
    resolve_local,
)

SnoozeChoice = Literal["hour", "evening", "tomorrow"]
Wording = Literal["hour", "evening", "tomorrow", "at", "resume"]
"""How the bot words a promise: as the button said (the choice itself), or naming the day and
time ("at"), or after her pause ("resume")."""

SNOOZE_CHOICES: Final[tuple[SnoozeChoice, ...]] = ("hour", "evening", "tomorrow")
HOUR: Final = timedelta(hours=1)
HOUR_EARLIEST: Final = timedelta(minutes=30)
HOUR_LATEST: Final = timedelta(minutes=90)
EVENING_START_MINUTE: Final = 17 * 60
EVENING_MINUTE: Final = 19 * 60
EVENING_LEAD: Final = timedelta(minutes=30)
"""Already evening: "this evening" is at least this long after the press."""
_SEARCH_DAYS: Final = 14
PAYLOAD_KEY: Final = "snooze"
"""The key of the snooze record in an outbox row's ``payload`` (the snoozed row and the pressed
one): ``{"choice", "wording", "due", "zone", "pressed_at"}``."""


@dataclass(frozen=True, slots=True)
class Promise:
    """When a snoozed nudge comes back, and how the bot says so."""

    choice: SnoozeChoice
    wording: Wording
    due: datetime  # UTC, on a whole minute: the time the bot names is the time it goes

    @property
    def as_worded(self) -> bool:
        return self.wording == self.choice

    def record(self, zone: str, pressed_at: datetime) -> dict[str, Any]:
        """The snooze record stored in the rows' payload (JSON): what was said, in her zone,
        at the press."""
        return {
            "choice": self.choice,
            "wording": self.wording,
            "due": self.due.astimezone(UTC).isoformat(),
            "zone": zone,
            "pressed_at": pressed_at.astimezone(UTC).isoformat(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Promise | None:
        """The promise of a stored snooze record; None if it is not one."""
        try:
            choice = record["choice"]
            wording = record["wording"]
            due = datetime.fromisoformat(record["due"])
        except (KeyError, TypeError, ValueError):
            return None
        if choice not in SNOOZE_CHOICES or wording not in (*SNOOZE_CHOICES, "at", "resume"):
            return None
        if due.tzinfo is None:
            return None
        return cls(cast(SnoozeChoice, choice), cast(Wording, wording), due.astimezone(UTC))


def snooze_record(payload: Any) -> Mapping[str, Any] | None:
    """The snooze record in a row's payload, if any."""
    if isinstance(payload, Mapping):
        record = payload.get(PAYLOAD_KEY)
        if isinstance(record, Mapping):
            return record
    return None


def _ceil_minute(moment: datetime) -> datetime:
    moment = require_aware(moment, "moment")
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def _quiet(schedule: ScheduleSettings, moment: datetime) -> bool:
    return is_quiet(
        local_minute(moment, schedule.zone),
        schedule.quiet_start_minute,
        schedule.quiet_end_minute,
    )


def paused_at(schedule: ScheduleSettings, moment: datetime) -> bool:
    return schedule.paused_until is not None and schedule.paused_until > moment


def can_carry(schedule: ScheduleSettings, moment: datetime) -> bool:
    """Whether a snoozed nudge may come back at ``moment``: not in quiet hours, not on the
    check-in day (the check-in is that day's one nudge), not while paused."""
    zone = schedule.zone
    return (
        not _quiet(schedule, moment)
        and local_date(moment, zone).weekday() != schedule.checkin_weekday
        and not paused_at(schedule, moment)
    )


def day_slot(schedule: ScheduleSettings, day: date) -> datetime | None:
    """Her nudge time on local ``day`` (moved out of quiet hours, no jitter); None when a
    daylight-saving change leaves the day without that time."""
    zone = schedule.zone
    minute = nearest_allowed_minute(
        schedule.nudge_minute, schedule.quiet_start_minute, schedule.quiet_end_minute
    )
    instant = resolve_local(day, minute, zone)
    if instant is None or _quiet(schedule, instant):
        return None
    return instant


def next_day_slot(
    schedule: ScheduleSettings, after: datetime, *, first_day: date | None = None
) -> datetime:
    """Her nudge time on the first local day from ``first_day`` (default: the day of
    ``after``) that is not the check-in day, strictly after ``after`` and not paused."""
    after = require_aware(after, "after")
    earliest = after
    if schedule.paused_until is not None and schedule.paused_until > earliest:
        earliest = schedule.paused_until
    day = first_day if first_day is not None else local_date(after, schedule.zone)
    day = max(day, local_date(earliest, schedule.zone))
    for _ in range(_SEARCH_DAYS):
        if day.weekday() != schedule.checkin_weekday:
            instant = day_slot(schedule, day)
            if instant is not None and instant > after and instant >= earliest:
                return instant
        day += timedelta(days=1)
    raise ValueError(f"no nudge time within {_SEARCH_DAYS} days")  # pragma: no cover


def carried_due(schedule: ScheduleSettings, resume_at: datetime) -> datetime:
    """Where a pause carries a snoozed nudge: her nudge time on the first day after the
    resume that can carry it (``schedule`` without the pause)."""
    return next_day_slot(_unpaused(schedule), resume_at)


def kept_or_carried(promised: datetime, schedule: ScheduleSettings, now: datetime) -> datetime:
    """When a snooze promised for ``promised`` comes back, seen at a pause or a resume at
    ``now`` (``schedule`` as it now is): at its time if the pause leaves that free, else carried
    to her nudge time after the pause ends (after ``now`` on a resume)."""
    resume_at = now
    if schedule.paused_until is not None and schedule.paused_until > now:
        resume_at = schedule.paused_until
    return promised if promised >= resume_at else carried_due(schedule, resume_at)


def _unpaused(schedule: ScheduleSettings) -> ScheduleSettings:
    if schedule.paused_until is None:
        return schedule
    return ScheduleSettings(
        timezone=schedule.timezone,
        nudge_minute=schedule.nudge_minute,
        pace=schedule.pace,
        quiet_start_minute=schedule.quiet_start_minute,
        quiet_end_minute=schedule.quiet_end_minute,
        checkin_weekday=schedule.checkin_weekday,
        paused_until=None,
        backoff_active=schedule.backoff_active,
    )


def evening_window(schedule: ScheduleSettings, day: date) -> tuple[datetime, datetime] | None:
    """The evening of local ``day``: from 17:00 (or the end of quiet hours, if later) to the
    start of her quiet hours or midnight; None if quiet hours take it all."""
    start = next(
        (
            m
            for m in range(EVENING_START_MINUTE, MINUTES_PER_DAY)
            if not is_quiet(m, schedule.quiet_start_minute, schedule.quiet_end_minute)
        ),
        None,
    )
    if start is None:
        return None
    end = next(
        (
            m
            for m in range(start, MINUTES_PER_DAY)
            if is_quiet(m, schedule.quiet_start_minute, schedule.quiet_end_minute)
        ),
        MINUTES_PER_DAY,
    )
    zone = schedule.zone
    begins = resolve_local(day, start, zone)
    if end == MINUTES_PER_DAY:
        ends = resolve_local(day + timedelta(days=1), 0, zone)
    else:
        ends = resolve_local(day, end, zone)
    if begins is None or ends is None or ends <= begins:
        return None
    return begins, ends


def snooze_promise(
    choice: SnoozeChoice, pressed_at: datetime, schedule: ScheduleSettings
) -> Promise:
    """When a nudge snoozed with ``choice`` at ``pressed_at`` comes back, and the wording."""
    now = require_aware(pressed_at, "pressed_at")
    if paused_at(schedule, now):
        assert schedule.paused_until is not None
        return Promise(choice, "resume", carried_due(schedule, schedule.paused_until))
    kept = _as_worded(choice, now, schedule)
    if kept is not None:
        return Promise(choice, choice, kept)
    return Promise(
        choice, "at", next_day_slot(schedule, now, first_day=_fallback_day(choice, now, schedule))
    )


def _fallback_day(choice: SnoozeChoice, now: datetime, schedule: ScheduleSettings) -> date:
    today = local_date(now, schedule.zone)
    return today + timedelta(days=1) if choice == "tomorrow" else today


def _as_worded(choice: SnoozeChoice, now: datetime, schedule: ScheduleSettings) -> datetime | None:
    start = _ceil_minute(now)
    zone = schedule.zone
    if choice == "hour":
        # An hour, else the nearest minute of 30-90 minutes that can carry it (later first).
        offsets = sorted(range(30, 91), key=lambda m: (abs(m - 60), -m))
        for minutes in offsets:
            moment = start + timedelta(minutes=minutes)
            if moment - now <= HOUR_LATEST and can_carry(schedule, moment):
                return moment
        return None
    if choice == "evening":
        today = local_date(now, zone)
        window = evening_window(schedule, today)
        if window is None:
            return None
        begins, ends = window
        target = resolve_local(today, EVENING_MINUTE, zone)
        due = target if target is not None and begins <= target < ends else begins
        due = max(due, start + EVENING_LEAD)
        if due < ends and local_date(due, zone) == today and can_carry(schedule, due):
            return due
        return None
    tomorrow = local_date(now, zone) + timedelta(days=1)
    slot = day_slot(schedule, tomorrow)
    if slot is not None and can_carry(schedule, slot):
        return slot
    return None


def snooze_options(pressed_at: datetime, schedule: ScheduleSettings) -> list[Promise]:
    """The snooze buttons to offer at ``pressed_at``: one per distinct time, in choice order.
    Two choices that would come back at the same time are one button: the one kept as worded
    if either is."""
    options: list[Promise] = []
    for choice in SNOOZE_CHOICES:
        promise = snooze_promise(choice, pressed_at, schedule)
        same = next((other for other in options if other.due == promise.due), None)
        if same is None:
            options.append(promise)
        elif promise.as_worded and not same.as_worded:
            options[options.index(same)] = promise
    return options


def snooze_days(dues: Iterable[datetime], schedule: ScheduleSettings) -> frozenset[date]:
    """The local days that pending snoozes take: no planned item nudge goes on them."""
    zone = schedule.zone
    return frozenset(local_date(due, zone) for due in dues)

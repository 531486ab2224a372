"""A whole year of slots, property-based, over many IANA zones and settings, DST included."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.policy import Pace, ScheduleSettings, is_nudge_day, next_checkin, next_slot
from scheduler.slots import JITTER_MINUTES, is_quiet, nearest_allowed_minute
from tests.policy.factories import ALL_ZONES, FEATURED_ZONES

# Independent of the implementation: the documented weekday patterns (0 = Monday).
EXPECTED_WEEKDAYS = {
    ("gentle", False): {1, 5},
    ("steady", False): {0, 2, 4, 5},
    ("daily", False): set(range(7)),
    ("gentle", True): {1, 5},  # one of them
    ("steady", True): {1, 5},
    ("daily", True): set(range(7)),  # every other day
}
WEEKLY_MAX = {
    ("gentle", False): 2,
    ("steady", False): 4,
    ("daily", False): 7,
    ("gentle", True): 1,
    ("steady", True): 2,
    ("daily", True): 4,
}
YEAR = timedelta(days=365)

minutes = st.integers(0, 24 * 60 - 1)
quiet_windows = st.one_of(
    st.just((21 * 60 + 30, 8 * 60)),  # the default, wrapping midnight
    st.tuples(st.integers(18 * 60, 24 * 60 - 1), st.integers(0, 10 * 60)),  # other wrapping ones
    st.tuples(minutes, minutes),  # anything, including none (equal ends) and midday windows
)


@st.composite
def schedules(draw: st.DrawFn) -> ScheduleSettings:
    quiet_start, quiet_end = draw(quiet_windows)
    return ScheduleSettings(
        timezone=draw(st.one_of(st.sampled_from(FEATURED_ZONES), st.sampled_from(ALL_ZONES))),
        nudge_minute=draw(minutes),
        pace=draw(st.sampled_from(["gentle", "steady", "daily"])),
        quiet_start_minute=quiet_start,
        quiet_end_minute=quiet_end,
        checkin_weekday=draw(st.integers(0, 6)),
        backoff_active=draw(st.booleans()),
    )


starts = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
seeds = st.integers(0, 2**40)


def year_of(step: object, start: datetime) -> list[datetime]:
    """Iterate a next-time function from ``start`` for a year."""
    found: list[datetime] = []
    moment = start
    while True:
        moment = step(moment)  # type: ignore[operator]
        if moment >= start + YEAR:
            return found
        found.append(moment)


def offset_shift_minutes(zone: ZoneInfo, day: date, moment: datetime) -> int:
    """How far the UTC offset moved between the start of ``day`` and ``moment``."""
    start = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
    now = moment.astimezone(zone).utcoffset()
    assert start is not None and now is not None
    return abs(int((now - start).total_seconds() // 60))


def offset_changes_near(zone: ZoneInfo, day: date) -> bool:
    """Whether the zone's UTC offset changes within a day of ``day`` (a DST or zone change)."""
    offsets = {
        datetime.combine(day + timedelta(days=n), time(0), tzinfo=zone).utcoffset()
        for n in (-1, 0, 1, 2)
    }
    return len(offsets) > 1


year_settings = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@year_settings
@given(config=schedules(), start=starts, seed=seeds)
def test_a_year_of_slots_respects_pace_quiet_hours_one_a_day_and_jitter(
    config: ScheduleSettings, start: datetime, seed: int
) -> None:
    check_year(config, start, seed)


@pytest.mark.parametrize("zone", FEATURED_ZONES)
@pytest.mark.parametrize("pace", ["gentle", "steady", "daily"])
@pytest.mark.parametrize("nudge_minute", [30, 2 * 60 + 15, 19 * 60, 23 * 60 + 45])
def test_a_year_of_slots_in_each_featured_zone_through_its_dst_changes(
    zone: str, pace: Pace, nudge_minute: int
) -> None:
    config = ScheduleSettings(
        timezone=zone,
        nudge_minute=nudge_minute,
        pace=pace,
        quiet_start_minute=0 if nudge_minute < 180 else 21 * 60 + 30,
        quiet_end_minute=0 if nudge_minute < 180 else 8 * 60,
        checkin_weekday=nudge_minute % 7,
    )
    check_year(config, datetime(2024, 1, 1, tzinfo=UTC), seed=nudge_minute)


def check_year(config: ScheduleSettings, start: datetime, seed: int) -> None:
    """Every slot property over a year of nudges and check-ins from ``start``."""
    zone = ZoneInfo(config.timezone)
    last: list[datetime] = []

    def step(after: datetime) -> datetime:
        found = next_slot(config, after, seed=seed, last_nudge_at=last[-1] if last else None)
        last.append(found)
        return found

    nudges = year_of(step, start)
    checkins = year_of(lambda after: next_checkin(config, after, seed=seed), start)

    assert all(m.tzinfo is UTC for m in nudges + checkins)
    assert all(a < b for a, b in zip([start, *nudges], nudges, strict=False))
    nudge_days = [m.astimezone(zone).date() for m in nudges]
    checkin_days = [m.astimezone(zone).date() for m in checkins]
    # At most one nudge per local day, check-ins counted.
    assert len(set(nudge_days)) == len(nudge_days)
    assert not set(nudge_days) & set(checkin_days)

    base = nearest_allowed_minute(
        config.nudge_minute, config.quiet_start_minute, config.quiet_end_minute
    )
    pattern = (config.pace, config.backoff_active)
    for moment, day in zip(nudges + checkins, nudge_days + checkin_days, strict=True):
        wall = moment.astimezone(zone)
        minute = wall.hour * 60 + wall.minute
        assert not is_quiet(minute, config.quiet_start_minute, config.quiet_end_minute)
        assert abs(minute - base) <= JITTER_MINUTES + offset_shift_minutes(zone, day, moment)
    for day in nudge_days:
        assert day.weekday() in EXPECTED_WEEKDAYS[pattern] - {config.checkin_weekday}
        assert is_nudge_day(config, day)
        if pattern == ("daily", True):
            assert day.toordinal() % 2 == 0
    weeks: dict[tuple[int, int], int] = {}
    for day in nudge_days:
        key = day.isocalendar()[:2]
        weeks[key] = weeks.get(key, 0) + 1
    assert max(weeks.values(), default=0) <= WEEKLY_MAX[pattern]

    # No nudge day is skipped, except where the zone's offset changes (DST edge cases).
    first, final = start.astimezone(zone).date(), (start + YEAR).astimezone(zone).date()
    taken = set(nudge_days)
    day = first + timedelta(days=1)
    while day < final:
        if is_nudge_day(config, day) and day not in taken:
            assert offset_changes_near(zone, day), day
        day += timedelta(days=1)

    # Check-ins: on the weekday, once a week.
    assert all(d.weekday() == config.checkin_weekday for d in checkin_days)
    assert len(set(checkin_days)) == len(checkin_days)
    assert 50 <= len(checkins) <= 53


@settings(max_examples=40, deadline=None)
@given(
    config=schedules(),
    start=starts,
    seed=seeds,
    pause=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
)
def test_a_paused_user_gets_nothing_before_the_pause_ends(
    config: ScheduleSettings, start: datetime, seed: int, pause: timedelta
) -> None:
    paused = dataclasses.replace(config, paused_until=start + pause)
    moment = start
    for _ in range(10):
        moment = next_slot(paused, moment, seed=seed, last_nudge_at=moment)
        assert moment >= start + pause
    assert next_checkin(paused, start, seed=seed) >= start + pause

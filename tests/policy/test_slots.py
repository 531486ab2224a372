"""Slots by example: pace days, quiet hours, jitter, daylight saving, pauses and check-ins."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.policy import (
    ScheduleSettings,
    is_nudge_day,
    next_checkin,
    next_slot,
    nudge_weekdays,
)
from scheduler.slots import JITTER_MINUTES, is_quiet, jitter_for, nearest_allowed_minute
from tests.policy.factories import local, settings

NY = "America/New_York"
NO_QUIET = {"quiet_start_minute": 0, "quiet_end_minute": 0}


def slots(
    config: ScheduleSettings, after: datetime, count: int, *, jitter: int = 0
) -> list[datetime]:
    out: list[datetime] = []
    last = None
    for _ in range(count):
        last = next_slot(
            config, after if last is None else last, seed=7, last_nudge_at=last, jitter=jitter
        )
        out.append(last)
    return out


def weekdays(config: ScheduleSettings, moments: list[datetime]) -> list[str]:
    zone = ZoneInfo(config.timezone)
    return [m.astimezone(zone).strftime("%a") for m in moments]


# --- pace day patterns ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pace", "backoff", "expected"),
    [
        ("gentle", False, ["Tue", "Sat", "Tue", "Sat"]),
        ("steady", False, ["Mon", "Wed", "Fri", "Sat", "Mon"]),
        ("daily", False, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Mon"]),  # Sunday: check-in
        ("gentle", True, ["Tue", "Tue", "Tue"]),
        ("steady", True, ["Tue", "Sat", "Tue"]),
    ],
)
def test_nudges_fall_on_the_documented_pace_days(
    pace: str, backoff: bool, expected: list[str]
) -> None:
    config = settings(pace=pace, backoff_active=backoff)
    monday_morning = local(NY, 2025, 6, 2, 9, 0)
    assert weekdays(config, slots(config, monday_morning, len(expected))) == expected


def test_backed_off_daily_is_every_other_day() -> None:
    config = settings(pace="daily", backoff_active=True, checkin_weekday=6)
    found = slots(config, local(NY, 2025, 6, 2, 9, 0), 12)
    days = [m.astimezone(ZoneInfo(NY)).date() for m in found]
    gaps = {(b - a).days for a, b in itertools.pairwise(days)}
    assert gaps <= {2, 4}  # 4 only where the Sunday check-in takes a day
    assert all(d.toordinal() % 2 == 0 for d in days)


def test_gentle_with_a_tuesday_check_in_backs_off_to_saturday_not_to_nothing() -> None:
    assert nudge_weekdays("gentle", backoff_active=True, checkin_weekday=1) == {5}
    config = settings(pace="gentle", backoff_active=True, checkin_weekday=1)
    assert weekdays(config, slots(config, local(NY, 2025, 6, 2, 9, 0), 3)) == ["Sat"] * 3


def test_the_check_in_day_moves_the_item_nudge_to_the_next_pace_day() -> None:
    config = settings(pace="gentle", checkin_weekday=5)  # Saturday
    assert weekdays(config, slots(config, local(NY, 2025, 6, 2, 9, 0), 3)) == ["Tue"] * 3
    checkin = next_checkin(config, local(NY, 2025, 6, 2, 9, 0), seed=7, jitter=0)
    assert checkin == local(NY, 2025, 6, 7, 19, 0)


def test_a_slot_later_today_is_today_and_a_passed_one_is_not() -> None:
    config = settings(pace="daily", checkin_weekday=6)
    assert slots(config, local(NY, 2025, 6, 3, 18, 59), 1) == [local(NY, 2025, 6, 3, 19, 0)]
    assert slots(config, local(NY, 2025, 6, 3, 19, 0), 1) == [local(NY, 2025, 6, 4, 19, 0)]


def test_no_second_nudge_on_a_local_day_that_already_had_one() -> None:
    config = settings(pace="daily", checkin_weekday=6)
    morning_tip = local(NY, 2025, 6, 3, 8, 30)  # e.g. a late send earlier today
    found = next_slot(config, morning_tip, seed=7, last_nudge_at=morning_tip, jitter=0)
    assert found == local(NY, 2025, 6, 4, 19, 0)


def test_is_nudge_day_excludes_the_check_in_weekday_for_daily() -> None:
    config = settings(pace="daily", checkin_weekday=3)
    assert not is_nudge_day(config, date(2025, 6, 5))  # a Thursday
    assert is_nudge_day(config, date(2025, 6, 6))


# --- quiet hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nudge", "quiet", "expected"),
    [
        (23 * 60, (21 * 60 + 30, 8 * 60), 21 * 60 + 29),  # late evening: back to before quiet
        (7 * 60, (21 * 60 + 30, 8 * 60), 8 * 60),  # early morning: on to the end of quiet
        (2 * 60, (21 * 60 + 30, 8 * 60), 8 * 60),  # 02:00 is nearer 08:00 than 21:29
        (5 * 60, (22 * 60, 6 * 60), 6 * 60),
        (12 * 60 + 30, (12 * 60, 14 * 60), 11 * 60 + 59),  # a midday window
        (13 * 60 + 30, (12 * 60, 14 * 60), 14 * 60),
        (649, (600, 699), 699),  # a tie moves forward
        (20 * 60, (21 * 60 + 30, 8 * 60), 20 * 60),  # outside quiet hours: unchanged
    ],
)
def test_a_time_in_quiet_hours_moves_to_the_nearest_allowed_time_that_day(
    nudge: int, quiet: tuple[int, int], expected: int
) -> None:
    assert nearest_allowed_minute(nudge, *quiet) == expected
    config = settings(
        pace="daily", nudge_minute=nudge, quiet_start_minute=quiet[0], quiet_end_minute=quiet[1]
    )
    found = slots(config, local(NY, 2025, 6, 2, 0, 0), 1)[0]
    assert found == local(NY, 2025, 6, 2, expected // 60, expected % 60)


def test_quiet_hours_that_wrap_midnight_cover_both_sides() -> None:
    assert is_quiet(23 * 60, 21 * 60 + 30, 8 * 60)
    assert is_quiet(0, 21 * 60 + 30, 8 * 60)
    assert is_quiet(7 * 60 + 59, 21 * 60 + 30, 8 * 60)
    assert not is_quiet(8 * 60, 21 * 60 + 30, 8 * 60)
    assert not is_quiet(21 * 60 + 29, 21 * 60 + 30, 8 * 60)
    assert not is_quiet(3 * 60, 600, 600)  # equal ends: no quiet hours


def test_jitter_never_pushes_a_slot_at_the_edge_into_quiet_hours() -> None:
    config = settings(pace="daily", nudge_minute=8 * 60, checkin_weekday=6)
    for moment in slots(config, local(NY, 2025, 6, 2, 0, 0), 60, jitter=JITTER_MINUTES):
        minutes = moment.astimezone(ZoneInfo(NY))
        assert 8 * 60 <= minutes.hour * 60 + minutes.minute <= 8 * 60 + JITTER_MINUTES


# --- jitter --------------------------------------------------------------------------------


def test_jitter_is_reproducible_bounded_and_varies_by_day_and_user() -> None:
    days = [date(2025, 1, 1) + timedelta(days=n) for n in range(60)]
    values = [jitter_for(42, d) for d in days]
    assert values == [jitter_for(42, d) for d in days]
    assert all(-JITTER_MINUTES <= v <= JITTER_MINUTES for v in values)
    assert len(set(values)) > 5
    assert values != [jitter_for(43, d) for d in days]
    assert jitter_for(42, days[0], 0) == 0


def test_the_same_seed_gives_the_same_slots() -> None:
    config = settings(pace="daily")
    start = local(NY, 2025, 6, 2, 0, 0)
    assert slots(config, start, 10, jitter=10) == slots(config, start, 10, jitter=10)


# --- daylight saving -----------------------------------------------------------------------


def test_a_time_in_the_spring_forward_gap_moves_forward() -> None:
    config = settings(pace="daily", nudge_minute=2 * 60 + 30, checkin_weekday=2, **NO_QUIET)
    found = slots(config, local(NY, 2024, 3, 9, 12, 0), 2)
    assert found[0] == datetime(2024, 3, 10, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert found[0].astimezone(ZoneInfo(NY)).hour == 3
    assert found[1] == local(NY, 2024, 3, 11, 2, 30)


def test_an_ambiguous_fall_back_time_is_taken_once_at_its_first_occurrence() -> None:
    config = settings(pace="daily", nudge_minute=60 + 30, checkin_weekday=2, **NO_QUIET)
    found = slots(config, local(NY, 2024, 11, 2, 12, 0), 2)
    assert found[0] == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT, fold=0
    assert found[1] == datetime(2024, 11, 4, 6, 30, tzinfo=UTC)  # not 01:30 EST the same day


def test_lord_howe_half_hour_gap_moves_forward_half_an_hour() -> None:
    zone = "Australia/Lord_Howe"
    config = settings(
        timezone=zone, pace="daily", nudge_minute=2 * 60 + 10, checkin_weekday=2, **NO_QUIET
    )
    found = slots(config, local(zone, 2024, 10, 5, 12, 0), 1)[0]
    wall = found.astimezone(ZoneInfo(zone))
    assert (wall.date(), wall.hour, wall.minute) == (date(2024, 10, 6), 2, 40)


def test_daily_slots_keep_their_local_time_across_both_changes_in_london() -> None:
    zone = "Europe/London"
    config = settings(timezone=zone, pace="daily", nudge_minute=19 * 60, checkin_weekday=6)
    found = slots(config, local(zone, 2024, 3, 25, 0, 0), 240)
    walls = {m.astimezone(ZoneInfo(zone)).strftime("%H:%M") for m in found}
    assert walls == {"19:00"}
    assert len({m.astimezone(ZoneInfo(zone)).date() for m in found}) == 240


def test_santiago_midnight_gap_with_a_midnight_nudge_stays_on_its_day() -> None:
    zone = "America/Santiago"  # 2024-09-08 00:00 does not exist (clocks jump to 01:00)
    config = settings(timezone=zone, pace="daily", nudge_minute=15, checkin_weekday=2, **NO_QUIET)
    found = slots(config, local(zone, 2024, 9, 7, 12, 0), 1)[0]
    wall = found.astimezone(ZoneInfo(zone))
    assert (wall.date(), wall.hour, wall.minute) == (date(2024, 9, 8), 1, 15)


def test_a_day_the_zone_skipped_gets_no_slot() -> None:
    zone = "Pacific/Apia"  # 2011-12-30 never happened there
    config = settings(timezone=zone, pace="daily", nudge_minute=12 * 60, checkin_weekday=2)
    found = slots(config, local(zone, 2011, 12, 29, 13, 0), 1)[0]
    assert found.astimezone(ZoneInfo(zone)).date() == date(2011, 12, 31)


# --- pause and check-in --------------------------------------------------------------------


def test_a_paused_user_gets_no_slot_or_check_in_before_the_pause_ends() -> None:
    until = local(NY, 2025, 6, 10, 12, 0)
    config = settings(pace="daily", paused_until=until)
    start = local(NY, 2025, 6, 2, 9, 0)
    assert next_slot(config, start, seed=1, last_nudge_at=None, jitter=0) == local(
        NY, 2025, 6, 10, 19, 0
    )
    assert next_checkin(config, start, seed=1, jitter=0) == local(NY, 2025, 6, 15, 19, 0)


def test_a_pause_ending_after_the_slot_time_skips_that_day() -> None:
    config = settings(pace="daily", paused_until=local(NY, 2025, 6, 10, 19, 30))
    found = next_slot(config, local(NY, 2025, 6, 2, 9, 0), seed=1, last_nudge_at=None, jitter=0)
    assert found == local(NY, 2025, 6, 11, 19, 0)


def test_a_pause_in_the_past_changes_nothing() -> None:
    start = local(NY, 2025, 6, 2, 9, 0)
    paused = settings(pace="steady", paused_until=start - timedelta(days=1))
    assert slots(paused, start, 5) == slots(settings(pace="steady"), start, 5)


def test_check_ins_are_weekly_on_the_chosen_weekday_at_the_users_time() -> None:
    config = settings(pace="steady", checkin_weekday=4, nudge_minute=23 * 60)  # in quiet hours
    moment = local(NY, 2025, 6, 2, 9, 0)
    found = []
    for _ in range(5):
        moment = next_checkin(config, moment, seed=3, jitter=0)
        found.append(moment)
    assert found[0] == local(NY, 2025, 6, 6, 21, 29)
    assert [b - a for a, b in itertools.pairwise(found)] == [timedelta(days=7)] * 4


# --- input validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"timezone": "Mars/Olympus"},
        {"nudge_minute": 1440},
        {"quiet_start_minute": -1},
        {"checkin_weekday": 7},
        {"pace": "hourly"},
        {"paused_until": datetime(2025, 1, 1)},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        settings(**bad)


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError):
        next_slot(settings(), datetime(2025, 1, 1), seed=1, last_nudge_at=None)

"""Back-off after three ignored nudges, and what happens to nudges missed during downtime."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.policy import (
    SLOT_WINDOW,
    is_nudge_day,
    late_or_reschedule,
    next_checkin,
    next_slot,
    register_ignored,
    register_tap,
)
from tests.policy.factories import local
from tests.policy.factories import settings as schedule

NY = "America/New_York"


def test_back_off_starts_at_exactly_the_third_ignored_nudge_and_asks_once() -> None:
    streak = 0
    seen = []
    for _ in range(5):
        streak, backoff, ask = register_ignored(streak)
        seen.append((streak, backoff, ask))
    assert seen == [
        (1, False, False),
        (2, False, False),
        (3, True, True),
        (4, True, False),
        (5, True, False),
    ]


def test_a_tap_resets_the_streak_and_ends_the_back_off() -> None:
    assert register_tap(7) == (0, False)
    streak, _ = register_tap(2)
    assert register_ignored(streak) == (1, False, False)


@settings(max_examples=100, deadline=None)
@given(events=st.lists(st.booleans(), max_size=30))  # True = ignored, False = tapped
def test_back_off_is_on_exactly_when_the_last_three_or_more_nudges_were_ignored(
    events: list[bool],
) -> None:
    streak, backoff, asks = 0, False, 0
    for ignored in events:
        if ignored:
            streak, backoff, ask = register_ignored(streak)
            asks += ask
        else:
            streak, backoff = register_tap(streak)
    run = 0
    for ignored in reversed(events):
        if not ignored:
            break
        run += 1
    assert backoff == (run >= 3)
    runs = "".join("i" if e else "t" for e in events).split("t")
    assert asks == sum(len(r) >= 3 for r in runs)


def test_back_off_halves_each_pace() -> None:
    start = local(NY, 2025, 6, 2, 0, 0)  # a Monday
    for pace, normal, halved in [("gentle", 2, 1), ("steady", 4, 2), ("daily", 6, 3)]:
        counts = []
        for backoff in (False, True):
            config = schedule(pace=pace, backoff_active=backoff)
            moment, last, count = start, None, 0
            while True:
                moment = next_slot(config, moment, seed=5, last_nudge_at=last)
                if moment >= start + timedelta(weeks=4):
                    break
                last, count = moment, count + 1
            counts.append(count)
        assert counts[0] == 4 * normal
        assert 4 * halved - 1 <= counts[1] <= 4 * halved + 1  # every other day drifts by week


# --- downtime ------------------------------------------------------------------------------


def test_a_nudge_missed_by_less_than_its_window_is_sent_late_now() -> None:
    config = schedule(pace="daily")
    due = local(NY, 2025, 6, 3, 19, 0)
    now = due + timedelta(minutes=90)
    assert late_or_reschedule(due, now, config, SLOT_WINDOW, seed=1) == now


def test_a_nudge_missed_by_more_than_its_window_moves_to_the_next_slot() -> None:
    config = schedule(pace="daily")
    due = local(NY, 2025, 6, 3, 17, 0)
    now = due + timedelta(hours=3)
    found = late_or_reschedule(due, now, config, SLOT_WINDOW, seed=1, jitter=0)
    assert found == local(NY, 2025, 6, 4, 19, 0)


def test_the_window_is_a_parameter() -> None:
    config = schedule(pace="daily")
    due = local(NY, 2025, 6, 3, 19, 0)
    now = due + timedelta(minutes=30)
    assert late_or_reschedule(due, now, config, timedelta(minutes=45), seed=1) == now
    assert late_or_reschedule(due, now, config, timedelta(minutes=20), seed=1) > now


def test_a_nudge_not_yet_due_keeps_its_time() -> None:
    due = local(NY, 2025, 6, 3, 19, 0)
    assert late_or_reschedule(due, due - timedelta(hours=1), schedule(), seed=1) == due


def test_a_late_send_never_lands_in_quiet_hours() -> None:
    config = schedule(pace="daily", nudge_minute=21 * 60)
    due = local(NY, 2025, 6, 3, 21, 0)
    found = late_or_reschedule(due, due + timedelta(minutes=45), config, seed=1, jitter=0)
    assert found == local(NY, 2025, 6, 4, 21, 0)


def test_a_late_send_never_crosses_into_the_next_local_day() -> None:
    config = schedule(
        pace="daily", nudge_minute=23 * 60 + 50, **{"quiet_start_minute": 0, "quiet_end_minute": 0}
    )
    due = local(NY, 2025, 6, 3, 23, 50)
    found = late_or_reschedule(
        due, due + timedelta(minutes=30), config, seed=1, last_nudge_at=None, jitter=0
    )
    assert found == local(NY, 2025, 6, 4, 23, 50)


def test_a_late_send_never_makes_a_second_nudge_that_day() -> None:
    config = schedule(pace="daily")
    due = local(NY, 2025, 6, 3, 19, 0)
    earlier = local(NY, 2025, 6, 3, 9, 0)
    found = late_or_reschedule(
        due, due + timedelta(minutes=10), config, seed=1, last_nudge_at=earlier
    )
    assert found > due + timedelta(hours=12)


def test_a_paused_user_gets_no_late_send() -> None:
    due = local(NY, 2025, 6, 3, 19, 0)
    config = schedule(pace="daily", paused_until=due + timedelta(days=3))
    found = late_or_reschedule(due, due + timedelta(minutes=10), config, seed=1)
    assert found >= due + timedelta(days=3)


def test_a_missed_check_in_is_sent_late_or_moved_to_next_weeks_check_in() -> None:
    config = schedule(checkin_weekday=6)
    due = next_checkin(config, local(NY, 2025, 6, 2, 0, 0), seed=1)
    soon = due + timedelta(minutes=20)
    assert late_or_reschedule(due, soon, config, seed=1, checkin=True) == soon
    later = due + timedelta(hours=2, minutes=1)
    assert late_or_reschedule(due, later, config, seed=1, checkin=True) == next_checkin(
        config, later, seed=1
    )


@settings(max_examples=150, deadline=None)
@given(
    missed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
    pace=st.sampled_from(["gentle", "steady", "daily"]),
    seed=st.integers(0, 10**9),
)
def test_after_downtime_a_nudge_is_sent_now_only_if_recent_else_at_a_future_slot(
    missed: timedelta, pace: str, seed: int
) -> None:
    config = schedule(pace=pace)
    due = next_slot(config, local(NY, 2025, 3, 1, 0, 0), seed=seed, last_nudge_at=None)
    now = due + missed
    found = late_or_reschedule(due, now, config, SLOT_WINDOW, seed=seed)
    if found == now:
        assert missed < SLOT_WINDOW
    else:
        assert found > now
        assert is_nudge_day(config, found.astimezone(ZoneInfo(NY)).date())
    if missed >= SLOT_WINDOW:
        assert found > now

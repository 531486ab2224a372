"""The promise checker: every message that names a time or a day keeps it.

For snoozes ("In an hour", "This evening", "Tomorrow", and what they say instead where that
cannot be kept), "Not yet", and a pause and a resume with a snooze waiting, a simulation over
zones with daylight saving (and half-hour and 45-minute offsets), quiet hours that span midnight,
paces, check-in days and press times drives the real planner and settle step
(``tests.promises.simulation``) and checks that what was said happened in the window it named.
``bench/promises.py`` runs a wider sweep.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content import load_library
from scheduler.promises import SNOOZE_CHOICES
from tests.promises.simulation import DAYS, PACES, SCENARIOS, ZONES, Case, check

LIBRARY = load_library()

# Quiet hours on a 15-minute grid: many span midnight (start > end), some are empty (equal).
_MINUTE = st.integers(0, 95).map(lambda q: q * 15)

cases = st.builds(
    Case,
    zone=st.sampled_from(ZONES),
    day=st.sampled_from(DAYS),
    press_minute=st.integers(0, 3 * 24 * 60 - 1),
    nudge_minute=st.integers(0, 287).map(lambda m: m * 5),
    quiet_start=_MINUTE,
    quiet_end=_MINUTE,
    pace=st.sampled_from(PACES),
    checkin_weekday=st.integers(0, 6),
    scenario=st.sampled_from(SCENARIOS),
    choice=st.sampled_from(SNOOZE_CHOICES),
    pause_after=st.integers(1, 24 * 60),
    pause_days=st.sampled_from((0, 1, 3, 7)),
    resume_after=st.integers(1, 8 * 24 * 60),
)


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cases)
def test_what_the_bot_says_about_time_happens_in_the_window_it_named(case: Case) -> None:
    outcome = check(case, LIBRARY)
    assert not outcome.broken, outcome.broken

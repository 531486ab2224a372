"""Leitner boxes: every transition the spec names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.policy import (
    BOX_INTERVALS,
    ItemState,
    Outcome,
    apply_outcome,
    owed_support_step,
    record_sent,
)

NOW = datetime(2025, 3, 4, 19, 7, tzinfo=UTC)


def test_box_intervals_are_1_2_4_7_14_30_days() -> None:
    assert [BOX_INTERVALS[box].days for box in range(1, 7)] == [1, 2, 4, 7, 14, 30]


@pytest.mark.parametrize(
    ("box", "outcome", "new_box"),
    [
        *[(box, "went_well", min(box + 1, 6)) for box in range(1, 7)],
        *[(box, "mixed", box) for box in range(1, 7)],
        *[(box, "hard", max(box - 1, 1)) for box in range(1, 7)],
    ],
)
def test_a_logged_try_moves_the_box_and_sets_due_one_interval_after_the_log(
    box: int, outcome: Outcome, new_box: int
) -> None:
    state = ItemState("step-1", box=box, tries=2, last_sent_at=NOW - timedelta(hours=1))
    after = apply_outcome(state, outcome, NOW)
    assert after.box == new_box
    assert after.due_at == NOW + BOX_INTERVALS[new_box]
    assert after.tries == 3
    assert after.last_outcome == outcome
    assert after.last_sent_at == state.last_sent_at


def test_went_well_in_the_last_box_stays_there() -> None:
    assert apply_outcome(ItemState("x", box=6), "went_well", NOW).box == 6


def test_hard_in_the_first_box_stays_there() -> None:
    assert apply_outcome(ItemState("x", box=1), "hard", NOW).box == 1


@pytest.mark.parametrize("outcome", ["not_yet", "ignored"])
@pytest.mark.parametrize("box", range(1, 7))
def test_not_yet_or_ignored_keeps_the_box_and_makes_the_item_due_at_once(
    box: int, outcome: Outcome
) -> None:
    state = ItemState("x", box=box, due_at=NOW + timedelta(days=9), tries=1)
    after = apply_outcome(state, outcome, NOW)
    assert after.box == box
    assert after.due_at == NOW
    assert after.tries == 1  # not a try: does not unlock the next step


def test_only_hard_owes_a_supportive_tip_for_its_step() -> None:
    assert owed_support_step("hard", 3) == 3
    for outcome in ("went_well", "mixed", "not_yet", "ignored"):
        assert owed_support_step(outcome, 3) is None


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError):
        apply_outcome(ItemState("x"), "great", NOW)  # type: ignore[arg-type]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        apply_outcome(ItemState("x"), "mixed", datetime(2025, 1, 1))


def test_item_state_refuses_a_box_outside_1_to_6() -> None:
    with pytest.raises(ValueError):
        ItemState("x", box=7)
    with pytest.raises(ValueError):
        ItemState("x", box=0)


def test_record_sent_keeps_the_first_send_and_moves_due_one_interval_on() -> None:
    first = record_sent(None, "tip-1a", NOW)
    assert (first.first_sent_at, first.last_sent_at, first.box) == (NOW, NOW, 1)
    assert first.due_at == NOW + timedelta(days=1)
    later = NOW + timedelta(days=5)
    second = record_sent(first, "tip-1a", later)
    assert second.first_sent_at == NOW
    assert second.last_sent_at == later


outcomes = st.sampled_from(["went_well", "mixed", "hard", "not_yet", "ignored"])


@settings(max_examples=150, deadline=None)
@given(box=st.integers(1, 6), history=st.lists(outcomes, max_size=20))
def test_any_history_keeps_the_box_in_range_and_due_never_before_the_log(
    box: int, history: list[Outcome]
) -> None:
    state = ItemState("x", box=box)
    now = NOW
    for outcome in history:
        before = state
        state = apply_outcome(state, outcome, now)
        assert 1 <= state.box <= 6
        assert abs(state.box - before.box) <= 1
        assert state.due_at is not None
        assert state.due_at >= now
        now += timedelta(hours=13)
    assert state.tries == sum(o in ("went_well", "mixed", "hard") for o in history)

"""Steps unlock in order: by a logged try, or seven days after the previous step was first sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.policy import ItemState, apply_outcome, record_sent, unlocked_steps
from tests.policy.factories import catalog

NOW = datetime(2025, 6, 1, 18, 0, tzinfo=UTC)


def test_step_one_is_unlocked_for_a_new_user() -> None:
    assert unlocked_steps(catalog(), [], NOW) == {1}


def test_step_one_is_unlocked_even_with_an_empty_catalog() -> None:
    assert unlocked_steps([], [], NOW) == {1}


def test_a_logged_try_on_a_step_unlocks_the_next() -> None:
    sent = record_sent(None, "step-1", NOW)
    tried = apply_outcome(sent, "hard", NOW + timedelta(hours=2))
    assert unlocked_steps(catalog(), [sent], NOW + timedelta(hours=3)) == {1}
    assert unlocked_steps(catalog(), [tried], NOW + timedelta(hours=3)) == {1, 2}


def test_not_yet_does_not_unlock_the_next_step() -> None:
    state = apply_outcome(record_sent(None, "step-1", NOW), "not_yet", NOW)
    assert unlocked_steps(catalog(), [state], NOW + timedelta(days=1)) == {1}


def test_seven_days_after_first_sent_unlocks_the_next_step_without_a_tap() -> None:
    sent = record_sent(None, "step-1", NOW)
    assert unlocked_steps(catalog(), [sent], NOW + timedelta(days=7, seconds=-1)) == {1}
    assert unlocked_steps(catalog(), [sent], NOW + timedelta(days=7)) == {1, 2}


def test_first_sent_counts_not_last_sent() -> None:
    state = ItemState("step-1", first_sent_at=NOW, last_sent_at=NOW + timedelta(days=6))
    assert unlocked_steps(catalog(), [state], NOW + timedelta(days=7)) == {1, 2}


def test_a_user_who_never_taps_reaches_every_step_a_week_apart() -> None:
    states: dict[str, ItemState] = {}
    now = NOW
    for step in range(1, 5):
        assert max(unlocked_steps(catalog(), states, now)) == step
        states[f"step-{step}"] = record_sent(None, f"step-{step}", now)
        now += timedelta(days=7)
    assert unlocked_steps(catalog(), states, now) == {1, 2, 3, 4}


def test_a_try_on_a_later_step_never_unlocks_out_of_order() -> None:
    step3 = ItemState("step-3", tries=1, first_sent_at=NOW - timedelta(days=30))
    assert unlocked_steps(catalog(), [step3], NOW) == {1}


def test_states_may_be_given_as_a_mapping() -> None:
    tried = ItemState("step-1", tries=1)
    assert unlocked_steps(catalog(), {"step-1": tried}, NOW) == {1, 2}


step_state = st.builds(
    ItemState,
    item_id=st.sampled_from([f"step-{n}" for n in range(1, 5)]),
    tries=st.integers(0, 2),
    first_sent_at=st.one_of(
        st.none(), st.integers(0, 20).map(lambda days: NOW - timedelta(days=days))
    ),
)


@settings(max_examples=100, deadline=None)
@given(states=st.lists(step_state, max_size=6, unique_by=lambda s: s.item_id))
def test_unlocked_steps_are_always_a_prefix_each_earned_by_the_step_before(
    states: list[ItemState],
) -> None:
    unlocked = unlocked_steps(catalog(), states, NOW)
    top = max(unlocked)
    assert unlocked == frozenset(range(1, top + 1))
    by_id = {s.item_id: s for s in states}
    for step in range(2, top + 1):
        before = by_id[f"step-{step - 1}"]
        aged = before.first_sent_at is not None and NOW - before.first_sent_at >= timedelta(days=7)
        assert before.tries > 0 or aged
    if top < 4:
        blocker = by_id.get(f"step-{top}")
        if blocker is not None:
            assert blocker.tries == 0
            assert blocker.first_sent_at is None or NOW - blocker.first_sent_at < timedelta(days=7)

"""Choice at a slot: support after hard, most overdue, new for the current step, any unseen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.policy import (
    ItemState,
    apply_outcome,
    choose,
    choose_item,
    record_sent,
    unlocked_steps,
)
from tests.policy.factories import Item, catalog

SLOT = datetime(2025, 6, 10, 19, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def shown(item_id: str, days_ago: float, **fields: object) -> ItemState:
    """A state last (and first) shown ``days_ago`` days before the slot."""
    at = SLOT - timedelta(days=days_ago)
    return ItemState(item_id, first_sent_at=at, last_sent_at=at, **fields)  # type: ignore[arg-type]


def pick(states: list[ItemState], owed: int | None = None) -> str | None:
    return choose_item(catalog(), states, SLOT, owed_support_step=owed)


def test_a_new_user_gets_step_one_first() -> None:
    assert choose(catalog(), [], SLOT, owed_support_step=None) == choose(
        catalog(), {}, SLOT, owed_support_step=None
    )
    assert pick([]) == "step-1"


def test_after_hard_the_next_nudge_is_a_supportive_tip_of_that_step() -> None:
    step1 = apply_outcome(shown("step-1", 10, tries=1), "went_well", SLOT - 9 * DAY)
    step2 = apply_outcome(shown("step-2", 1), "hard", SLOT - DAY / 2)
    due_step = ItemState("step-1", box=1, due_at=SLOT - 5 * DAY, last_sent_at=SLOT - 9 * DAY)
    choice = choose(catalog(), [step1, step2, due_step], SLOT, owed_support_step=2)
    assert choice is not None
    assert (choice.item_id, choice.reason) == ("tip-2b", "support")


def test_support_falls_back_to_another_tip_of_the_step_when_the_supportive_one_is_recent() -> None:
    states = [shown("step-1", 4, tries=1), shown("tip-1b", 1)]
    assert pick(states, owed=1) == "tip-1a"


def test_support_prefers_the_least_recently_shown_tip_among_equals() -> None:
    items = [Item("s1", "step", 1), Item("t1", "tip", 1), Item("t2", "tip", 1)]
    states = [shown("s1", 1, tries=1), shown("t1", 5), shown("t2", 9)]
    assert choose_item(items, states, SLOT, owed_support_step=1) == "t2"


def test_support_owed_with_every_tip_recent_falls_back_to_the_normal_order() -> None:
    states = [shown("step-1", 1, tries=1), shown("tip-1a", 1), shown("tip-1b", 2)]
    choice = choose(catalog(), states, SLOT, owed_support_step=1)
    assert choice is not None
    assert choice.reason != "support"
    assert choice.item_id == "step-2"  # unlocked by the try, never sent


def test_a_newly_unlocked_step_comes_before_the_tips_that_support_it() -> None:
    assert pick([shown("step-1", 4, tries=1, due_at=SLOT + 3 * DAY)]) == "step-2"


def test_due_steps_come_before_due_tips_before_due_insights() -> None:
    later = SLOT + 9 * DAY
    steps_not_due = [shown(f"step-{n}", 5, tries=1, due_at=later) for n in range(1, 5)]
    tip = shown("tip-1a", 5, due_at=SLOT - 4 * DAY)
    insight = shown("insight-1", 5, due_at=SLOT - 4 * DAY)
    due_step = shown("step-2", 5, tries=1, due_at=SLOT - DAY / 2)
    with_due_step = [s for s in steps_not_due if s.item_id != "step-2"] + [due_step]
    assert pick([*with_due_step, tip, insight]) == "step-2"  # though the tip is more overdue
    assert pick([*steps_not_due, tip, insight]) == "tip-1a"
    assert pick([*steps_not_due, insight]) == "insight-1"


def test_among_due_items_of_one_kind_the_most_overdue_wins() -> None:
    states = [
        shown("step-1", 5, tries=1, due_at=SLOT + 5 * DAY),
        shown("step-2", 5, tries=1, due_at=SLOT + 5 * DAY),
        shown("step-3", 5, tries=1, due_at=SLOT + 5 * DAY),
        shown("step-4", 5, tries=1, due_at=SLOT + 5 * DAY),
        shown("tip-3a", 5, due_at=SLOT - DAY),
        shown("tip-1b", 5, due_at=SLOT - 2 * DAY),
    ]
    assert pick(states) == "tip-1b"


def test_an_item_shown_in_the_last_three_days_is_not_chosen_even_when_due() -> None:
    states = [shown("step-1", 2, tries=1, due_at=SLOT - DAY)]
    choice = choose(catalog(), states, SLOT, owed_support_step=None)
    assert choice is not None
    assert choice.item_id == "step-2"


def test_an_item_shown_three_slot_days_ago_may_return_despite_jitter() -> None:
    states = [shown("step-1", 3 - 20 / 1440, due_at=SLOT - DAY)]  # 20 minutes short of 3 days
    assert pick(states) == "step-1"


def test_an_item_due_a_few_minutes_after_the_slot_counts_as_due() -> None:
    states = [shown("step-1", 4, tries=1, due_at=SLOT + timedelta(minutes=15)), shown("step-2", 4)]
    states[1] = ItemState("step-2", last_sent_at=SLOT - 4 * DAY, due_at=SLOT + 2 * DAY)
    assert pick(states) == "step-1"


def test_with_nothing_due_a_new_tip_of_the_current_step_comes_before_an_insight() -> None:
    states = [
        shown("step-1", 10, tries=1, due_at=SLOT + 9 * DAY),
        shown("step-2", 4, due_at=SLOT + 9 * DAY),
    ]
    choice = choose(catalog(), states, SLOT, owed_support_step=None)
    assert choice is not None
    assert (choice.item_id, choice.reason) == ("tip-2a", "new")
    states += [shown("tip-2a", 4, due_at=SLOT + 9 * DAY), shown("tip-2b", 4, due_at=SLOT + DAY)]
    assert pick(states) == "insight-2"


def test_then_any_never_shown_unlocked_item_from_an_earlier_step() -> None:
    later = SLOT + 9 * DAY
    states = [
        shown("step-1", 10, tries=1, due_at=later),
        shown("step-2", 4, due_at=later),
        shown("tip-2a", 4, due_at=later),
        shown("tip-2b", 4, due_at=later),
        shown("insight-2", 4, due_at=later),
    ]
    choice = choose(catalog(), states, SLOT, owed_support_step=None)
    assert choice is not None
    assert (choice.item_id, choice.reason) == ("tip-1a", "unseen")


def test_nothing_fits_gives_none() -> None:
    states = [shown(item.id, 1) for item in catalog() if item.step == 1]
    assert pick(states) is None


def test_locked_items_are_never_chosen() -> None:
    states = [shown("step-1", 1), shown("tip-1a", 1), shown("tip-1b", 1), shown("insight-1", 1)]
    states.append(ItemState("tip-3a", due_at=SLOT - 9 * DAY, last_sent_at=SLOT - 20 * DAY))
    assert pick(states) is None


def test_unknown_kinds_and_orphan_states_are_ignored() -> None:
    items = [Item("s1", "step", 1), Item("poll", "poll", 1)]  # type: ignore[arg-type]
    states = [ItemState("gone", due_at=SLOT - 9 * DAY)]
    assert choose_item(items, states, SLOT, owed_support_step=None) == "s1"


ids = [item.id for item in catalog()]
state_for = st.builds(
    lambda item_id, sent, tries, due: ItemState(
        item_id,
        tries=tries,
        first_sent_at=None if sent is None else SLOT - timedelta(hours=sent + 24),
        last_sent_at=None if sent is None else SLOT - timedelta(hours=sent),
        due_at=None if due is None else SLOT + timedelta(hours=due),
    ),
    item_id=st.sampled_from(ids),
    sent=st.one_of(st.none(), st.integers(0, 400)),
    tries=st.integers(0, 2),
    due=st.one_of(st.none(), st.integers(-400, 400)),
)


@settings(max_examples=100, deadline=None)
@given(
    states=st.lists(state_for, max_size=16, unique_by=lambda s: s.item_id),
    owed=st.one_of(st.none(), st.integers(1, 4)),
)
def test_the_chosen_item_is_unlocked_or_owed_and_not_shown_in_the_last_two_and_a_half_days(
    states: list[ItemState], owed: int | None
) -> None:
    choice = choose(catalog(), states, SLOT, owed_support_step=owed)
    by_id = {s.item_id: s for s in states}
    if choice is None:
        return
    item = next(i for i in catalog() if i.id == choice.item_id)
    state = by_id.get(item.id)
    assert state is None or state.last_sent_at is None or SLOT - state.last_sent_at >= 2.5 * DAY
    if choice.reason == "support":
        assert (item.kind, item.step) == ("tip", owed)
    else:
        assert item.step in unlocked_steps(catalog(), states, SLOT)
    if choice.reason in ("new", "unseen"):
        assert state is None or state.last_sent_at is None


def test_a_fresh_user_who_taps_went_well_walks_through_all_steps() -> None:
    states: dict[str, ItemState] = {}
    now = SLOT
    seen: list[str] = []
    for _ in range(120):
        item_id = choose_item(catalog(), states, now, owed_support_step=None)
        if item_id is not None:
            seen.append(item_id)
            sent = record_sent(states.get(item_id), item_id, now)
            states[item_id] = apply_outcome(sent, "went_well", now + timedelta(minutes=5))
        now += DAY
    assert [i for i in seen if i.startswith("step-")][:4] == [
        "step-1",
        "step-2",
        "step-3",
        "step-4",
    ]
    assert set(seen) == set(ids)  # every item reached within four months of daily slots

"""Choice at a slot: support after hard, the "Not yet" comeback, steps returning as variants,
alternation with tips and insights, and no item twice within 21 days."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.policy import (
    NO_REPEAT_WINDOW,
    OUTCOMES,
    SCHEDULED_KINDS,
    TRIED_OUTCOMES,
    ItemState,
    apply_outcome,
    choose,
    choose_item,
    progress_item_id,
    record_sent,
    unlocked_steps,
)
from tests.policy.factories import Item, catalog

SLOT = datetime(2025, 6, 10, 19, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LATER = SLOT + 9 * DAY


def shown(item_id: str, days_ago: float, **fields: object) -> ItemState:
    """A state last (and first) shown ``days_ago`` days before the slot."""
    at = SLOT - timedelta(days=days_ago)
    return ItemState(item_id, first_sent_at=at, last_sent_at=at, **fields)  # type: ignore[arg-type]


def pick(states: list[ItemState], owed: int | None = None) -> str | None:
    return choose_item(catalog(), states, SLOT, owed_support_step=owed)


def chosen(states: list[ItemState], owed: int | None = None) -> tuple[str, str] | None:
    choice = choose(catalog(), states, SLOT, owed_support_step=owed)
    return None if choice is None else (choice.item_id, choice.reason)


def test_the_outcome_vocabulary_is_defined_once_here() -> None:
    assert TRIED_OUTCOMES == ("went_well", "mixed", "hard")
    assert OUTCOMES == ("went_well", "mixed", "hard", "not_yet", "ignored")


def test_a_new_user_gets_step_one_first() -> None:
    assert choose(catalog(), [], SLOT, owed_support_step=None) == choose(
        catalog(), {}, SLOT, owed_support_step=None
    )
    assert chosen([]) == ("step-1", "due")


def test_an_outcome_on_a_variant_counts_for_its_step() -> None:
    items = catalog()
    assert progress_item_id(items, "step-2y") == "step-2"
    assert progress_item_id(items, "step-2") == "step-2"
    assert progress_item_id(items, "tip-2a") == "tip-2a"
    assert progress_item_id(items, "gone") == "gone"


# --- support after "hard" ----------------------------------------------------------------


def test_after_hard_the_next_nudge_is_a_supportive_tip_of_that_step() -> None:
    step1 = apply_outcome(shown("step-1", 10, tries=1), "went_well", SLOT - 9 * DAY)
    step2 = apply_outcome(shown("step-2", 1), "hard", SLOT - DAY / 2)
    assert chosen([step1, step2], owed=2) == ("tip-2b", "support")


def test_support_falls_back_to_another_tip_when_the_supportive_one_was_sent_within_21_days() -> (
    None
):
    states = [shown("step-1", 4, tries=1), shown("tip-1b", 20)]
    assert pick(states, owed=1) == "tip-1a"


def test_support_prefers_the_least_recently_shown_tip_among_equals() -> None:
    items = [Item("s1", "step", 1), Item("t1", "tip", 1), Item("t2", "tip", 1)]
    states = [shown("s1", 1, tries=1), shown("t1", 25), shown("t2", 30)]
    assert choose_item(items, states, SLOT, owed_support_step=1) == "t2"


def test_support_owed_with_every_tip_recent_falls_back_to_the_normal_order() -> None:
    states = [shown("step-1", 1, tries=1), shown("tip-1a", 1), shown("tip-1b", 20)]
    assert chosen(states, owed=1) == ("step-2", "due")  # unlocked by the try, never sent


# --- "Not yet" -----------------------------------------------------------------------------


def test_not_yet_on_a_step_brings_a_variant_of_it_at_the_very_next_slot() -> None:
    sent = shown("step-1", 1)
    states = [apply_outcome(sent, "not_yet", SLOT - DAY / 2)]
    assert chosen(states) == ("step-1x", "comeback")


def test_the_comeback_goes_before_a_newly_unlocked_step_and_a_due_step() -> None:
    step1 = shown("step-1", 8, tries=1, due_at=SLOT - DAY)  # due, and step 2 is unlocked
    step2 = apply_outcome(shown("step-3", 1), "not_yet", SLOT - DAY / 2)
    states = [step1, shown("step-2", 10, tries=1, due_at=SLOT - 2 * DAY), step2]
    assert chosen(states) == ("step-3x", "comeback")


def test_with_two_not_yets_pending_the_newest_press_comes_back_first() -> None:
    older = apply_outcome(shown("step-1", 10), "not_yet", SLOT - 9 * DAY)
    newer = apply_outcome(shown("step-2", 1), "not_yet", SLOT - DAY / 2)
    assert chosen([older, newer]) == ("step-2x", "comeback")


def test_not_yet_on_a_variant_brings_another_variant_not_the_same_one() -> None:
    step = shown("step-1", 8)
    variant = shown("step-1x", 1)
    pressed = apply_outcome(step, "not_yet", SLOT - DAY / 2)  # the caller maps the variant
    assert chosen([pressed, variant]) == ("step-1y", "comeback")


def test_not_yet_on_a_tip_brings_another_item_of_its_step() -> None:
    states = [
        shown("step-1", 10, tries=1, due_at=LATER),
        shown("step-2", 6, tries=1, due_at=LATER),
        apply_outcome(shown("tip-1a", 1), "not_yet", SLOT - DAY / 2),
    ]
    assert chosen(states) == ("tip-1b", "comeback")


def test_the_comeback_happens_once() -> None:
    pressed = apply_outcome(shown("step-1", 2), "not_yet", SLOT - 3 * DAY / 2)
    states = [pressed, shown("step-1x", 1)]  # the comeback went out yesterday
    choice = choose(catalog(), states, SLOT, owed_support_step=None)
    assert choice is not None
    assert choice.reason != "comeback"


def test_the_comeback_falls_back_to_a_tip_when_every_angle_was_sent_within_21_days() -> None:
    angles = [shown(f"step-1{v}", 20 - n) for n, v in enumerate("xyz")]
    pressed = apply_outcome(shown("step-1", 18), "not_yet", SLOT - DAY / 2)
    assert chosen([pressed, *angles]) == ("tip-1a", "comeback")


def test_support_after_hard_goes_before_the_comeback() -> None:
    pressed = apply_outcome(shown("step-1", 1), "not_yet", SLOT - DAY / 2)
    assert chosen([pressed], owed=1) == ("tip-1b", "support")
    sent = record_sent(None, "tip-1b", SLOT)
    choice = choose(catalog(), [pressed, sent], SLOT + 2 * DAY, owed_support_step=None)
    # The support tip was an item of step 1 sent after the press: it kept the promise.
    assert choice is not None and choice.reason != "comeback"


def test_sending_the_item_again_clears_a_pending_not_yet_but_keeps_a_logged_outcome() -> None:
    pressed = apply_outcome(shown("tip-1a", 30), "not_yet", SLOT)
    assert record_sent(pressed, "tip-1a", SLOT + DAY).last_outcome is None
    tried = apply_outcome(shown("tip-1a", 30), "mixed", SLOT)
    assert record_sent(tried, "tip-1a", SLOT + DAY).last_outcome == "mixed"


# --- steps come back as other angles, alternating with what supports them ------------------


def test_a_newly_unlocked_step_comes_before_the_tips_that_support_it() -> None:
    assert chosen([shown("step-1", 4, tries=1, due_at=SLOT + 3 * DAY)]) == ("step-2", "due")


def test_a_step_not_yet_tried_comes_back_as_its_variants_in_turn_then_its_main_text() -> None:
    items = catalog()
    states: dict[str, ItemState] = {}
    now = SLOT
    angles: list[str] = []
    for _ in range(40):
        choice = choose(items, states, now, owed_support_step=None)
        if choice is not None:
            states[choice.item_id] = record_sent(states.get(choice.item_id), choice.item_id, now)
            if choice.item_id.startswith("step-1"):
                angles.append(choice.item_id)
            # No tap ever: steps unlock by age, so keep only step 1 in view.
            states["step-1"] = ItemState(
                "step-1",
                first_sent_at=now,
                last_sent_at=states["step-1"].last_sent_at,
                due_at=states["step-1"].due_at,
            )
        now += DAY
    assert angles[:5] == ["step-1", "step-1x", "step-1y", "step-1z", "step-1"]


def test_a_due_step_returns_three_slot_days_after_its_last_angle_despite_jitter() -> None:
    step = shown("step-1", 6, due_at=SLOT - 5 * DAY)  # untried; step 2 opens on day 7
    variant = shown("step-1x", 3 - 20 / 1440)  # 20 minutes short of 3 days
    tips = [shown("tip-1a", 5), shown("tip-1b", 4), shown("insight-1", 1)]
    assert chosen([step, variant, *tips]) == ("step-1y", "due")
    variant = shown("step-1x", 2)
    assert pick([step, variant, *tips]) is None  # 3-day spacing; everything else recent


def test_a_step_due_a_few_minutes_after_the_slot_counts_as_due() -> None:
    states = [
        shown("step-1", 4, tries=1, due_at=SLOT + timedelta(minutes=15)),
        shown("step-2", 4, due_at=SLOT + 2 * DAY),
        shown("insight-1", 1),
    ]
    assert chosen(states) == ("step-1x", "due")


def test_a_logged_try_spaces_the_step_by_its_box_not_by_the_last_angle() -> None:
    step = shown("step-1", 10)
    variant = shown("step-1x", 4)
    tried = apply_outcome(step, "went_well", SLOT - 3 * DAY)  # box 2: due in 2 days
    assert tried.due_at == SLOT - DAY
    unlocked = [shown(f"step-{n}", 30, tries=1, due_at=LATER) for n in (2, 3, 4)]
    unlocked.append(shown("insight-1", 1))
    assert chosen([tried, variant, *unlocked]) == ("step-1y", "due")
    later = apply_outcome(step, "went_well", SLOT - DAY)  # due tomorrow
    assert pick([later, variant, *unlocked]) != "step-1y"


def test_after_a_step_text_a_due_step_waits_for_a_tip_or_insight() -> None:
    states = [
        shown("step-1", 10, tries=1, due_at=SLOT - 5 * DAY),
        shown("step-2", 5, tries=1, due_at=LATER),
        shown("step-3", 5, due_at=LATER),
        shown("step-2x", 1),  # the previous nudge was a step text
    ]
    assert chosen(states) == ("tip-3a", "new")
    states.append(shown("tip-3a", 0.5))
    assert chosen(states) == ("step-1x", "due")  # a tip went in between


def test_a_due_step_still_comes_when_nothing_else_fits() -> None:
    states = [
        shown("step-1", 5, due_at=SLOT - 4 * DAY),  # untried: step 2 stays locked
        *(shown(i, 5) for i in ("tip-1a", "tip-1b", "insight-1")),
        shown("step-1x", 3.5),  # the previous nudge was a step text
    ]
    assert chosen(states) == ("step-1y", "due")


def test_the_most_overdue_step_comes_first() -> None:
    states = [
        shown("step-1", 10, tries=1, due_at=SLOT - DAY),
        shown("step-2", 10, tries=1, due_at=SLOT - 2 * DAY),
        shown("step-3", 10, tries=1, due_at=SLOT + 5 * DAY),
        shown("step-4", 10, tries=1, due_at=SLOT + 5 * DAY),
        shown("tip-1a", 1),
    ]
    assert chosen(states) == ("step-2x", "due")


# --- tips and insights ---------------------------------------------------------------------


def test_with_no_step_due_a_new_tip_of_the_current_step_comes_before_an_insight() -> None:
    states = [
        shown("step-1", 10, tries=1, due_at=LATER),
        shown("step-2", 4, due_at=LATER),
    ]
    assert chosen(states) == ("tip-2a", "new")
    states += [shown("tip-2a", 4, due_at=LATER), shown("tip-2b", 4, due_at=SLOT + DAY)]
    assert pick(states) == "insight-2"


def test_then_any_never_shown_unlocked_item_from_an_earlier_step() -> None:
    states = [
        shown("step-1", 10, tries=1, due_at=LATER),
        shown("step-2", 4, due_at=LATER),
        shown("tip-2a", 4, due_at=LATER),
        shown("tip-2b", 4, due_at=LATER),
        shown("insight-2", 4, due_at=LATER),
    ]
    assert chosen(states) == ("tip-1a", "unseen")


def test_then_a_tip_or_insight_sent_21_days_ago_or_more_most_overdue_first() -> None:
    steps = [shown(f"step-{n}", 30, tries=1, due_at=LATER) for n in range(1, 5)]
    rest = [
        shown(item.id, 25, due_at=SLOT - 20 * DAY)
        for item in catalog()
        if item.kind in ("tip", "insight", "variant")
    ]
    by_id = {s.item_id: s for s in [*steps, *rest]}
    by_id["insight-3"] = shown("insight-3", 21, due_at=SLOT - 22 * DAY)
    by_id["tip-1a"] = shown("tip-1a", 20, due_at=SLOT - 30 * DAY)  # within 21 days
    assert chosen(list(by_id.values())) == ("insight-3", "review")


def test_nothing_fits_gives_none() -> None:
    states = [shown(item.id, 1) for item in catalog() if item.step == 1]
    assert pick(states) is None


def test_no_item_is_chosen_again_within_21_days_even_when_overdue() -> None:
    states = [shown(item.id, 20.9, due_at=SLOT - 19 * DAY) for item in catalog()]
    assert pick(states) is None
    states = [shown(item.id, 21, due_at=SLOT - 19 * DAY) for item in catalog()]
    assert pick(states) is not None


def test_locked_items_are_never_chosen() -> None:
    states = [shown(item.id, 1) for item in catalog() if item.step == 1]
    states.append(ItemState("tip-3a", due_at=SLOT - 9 * DAY, last_sent_at=SLOT - 30 * DAY))
    assert pick(states) is None


def test_scripts_unknown_kinds_orphan_variants_and_orphan_states_are_never_chosen() -> None:
    items = [
        Item("script", "script", 1),
        Item("poll", "poll", 1),  # type: ignore[arg-type]
        Item("stray", "variant", 1, variant_of="no-such-step"),
        Item("s1", "step", 1),
        Item("s1v", "variant", 1, variant_of="s1"),
    ]
    states = [ItemState("gone", due_at=SLOT - 9 * DAY)]
    assert choose_item(items, states, SLOT, owed_support_step=None) == "s1"
    states.append(shown("s1", 4))
    assert choose_item(items, states, SLOT, owed_support_step=None) == "s1v"
    states.append(shown("s1v", 4))
    assert choose_item(items, states, SLOT, owed_support_step=None) is None


ids = [item.id for item in catalog()]
scheduled = [item.id for item in catalog() if item.kind in SCHEDULED_KINDS]
outcome_or_none = st.one_of(st.none(), st.sampled_from(OUTCOMES))
state_for = st.builds(
    lambda item_id, sent, tries, due, outcome: ItemState(
        item_id,
        tries=tries,
        first_sent_at=None if sent is None else SLOT - timedelta(hours=sent + 24),
        last_sent_at=None if sent is None else SLOT - timedelta(hours=sent),
        due_at=None if due is None else SLOT + timedelta(hours=due),
        last_outcome=outcome,
    ),
    item_id=st.sampled_from(ids),
    sent=st.one_of(st.none(), st.integers(0, 1000)),
    tries=st.integers(0, 2),
    due=st.one_of(st.none(), st.integers(-1000, 400)),
    outcome=outcome_or_none,
)


@settings(max_examples=200, deadline=None)
@given(
    states=st.lists(state_for, max_size=30, unique_by=lambda s: s.item_id),
    owed=st.one_of(st.none(), st.integers(1, 4)),
)
def test_the_chosen_item_is_scheduled_unlocked_or_owed_and_not_sent_within_21_days(
    states: list[ItemState], owed: int | None
) -> None:
    choice = choose(catalog(), states, SLOT, owed_support_step=owed)
    by_id = {s.item_id: s for s in states}
    if choice is None:
        return
    item = next(i for i in catalog() if i.id == choice.item_id)
    assert item.kind in SCHEDULED_KINDS
    state = by_id.get(item.id)
    assert state is None or state.last_sent_at is None or SLOT - state.last_sent_at >= 21 * DAY
    assert NO_REPEAT_WINDOW == 21 * DAY
    if choice.reason == "support":
        assert (item.kind, item.step) == ("tip", owed)
    else:
        assert item.step in unlocked_steps(catalog(), states, SLOT)
    if choice.reason in ("new", "unseen"):
        assert item.kind in ("tip", "insight")
        assert state is None or state.last_sent_at is None


def test_a_fresh_user_who_taps_went_well_walks_through_all_steps() -> None:
    items = catalog()
    states: dict[str, ItemState] = {}
    now = SLOT
    seen: list[str] = []
    for _ in range(120):
        item_id = choose_item(items, states, now, owed_support_step=None)
        if item_id is not None:
            seen.append(item_id)
            states[item_id] = record_sent(states.get(item_id), item_id, now)
            progress = progress_item_id(items, item_id)
            states[progress] = apply_outcome(
                states[progress], "went_well", now + timedelta(minutes=5)
            )
        now += DAY
    mains = [i for i in seen if i in ("step-1", "step-2", "step-3", "step-4")]
    assert mains[:4] == ["step-1", "step-2", "step-3", "step-4"]
    assert set(seen) == set(scheduled)  # every item reached within four months of daily slots
    assert "script-1" not in seen


@settings(max_examples=200, deadline=None)
@given(
    states=st.lists(state_for, max_size=30, unique_by=lambda s: s.item_id),
    pressed=st.sampled_from([i.id for i in catalog() if i.kind in ("step", "variant", "tip")]),
)
def test_not_yet_always_brings_another_item_of_its_step_next_when_one_is_allowed(
    states: list[ItemState], pressed: str
) -> None:
    items = catalog()
    by_id = {
        s.item_id: replace(s, last_outcome=None) if s.last_outcome == "not_yet" else s
        for s in states
    }
    press = SLOT - timedelta(hours=1)
    for item_id in list(by_id):
        last = by_id[item_id].last_sent_at
        if last is not None and last > press:  # nothing went out between the press and the slot
            by_id[item_id] = replace(by_id[item_id], last_sent_at=press - timedelta(hours=1))
    sent = record_sent(by_id.get(pressed), pressed, press - timedelta(minutes=30))
    by_id[pressed] = sent
    progress = progress_item_id(items, pressed)
    base = by_id.get(progress) or record_sent(None, progress, press - timedelta(days=30))
    by_id[progress] = apply_outcome(base, "not_yet", press)
    step = next(i.step for i in items if i.id == pressed)
    if step not in unlocked_steps(items, by_id, SLOT):
        return
    allowed = [
        i
        for i in items
        if i.kind in SCHEDULED_KINDS
        and i.step == step
        and (
            by_id.get(i.id) is None
            or by_id[i.id].last_sent_at is None
            or SLOT - by_id[i.id].last_sent_at >= NO_REPEAT_WINDOW  # type: ignore[operator]
        )
    ]
    choice = choose(items, by_id, SLOT, owed_support_step=None)
    if allowed:
        assert choice is not None and choice.reason == "comeback"
        item = next(i for i in items if i.id == choice.item_id)
        assert item.step == step and item.id != pressed

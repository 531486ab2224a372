"""Each rule of ``choose`` on its own (``CHOICE_RULES``): what it picks, and when it passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.policy import (
    CHOICE_RULES,
    ChoiceFacts,
    ItemState,
    choose,
    comeback_after_not_yet,
    new_support_of_current_step,
    opening_of_new_step,
    step_due_after_step_text,
    step_due_between_supports,
    support_after_hard,
    support_due_again,
    unseen_support,
)
from tests.policy.factories import catalog

SLOT = datetime(2025, 6, 10, 19, 0, tzinfo=UTC)


def shown(item_id: str, days_ago: float, **fields: object) -> ItemState:
    at = SLOT - timedelta(days=days_ago)
    return ItemState(item_id, first_sent_at=at, last_sent_at=at, **fields)  # type: ignore[arg-type]


def facts(states: list[ItemState], owed: int | None = None) -> ChoiceFacts:
    return ChoiceFacts(catalog(), states, SLOT, owed_support_step=owed)


def picked(rule: object, states: list[ItemState], owed: int | None = None) -> str | None:
    assert callable(rule)
    choice = rule(facts(states, owed))
    return None if choice is None else str(choice.item_id)


# Step 1 tried once (unlocking step 2), its tips and insight all seen a while ago.
STEP_ONE_DONE = [
    shown("step-1", 10, tries=1, box=2, due_at=SLOT + timedelta(days=5)),
    shown("tip-1a", 30, due_at=SLOT + timedelta(days=30)),
    shown("tip-1b", 30, due_at=SLOT + timedelta(days=30)),
    shown("insight-1", 30, due_at=SLOT + timedelta(days=30)),
]


def test_the_rules_are_eight_in_the_documented_order() -> None:
    assert [rule.__name__ for rule in CHOICE_RULES] == [
        "support_after_hard",
        "comeback_after_not_yet",
        "opening_of_new_step",
        "step_due_between_supports",
        "new_support_of_current_step",
        "unseen_support",
        "support_due_again",
        "step_due_after_step_text",
    ]


def test_choose_is_the_first_rule_that_picks() -> None:
    states = [shown("step-1", 2)]
    f = facts(states)
    first = next(choice for rule in CHOICE_RULES if (choice := rule(f)) is not None)
    assert choose(catalog(), states, SLOT, owed_support_step=None) == first


# 1. support after "hard"


def test_support_picks_the_supportive_tip_of_the_owed_step() -> None:
    assert picked(support_after_hard, [shown("step-1", 1)], owed=1) == "tip-1b"


def test_support_passes_when_nothing_is_owed() -> None:
    assert picked(support_after_hard, [shown("step-1", 1)]) is None


def test_support_passes_when_every_tip_of_the_step_was_sent_within_21_days() -> None:
    states = [shown("step-1", 1), shown("tip-1a", 5), shown("tip-1b", 3)]
    assert picked(support_after_hard, states, owed=1) is None


# 2. the comeback after "Not yet"


def test_comeback_brings_the_step_back_from_another_angle() -> None:
    states = [shown("step-1", 1, last_outcome="not_yet", due_at=SLOT - timedelta(days=1))]
    assert picked(comeback_after_not_yet, states) == "step-1x"


def test_comeback_after_a_tip_brings_another_tip_of_the_step() -> None:
    states = [
        shown("step-1", 5),
        shown("tip-1a", 1, last_outcome="not_yet", due_at=SLOT - timedelta(days=1)),
    ]
    assert picked(comeback_after_not_yet, states) == "tip-1b"


def test_comeback_passes_once_the_step_came_back() -> None:
    states = [
        shown("step-1", 2, last_outcome="not_yet", due_at=SLOT - timedelta(days=2)),
        shown("step-1x", 1),
    ]
    assert picked(comeback_after_not_yet, states) is None


# 3. a new step opens with its main text


def test_a_new_user_opens_with_step_one() -> None:
    assert picked(opening_of_new_step, []) == "step-1"


def test_a_newly_unlocked_step_opens_with_its_main_text() -> None:
    assert picked(opening_of_new_step, STEP_ONE_DONE) == "step-2"


def test_opening_passes_when_every_unlocked_step_was_sent() -> None:
    assert picked(opening_of_new_step, [shown("step-1", 1)]) is None


# 4. a due step, alternating with its supports


def test_a_step_due_by_its_box_comes_back_as_its_next_angle() -> None:
    states = [shown("step-1", 5), shown("tip-1a", 4)]
    assert picked(step_due_between_supports, states) == "step-1x"


def test_a_due_step_waits_when_the_last_nudge_was_a_step_text() -> None:
    assert picked(step_due_between_supports, [shown("step-1", 5)]) is None


def test_a_step_sent_within_three_days_is_not_due() -> None:
    states = [shown("step-1", 2, due_at=SLOT - timedelta(days=1)), shown("tip-1a", 1)]
    assert picked(step_due_between_supports, states) is None


# 5. a new tip or insight of the current step


def test_new_support_is_the_current_steps_first_tip() -> None:
    states = [*STEP_ONE_DONE, shown("step-2", 1)]
    assert picked(new_support_of_current_step, states) == "tip-2a"


def test_new_support_passes_when_the_current_step_has_nothing_unseen() -> None:
    states = [shown("step-1", 1), shown("tip-1a", 2), shown("tip-1b", 3), shown("insight-1", 4)]
    assert picked(new_support_of_current_step, states) is None


# 6. an unseen tip or insight of any unlocked step


def test_unseen_support_reaches_back_to_a_lower_step() -> None:
    states = [
        shown("step-1", 10, tries=1),
        shown("tip-1a", 9),
        shown("tip-1b", 8),
        shown("step-2", 3),
        shown("tip-2a", 2),
        shown("tip-2b", 2),
        shown("insight-2", 1),
    ]
    assert picked(unseen_support, states) == "insight-1"


def test_unseen_support_prefers_tips_to_insights() -> None:
    assert picked(unseen_support, [shown("step-1", 1), shown("tip-1a", 1)]) == "tip-1b"


# 7. a tip or insight due again


def test_the_most_overdue_support_comes_back() -> None:
    states = [
        shown("step-1", 1),
        shown("tip-1a", 30, due_at=SLOT - timedelta(days=2)),
        shown("tip-1b", 30, due_at=SLOT - timedelta(days=5)),
        shown("insight-1", 30, due_at=SLOT - timedelta(days=9)),
    ]
    assert picked(support_due_again, states) == "insight-1"


def test_support_due_again_obeys_the_no_repeat_rule() -> None:
    states = [
        shown("step-1", 1),
        shown("tip-1a", 20, due_at=SLOT - timedelta(days=2)),
        shown("tip-1b", 20, due_at=SLOT - timedelta(days=5)),
        shown("insight-1", 20, due_at=SLOT - timedelta(days=9)),
    ]
    assert picked(support_due_again, states) is None


# 8. a due step, even right after a step text


def test_a_due_step_goes_after_a_step_text_when_nothing_else_is_left() -> None:
    assert picked(step_due_after_step_text, [shown("step-1", 5)]) == "step-1x"


def test_no_step_due_no_pick() -> None:
    assert picked(step_due_after_step_text, [shown("step-1", 1)]) is None

"""The planner's decisions as pure functions: facts and a clock in, changes out. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest

from bot.storage.planning import PlaneeCache
from content import load_library
from scheduler.planner import (
    PLANNED_KINDS,
    LatestLog,
    Planee,
    PlannedRow,
    SettleFacts,
    count_ignored,
    desired_time,
    plan,
    schedule_from,
    settle,
)
from scheduler.policy import BACKOFF_AFTER, ScheduleSettings
from scheduler.ports import ClaimedRow

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # a Tuesday, noon in Berlin
SCHEDULE = ScheduleSettings(timezone="Europe/Berlin", nudge_minute=19 * 60, pace="daily")
AT_SLOT = ScheduleSettings(timezone="Europe/Berlin", nudge_minute=12 * 60, pace="daily")


def planee(user_id: int = 1, **changes: object) -> Planee:
    fields: dict[str, object] = {
        "id": user_id,
        "chat_id": 1000 + user_id,
        "blocked": False,
        "onboarded": True,
        "ignored_streak": 0,
        "backoff_active": False,
        "schedule": SCHEDULE,
    }
    fields.update(changes)
    return Planee(**fields)  # type: ignore[arg-type]


def claimed(row_id: int, *, planned: bool = True, item_id: str | None = None) -> ClaimedRow:
    return ClaimedRow(
        id=row_id,
        user_id=1,
        kind="item",
        item_id=item_id,
        payload=None,
        due_at=NOW,
        planned=planned,
        attempts=1,
        stale=False,
    )


def facts(**changes: object) -> SettleFacts:
    fields: dict[str, object] = {
        "planees": {1: planee()},
        "last_nudge_at": {},
        "snoozes": {},
        "states": {},
        "latest_logs": {},
    }
    fields.update(changes)
    return SettleFacts(**fields)  # type: ignore[arg-type]


def test_a_new_user_gets_one_planned_row_of_each_kind_and_planning_again_changes_nothing() -> None:
    users = {1: planee()}
    changes = plan([1], NOW, planees=users, rows=[], last_nudge_at={})
    assert sorted(row.kind for row in changes.inserts) == sorted(PLANNED_KINDS)
    assert not changes.moves and not changes.cancels
    rows = [
        PlannedRow(id=10 + i, user_id=1, kind=row.kind, status="pending", due_at=row.due_at)
        for i, row in enumerate(changes.inserts)
    ]
    again = plan([1], NOW, planees=users, rows=rows, last_nudge_at={})
    assert not again.inserts and not again.moves and not again.cancels


@pytest.mark.parametrize(
    "who",
    [planee(blocked=True), planee(onboarded=False), planee(schedule=None), None],
    ids=["blocked", "not onboarded", "settings unreadable", "erased"],
)
def test_a_user_who_must_get_nothing_has_every_waiting_planned_row_cancelled(
    who: Planee | None,
) -> None:
    rows = [
        PlannedRow(1, 1, "item", "pending", NOW + timedelta(hours=3)),
        PlannedRow(2, 1, "poll", "ambiguous", NOW),
        PlannedRow(3, 1, "item", "sending", NOW),  # in flight: the dispatcher settles it
    ]
    users = {} if who is None else {1: who}
    changes = plan([1], NOW, planees=users, rows=rows, last_nudge_at={})
    assert sorted(changes.cancels) == [1, 2]
    assert not changes.inserts and not changes.moves


def test_a_changed_setting_moves_the_waiting_row_and_a_duplicate_is_cancelled() -> None:
    desired = desired_time(planee(), "item", NOW, None)
    assert desired is not None
    rows = [
        PlannedRow(1, 1, "item", "pending", desired + timedelta(hours=2)),
        PlannedRow(2, 1, "item", "pending", desired + timedelta(days=1)),
    ]
    changes = plan([1], NOW, planees={1: planee()}, rows=rows, last_nudge_at={}, kinds=("item",))
    assert changes.moves == [(1, desired)]
    assert changes.cancels == [2]


def test_a_row_already_due_is_left_to_the_dispatcher_unless_the_user_paused() -> None:
    rows = [PlannedRow(1, 1, "item", "pending", NOW - timedelta(minutes=5))]
    active = plan([1], NOW, planees={1: planee()}, rows=rows, last_nudge_at={}, kinds=("item",))
    assert not active.moves and not active.cancels and not active.inserts

    paused = planee(
        schedule=ScheduleSettings(
            timezone="Europe/Berlin",
            nudge_minute=19 * 60,
            pace="daily",
            paused_until=NOW + timedelta(days=3),
        )
    )
    later = plan([1], NOW, planees={1: paused}, rows=rows, last_nudge_at={}, kinds=("item",))
    assert len(later.moves) == 1
    assert later.moves[0][1] >= NOW + timedelta(days=3), "no nudge before the pause ends"


def test_settle_cancels_a_paused_users_planned_row_and_asks_for_a_replan() -> None:
    paused = planee(
        schedule=ScheduleSettings(
            timezone="Europe/Berlin",
            nudge_minute=7 * 60,
            pace="daily",
            paused_until=NOW + timedelta(days=1),
        )
    )
    decision = settle([claimed(5)], facts(planees={1: paused}), NOW, load_library().all_items())
    assert decision.cancels == [5] and decision.replan == {1}
    assert not decision.deliveries


def test_settle_chooses_an_item_for_a_planned_row_due_now() -> None:
    at_slot = planee(schedule=AT_SLOT)
    decision = settle([claimed(5)], facts(planees={1: at_slot}), NOW, load_library().all_items())
    assert [d.outbox_id for d in decision.deliveries] == [5]
    (delivery,) = decision.deliveries
    assert delivery.item_id is not None and delivery.chat_id == 1001
    assert decision.chosen == [(5, delivery.item_id)]


def test_a_snooze_goes_first_and_the_planned_row_of_the_same_batch_moves_to_another_day() -> None:
    at_slot = planee(schedule=AT_SLOT)
    snooze = claimed(6, planned=False, item_id="step-1")
    decision = settle(
        [claimed(5), snooze], facts(planees={1: at_slot}), NOW, load_library().all_items()
    )
    assert [d.outbox_id for d in decision.deliveries] == [6]
    assert [row_id for row_id, _ in decision.moves] == [5]
    assert decision.moves[0][1] > NOW


def test_a_hard_log_with_no_item_since_owes_a_supportive_item_of_that_step() -> None:
    library = load_library()
    at_slot = planee(schedule=AT_SLOT)
    hard = LatestLog(outcome="hard", item_id=None, created_at=NOW - timedelta(hours=1))
    decision = settle(
        [claimed(5)],
        facts(planees={1: at_slot}, latest_logs={1: hard}),
        NOW,
        library.all_items(),
    )
    (delivery,) = decision.deliveries
    item = next(i for i in library.all_items() if i.id == delivery.item_id)
    assert item.kind == "tip" and item.step == 1


def test_the_third_ignored_nudge_in_a_row_asks_once_to_pause() -> None:
    previous = {1: None, 2: "went_well", 3: None}  # 2 answered its last nudge; 4 had none
    streaks = {1: BACKOFF_AFTER - 1, 2: 5, 3: BACKOFF_AFTER, 4: 0}
    ignored = {i.user_id: i for i in count_ignored([1, 2, 3, 4], previous, streaks)}
    assert set(ignored) == {1, 3}
    assert ignored[1].offer_pause and ignored[1].backoff
    assert not ignored[3].offer_pause and ignored[3].backoff


def test_settings_that_do_not_parse_give_no_schedule() -> None:
    common = {
        "nudge_minute": 600,
        "pace": "steady",
        "quiet_start_minute": 22 * 60,
        "quiet_end_minute": 7 * 60,
        "checkin_weekday": 6,
        "paused_until": None,
        "backoff_active": False,
    }
    assert schedule_from(timezone="Europe/Berlin", **common) is not None  # type: ignore[arg-type]
    assert schedule_from(timezone="Mars/Olympus", **common) is None  # type: ignore[arg-type]


class UserRow(NamedTuple):
    """A users-and-settings row as ``load_planees`` reads it (attributes, iterable)."""

    id: int
    chat_id: int
    blocked_at: datetime | None
    onboarding_step: str | None
    ignored_streak: int
    backoff_active: bool
    settings_user_id: int | None
    language: str | None = None


def test_the_planee_cache_never_holds_more_than_its_bound() -> None:
    cache = PlaneeCache(max_size=3)
    for user_id in range(10):
        cache.get(UserRow(user_id, 1000 + user_id, None, None, 0, False, None))
        assert len(cache) <= 3
    row = UserRow(9, 1009, None, None, 0, False, None)
    assert cache.get(row) is cache.get(UserRow(*row)), "a row seen before is built once"
    blocked = cache.get(row._replace(blocked_at=NOW))
    assert blocked.blocked and not blocked.active, "a changed row is a new planee"

"""``scheduler.timers``: a timer's rows, and which claimed timer rows go (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.ports import ClaimedRow
from scheduler.timers import TIMER_KIND, settle_timers, timer_message, timer_ticks

NOW = datetime(2026, 3, 8, 23, 58, tzinfo=UTC)


def _row(row_id: int, user_id: int, payload: object) -> ClaimedRow:
    return ClaimedRow(row_id, user_id, TIMER_KIND, None, payload, NOW, False, 1, False)


def test_a_five_minute_timer_is_a_row_a_minute_the_last_one_the_end() -> None:
    ticks = timer_ticks(42, 5, NOW)
    assert [t.due_at - NOW for t in ticks] == [timedelta(minutes=m) for m in range(1, 6)]
    assert [t.payload for t in ticks] == [{"message_id": 42, "left": n} for n in (4, 3, 2, 1, 0)]
    with pytest.raises(ValueError):
        timer_ticks(42, 0, NOW)


def test_only_the_latest_row_of_a_timer_goes_and_gone_or_blocked_users_get_none() -> None:
    rows = [
        _row(1, 7, {"message_id": 5, "left": 3}),
        _row(2, 7, {"message_id": 5, "left": 0}),  # the end: it goes, the minute before not
        _row(3, 7, {"message_id": 9, "left": 4}),  # another timer (another message) of hers
        _row(4, 8, {"message_id": 5, "left": 1}),  # blocked the bot
        _row(5, 9, {"message_id": 5, "left": 1}),  # erased
        _row(6, 7, {"message_id": "5"}),  # not a timer payload
    ]
    decision = settle_timers(rows, {7: 700, 8: 800}, {8})
    assert sorted(d.outbox_id for d in decision.deliveries) == [2, 3]
    assert {d.chat_id for d in decision.deliveries} == {700}
    assert sorted(decision.cancels) == [1, 4, 5, 6]
    assert timer_message({"message_id": 5, "left": -1}) is None

"""The injectable clocks and the rate limiter that runs on them."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.runner import schedule_clock
from scheduler.clock import ManualClock, ScaledClock, SystemClock
from scheduler.ratelimit import RateLimiter

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


async def test_manual_clock_moves_only_forward_and_sleep_jumps_to_the_latest_deadline() -> None:
    clock = ManualClock(START)
    assert clock() == START
    clock.advance(minutes=5)
    assert clock.now() == START + timedelta(minutes=5)
    with pytest.raises(ValueError):
        clock.set(START)
    before = clock.monotonic()
    await asyncio.gather(clock.sleep(1), clock.sleep(3), clock.sleep(2))
    assert clock.monotonic() - before == pytest.approx(3)


async def test_scaled_clock_runs_speed_times_faster() -> None:
    clock = ScaledClock(86_400, START)
    began = time.monotonic()
    await clock.sleep(3600)  # an hour of schedule time: about 42 ms
    real = time.monotonic() - began
    assert 0.03 < real < 1.0
    assert clock.now() - START >= timedelta(hours=1)
    assert clock.real_seconds(86_400) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ScaledClock(0)


def test_closer_clock_speed_selects_the_scaled_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSER_CLOCK_SPEED", "86400")
    clock = schedule_clock(Settings(_env_file=None))
    assert isinstance(clock, ScaledClock) and clock.speed == 86_400
    monkeypatch.delenv("CLOSER_CLOCK_SPEED")
    assert isinstance(schedule_clock(Settings(_env_file=None)), SystemClock)


async def test_the_limiter_keeps_thirty_a_second_overall_and_one_a_second_per_chat() -> None:
    clock = ManualClock(START)
    limiter = RateLimiter(clock)
    stamps: dict[int, list[float]] = {}

    async def send(chat: int) -> None:
        await limiter.acquire(chat)
        stamps.setdefault(chat, []).append(clock.monotonic())

    await asyncio.gather(*(send(chat) for chat in range(90)))
    overall = sorted(t for times in stamps.values() for t in times)
    assert overall[-1] - overall[0] >= 89 / 30 - 1e-9
    for index in range(len(overall) - 30):
        assert overall[index + 30] - overall[index] >= 1.0 - 1e-9, "never 31 in a second"

    stamps.clear()
    await asyncio.gather(*(send(7) for _ in range(3)))
    assert [b - a for a, b in zip(stamps[7], stamps[7][1:], strict=False)] == [1.0, 1.0]

"""Clocks you can inject: the real one, a sped-up one, and a manual one for tests.

A clock is called like a function for the current time (an aware UTC ``datetime``), so it fits
``Services.clock`` as it is, and it also offers ``monotonic()`` and ``async sleep(seconds)`` in its
own (virtual) time.

- ``SystemClock``: real time.
- ``ScaledClock(speed)``: virtual time that runs ``speed`` times faster than real time from a start
  moment (``CLOSER_CLOCK_SPEED=86400`` makes a day pass in a second), for previews, demos and
  end-to-end runs through the same code path as production.
- ``ManualClock``: moves only when told to (``advance``, ``set``); ``sleep`` jumps the clock to the
  sleeper's deadline instead of waiting, so code that paces itself still runs instantly.

Telegram's limits, leases and retry waits are about real seconds; the dispatcher keeps them on a
real clock even when the schedule runs on a scaled one (see ``scheduler.dispatcher``).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

from scheduler.slots import require_aware


class Clock(ABC):
    """Current time (call the clock), a monotonic counter and a sleep, all in one time base."""

    def __call__(self) -> datetime:
        return self.now()

    @abstractmethod
    def now(self) -> datetime:
        """The current time, aware, in UTC."""

    @abstractmethod
    def monotonic(self) -> float:
        """Seconds on a counter that never goes back (in this clock's time)."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""

    @property
    def speed(self) -> float:
        """How many of this clock's seconds pass per real second."""
        return 1.0

    def real_seconds(self, seconds: float) -> float:
        """Real seconds that ``seconds`` of this clock's time take (e.g. to arm a timer)."""
        return seconds / self.speed

    def clock_seconds(self, real_seconds: float) -> float:
        """This clock's seconds that pass during ``real_seconds`` of real time."""
        return real_seconds * self.speed


class SystemClock(Clock):
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


class ScaledClock(Clock):
    """Virtual time running ``speed`` times faster than real time, from ``start`` (default: now)."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        self._speed = float(speed)
        self._start = require_aware(start, "start") if start is not None else datetime.now(UTC)
        self._origin = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def monotonic(self) -> float:
        return (time.monotonic() - self._origin) * self._speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self._speed:g}, start={self._start.isoformat()})"


class ManualClock(Clock):
    """A clock for tests: it moves only when told to, and ``sleep`` never waits.

    A sleeper is woken without delay, but in virtual time: sleepers wake one at a time in order
    of their deadlines, and the clock jumps to each deadline as its sleeper wakes, so concurrent
    sleepers see the times they would see in real life (``gather(sleep(1), sleep(3))`` ends 3 s
    later, not 4) while the test waits for nothing.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = require_aware(start, "start") if start is not None else datetime.now(UTC)
        self._epoch = self._now
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._waking = False

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._epoch).total_seconds()

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = self._now + timedelta(seconds=max(0.0, seconds))
        woken: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), woken))
        if not self._waking:
            self._waking = True
            loop.call_soon(self._wake_next)
        await woken

    def _wake_next(self) -> None:
        # One sleeper per turn of the event loop: the woken task runs (and reads the clock)
        # before the clock moves on to the next deadline.
        while self._sleepers:
            deadline, _, woken = heapq.heappop(self._sleepers)
            if woken.done():  # cancelled
                continue
            self._now = max(self._now, deadline)
            woken.set_result(None)
            break
        if self._sleepers:
            asyncio.get_running_loop().call_soon(self._wake_next)
        else:
            self._waking = False

    def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> datetime:
        """Move forward by ``delta`` (or the keyword amounts); returns the new time."""
        step = (delta or timedelta()) + timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        if step < timedelta():
            raise ValueError("a clock does not go back")
        self._now += step
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (never backwards); returns the new time."""
        moment = require_aware(moment, "moment")
        if moment < self._now:
            raise ValueError(f"a clock does not go back: {moment} < {self._now}")
        self._now = moment
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"

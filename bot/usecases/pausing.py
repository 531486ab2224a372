"""/pause, /resume, and the pause offer's "Carry on"."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bot.callbacks import MAX_PAUSE_DAYS
from bot.logs import get_logger
from bot.storage.planning import carry_snoozes
from bot.storage.uow import Transactions, Tx
from bot.usecases.common import Who, schedule_of, sender

log = get_logger(__name__)

MAX_DAYS: Final = MAX_PAUSE_DAYS
UNTIL_RESUME_DAYS: Final = 3650  # "until I resume": ten years is forever for a coaching bot


def valid_days(days: int | None) -> bool:
    """A pause Closer takes: 1 to MAX_DAYS days, or 0 for "until I resume"."""
    return days is not None and (days == 0 or 1 <= days <= MAX_DAYS)


@dataclass(frozen=True, slots=True)
class Paused:
    """A pause begun: for ``days`` (0: until she resumes), until ``until``; the snoozes it
    carries (their new times, earliest first) in her zone ``timezone``, as of ``now``."""

    days: int
    until: datetime
    timezone: str
    snoozes: tuple[datetime, ...]
    now: datetime


class Unpaused(enum.Enum):
    """Why no pause began."""

    UNKNOWN = "unknown"  # Closer keeps nothing of hers
    INVALID = "invalid"  # not a number of days Closer takes


async def pause(runner: Transactions, who: Who, days: int | None) -> Paused | Unpaused:
    """Pause her nudges for ``days`` (0: until she resumes); a snoozed nudge is a promise, so
    the pause carries it to the resume."""

    def write(tx: Tx) -> Paused | Unpaused:
        user = sender(tx, who)
        if user is None:
            return Unpaused.UNKNOWN
        if days is None or not valid_days(days):
            return Unpaused.INVALID
        until = tx.now + timedelta(days=days or UNTIL_RESUME_DAYS)
        settings = tx.users.update_settings(user.id, paused_until=until)
        log.info("paused", user_id=user.id, days=days)
        schedule = schedule_of(settings, user)
        snoozes = carry_snoozes(tx.conn, user.id, schedule, tx.now)
        return Paused(days, until, schedule.timezone, tuple(snoozes), tx.now)

    if days is None or not valid_days(days):
        # Nothing to write: only who she is (and a command ends her open question).
        def read(tx: Tx) -> Unpaused:
            return Unpaused.UNKNOWN if sender(tx, who) is None else Unpaused.INVALID

        return await runner.write(read) if who.command else await runner.read(read)
    return await runner.write(write)


@dataclass(frozen=True, slots=True)
class Resumed:
    """A pause ended; the snoozes it carried, back now or as promised (in ``timezone``)."""

    timezone: str
    snoozes: tuple[datetime, ...]
    now: datetime


class NotResumed(enum.Enum):
    UNKNOWN = "unknown"
    NOT_PAUSED = "not_paused"


async def resume(runner: Transactions, who: Who) -> Resumed | NotResumed:
    """/resume: end her pause (a pause already over is cleared without a word)."""

    def write(tx: Tx) -> Resumed | NotResumed:
        user = sender(tx, who)
        if user is None:
            return NotResumed.UNKNOWN
        settings = tx.users.get_settings(user.id)
        was_paused = settings.paused_until is not None and settings.paused_until > tx.now
        if settings.paused_until is not None:
            settings = tx.users.update_settings(user.id, paused_until=None)
        if not was_paused:
            return NotResumed.NOT_PAUSED
        schedule = schedule_of(settings, user)
        snoozes = carry_snoozes(tx.conn, user.id, schedule, tx.now)
        log.info("resumed", user_id=user.id)
        return Resumed(schedule.timezone, tuple(snoozes), tx.now)

    return await runner.write(write)


async def carry_on(runner: Transactions, who: Who) -> int | None:
    """The pause offer's "Carry on": a tap, so the back-off ends and the usual pace returns.
    Her user id, None when Closer keeps nothing of hers."""

    def write(tx: Tx) -> int | None:
        user = sender(tx, who)
        if user is None:
            return None
        tx.users.record_tap(user.id)
        return user.id

    return await runner.write(write)

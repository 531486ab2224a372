"""What every use case shares: who is asking, found in the transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.storage.repositories import SettingsSnapshot, UserSnapshot
from bot.storage.uow import Transactions, Tx
from scheduler.planner import schedule_from
from scheduler.policy import ScheduleSettings


@dataclass(frozen=True, slots=True)
class Who:
    """The person an update comes from. ``command``: the update is a /command, which ends any
    typed question left open (so later free text is not misread as its answer)."""

    telegram_id: int
    command: bool = False


def sender(tx: Tx, who: Who) -> UserSnapshot | None:
    """Her user row, loaded once per transaction (``tx.user``). In a write transaction a
    command ends her open question here; a read-only one leaves that to ``end_question``."""
    user = tx.users.get_by_telegram_id(who.telegram_id)
    if user is not None and who.command and user.awaiting is not None and tx.write:
        tx.users.set_awaiting(user.id, None)
        user = replace(user, awaiting=None)
    tx.user = user
    return user


async def end_question(runner: Transactions, who: Who, user: UserSnapshot | None) -> None:
    """After a read-only use case answered a command: end her open question, if one was open
    (a small write, only then)."""
    if who.command and user is not None and user.awaiting is not None:
        user_id = user.id
        await runner.write(lambda tx: tx.users.set_awaiting(user_id, None))


def schedule_of(settings: SettingsSnapshot, user: UserSnapshot) -> ScheduleSettings:
    """Her settings as the scheduler reads them (UTC if her zone no longer parses)."""
    values = {
        "nudge_minute": settings.nudge_minute,
        "pace": settings.pace,
        "quiet_start_minute": settings.quiet_start_minute,
        "quiet_end_minute": settings.quiet_end_minute,
        "checkin_weekday": settings.checkin_weekday,
        "paused_until": settings.paused_until,
        "backoff_active": user.backoff_active,
    }
    schedule = schedule_from(timezone=settings.timezone, **values)  # type: ignore[arg-type]
    if schedule is None:
        schedule = schedule_from(timezone="UTC", **values)  # type: ignore[arg-type]
    assert schedule is not None
    return schedule

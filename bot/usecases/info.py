"""Reading only: a command that changes nothing, and /checklist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.storage import stats
from bot.storage.repositories import UserSnapshot
from bot.storage.stats import OperatorStats
from bot.storage.uow import Transactions, Tx
from bot.usecases.common import Who, end_question, sender
from scheduler.policy import ItemState


async def seen(runner: Transactions, who: Who) -> UserSnapshot | None:
    """A command that reads nothing else (/help, /about, /now, an unknown one): her, if
    known, with the typed question a command ends ended."""
    user = await runner.read(sender, who)
    await end_question(runner, who, user)
    return user


@dataclass(frozen=True, slots=True)
class Checklist:
    """Where she stands on each step, read at ``now``, and her zone (UTC when unknown)."""

    now: datetime
    states: dict[str, ItemState] = field(default_factory=dict)
    timezone: str = "UTC"


async def checklist(runner: Transactions, who: Who) -> Checklist:
    """/checklist: her progress on the steps (nothing when she is not known)."""

    def read(tx: Tx) -> tuple[UserSnapshot | None, Checklist]:
        user = sender(tx, who)
        if user is None:
            return None, Checklist(tx.now)
        zone = tx.users.get_settings(user.id).timezone
        return user, Checklist(tx.now, tx.progress.states(user.id), zone)

    user, found = await runner.read(read)
    await end_question(runner, who, user)
    return found


async def operator_stats(runner: Transactions) -> OperatorStats:
    """/stats: counts only (users by state, nudges and check-ins answered, the outbox lag)."""
    return await stats.operator_stats(runner.db, runner.clock())

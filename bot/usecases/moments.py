"""For the moment itself: the listening timer, and the country /safety shows lines for."""

from __future__ import annotations

from typing import Final

from bot.logs import get_logger
from bot.storage.repositories import UserSnapshot
from bot.storage.uow import Transactions, Tx
from bot.timezones import country_of_zone
from bot.usecases.common import Who, end_question, sender

log = get_logger(__name__)

LISTENING_MINUTES: Final = 5


async def safety_country(runner: Transactions, who: Who) -> str | None:
    """The country whose helplines /safety shows: from her zone, None when not known."""

    def read(tx: Tx) -> tuple[UserSnapshot | None, str | None]:
        user = sender(tx, who)
        if user is None:
            return None, None
        zone = tx.users.get_settings(user.id).timezone
        return user, country_of_zone(zone) if zone else None

    user, country = await runner.read(read)
    await end_question(runner, who, user)
    log.info("safety_shown", known_country=country is not None)
    return country


async def can_time(runner: Transactions, who: Who) -> bool:
    """Whether a listening timer can start for her (Closer knows her)."""
    return await runner.read(sender, who) is not None


async def start_timer(runner: Transactions, who: Who, message_id: int) -> int | None:
    """Start her listening timer on the message ``message_id``: one outbox row a minute
    (``scheduler.timers``), replacing hers still running. Her user id, None when unknown."""

    def start(tx: Tx) -> int | None:
        user = sender(tx, who)
        if user is None:
            return None
        tx.timers.start(user.id, message_id, tx.now, LISTENING_MINUTES)
        return user.id

    started = await runner.write(start)
    if started is not None:
        log.info("listening_timer_started", user_id=started)
    return started

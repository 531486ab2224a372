"""What she types: the hold on nudges after danger, and where a typed message goes.

Danger is heard before anything else answers (``bot.handlers.hearing``); the use cases here
only read and write what that needs: her country for the helplines, the nudges held until she
chooses, and, for the rest of what she types, which question it answers (``route_typed``).
Texts are never logged, nor passed in: only what was heard of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from bot.callbacks import Field
from bot.logs import get_logger
from bot.storage.handled import AlreadyHandled, outage_under_handling
from bot.storage.planning import carry_snoozes
from bot.storage.repositories import UserSnapshot
from bot.storage.uow import Transactions, Tx
from bot.timezones import country_of_zone
from bot.usecases.common import Who, end_question, schedule_of, sender

log = get_logger(__name__)

UNTIL_CHOSEN: Final = timedelta(days=365)  # the nudges wait for her choice, not a date
TYPED_FIELDS: Final = {"timezone": Field.TIMEZONE, "time": Field.TIME}
"""Onboarding steps answered by typing."""


@dataclass(frozen=True, slots=True)
class Heard:
    """After danger was heard: her country (from her zone) and whether her nudges, running
    until now, are now held until she chooses."""

    country: str | None = None
    held: bool = False


async def danger_heard(runner: Transactions, who: Who, *, hold: bool) -> Heard:
    """Her country, and (``hold``: the danger is sure) her nudges paused until she chooses, in
    one transaction.

    Best effort: when storage fails, the reply goes out without her country and nothing is
    held. Only running nudges are held: not during onboarding, not when already paused.
    """

    def hear(tx: Tx) -> tuple[UserSnapshot | None, Heard]:
        user = sender(tx, who)
        if user is None:
            return None, Heard()
        settings = tx.users.get_settings(user.id)
        country = country_of_zone(settings.timezone) if settings.timezone else None
        paused = settings.paused_until is not None and settings.paused_until > tx.now
        if not hold or user.onboarding_step is not None or paused:
            return user, Heard(country)
        tx.users.update_settings(user.id, paused_until=tx.now + UNTIL_CHOSEN)
        log.info("nudges_held", user_id=user.id)
        return user, Heard(country, held=True)

    try:
        if hold:
            user, heard = await runner.write(hear)
        else:
            user, heard = await runner.read(hear)
            await end_question(runner, who, user)
    except AlreadyHandled:  # a second delivery: the first one answered
        raise
    except Exception as exc:  # storage down: the reply matters more than her country or a hold
        # When storage is out, the update comes again once it is back, for the hold.
        outage = outage_under_handling(exc)
        log.warning(
            "danger_reply_without_storage",
            error=type(exc).__name__,
            outage=outage.reason if outage else None,
        )
        return Heard()
    return heard


async def release_hold(runner: Transactions, who: Who) -> None:
    """ "Carry on" after danger: her nudges run again; a snooze the hold carried keeps its
    promised time, or comes back next."""

    def release(tx: Tx) -> None:
        user = sender(tx, who)
        if user is None:
            return
        settings = tx.users.update_settings(user.id, paused_until=None)
        carry_snoozes(tx.conn, user.id, schedule_of(settings, user), tx.now)

    await runner.write(release)


class Goes(enum.Enum):
    """Where a typed message goes."""

    START_HINT = "start_hint"  # Closer does not know her: how to start
    NOWHERE = "nowhere"  # danger, answered before; nothing else answers it
    NOTE = "note"  # the note of a conversation she logged (``log_id``)
    SETTING = "setting"  # a typed setting or onboarding answer (``field``)
    ONBOARDING_BUTTONS = "onboarding_buttons"  # onboarding waits for a button, not text
    FREE_TEXT = "free_text"  # answers no question: the reply that fits it


@dataclass(frozen=True, slots=True)
class Route:
    """Where a typed message goes, and what its answerer needs: her (as read), the log whose
    note it is, or the setting it answers."""

    goes: Goes
    user: UserSnapshot | None = None
    log_id: int | None = None
    field: Field | None = None


async def route_typed(runner: Transactions, who: Who, *, danger: bool) -> Route:
    """Which question a typed message (not a command) answers. ``danger``: danger was heard in
    it and answered; nothing else answers it, but a note she was asked for is still kept."""
    user = await runner.read(sender, who)
    if user is None:
        return Route(Goes.NOWHERE if danger else Goes.START_HINT)
    awaiting = user.awaiting
    note = awaiting.log_id if awaiting is not None else None
    if danger:
        return Route(Goes.NOTE, user, log_id=note) if note is not None else Route(Goes.NOWHERE)
    step = user.onboarding_step
    if step in TYPED_FIELDS:
        return Route(Goes.SETTING, user, field=TYPED_FIELDS[step])
    if step is not None:
        return Route(Goes.ONBOARDING_BUTTONS, user)
    field = awaiting.field if awaiting is not None else None
    if field is not None:
        return Route(Goes.SETTING, user, field=field)
    if note is not None:
        return Route(Goes.NOTE, user, log_id=note)
    return Route(Goes.FREE_TEXT, user)

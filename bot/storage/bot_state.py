"""``bot_state``: a small key-value store of process-wide times, no user data.

- Leases (``DISPATCHER_LEASE_KEY``, ``POLLER_LEASE_KEY``): one process at a time does the job;
  ``owner`` holds it ``until`` then, renews it while it lives and releases it when it stops.
- Telegram's flood wait (``RETRY_AFTER_KEY``): after a 429, nothing is sent ``until`` then, so
  that a restart honours it too.

Synchronous Core functions of a ``Connection``, run whole by ``Database.run`` / ``run_read`` (an
idle dispatcher renews its lease this way several times a minute: it must cost next to
nothing), or inside a larger transaction of the dispatch store. Nothing here commits. The
shapes that leave (``LeaseState``) are the dispatcher's, from ``scheduler.ports``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.models import metadata
from scheduler.ports import LeaseState

BOT_STATE: Final[Table] = metadata.tables["bot_state"]

DISPATCHER_LEASE_KEY: Final = "dispatcher"
POLLER_LEASE_KEY: Final = "poller"
RETRY_AFTER_KEY: Final = "telegram_retry_after"

_ENTRY = (
    select(BOT_STATE.c.owner, BOT_STATE.c.until)
    .where(BOT_STATE.c.key == bindparam("b_key"))
    .with_for_update()
)
_UNTIL = select(BOT_STATE.c.until).where(BOT_STATE.c.key == bindparam("b_key"))
_INSERT = insert(BOT_STATE)
_SET = update(BOT_STATE).where(BOT_STATE.c.key == bindparam("b_key"))
_SET_IF_OWNER = update(BOT_STATE).where(
    BOT_STATE.c.key == bindparam("b_key"), BOT_STATE.c.owner == bindparam("b_owner")
)
_NOT_TAKEN: Final = LeaseState(held=False, fresh=False, owner=None, until=None)


def _inserted(
    connection: Connection, key: str, owner: str | None, until: datetime, now: datetime
) -> bool:
    """Insert the entry ``key``; False if another process inserted it first (PostgreSQL)."""
    try:
        with connection.begin_nested():
            connection.execute(
                _INSERT, {"key": key, "owner": owner, "until": until, "updated_at": now}
            )
    except IntegrityError:
        return False
    return True


def take_lease(
    connection: Connection,
    key: str,
    owner: str,
    *,
    now: datetime,
    until: datetime,
    dead_owner: str | None = None,
) -> LeaseState:
    """Take or renew the lease ``key`` for ``owner`` unless someone else holds it past ``now``
    (``dead_owner``: unless that someone is this owner, proved dead by the caller)."""
    entry = connection.execute(_ENTRY, {"b_key": key}).first()
    if entry is None:
        if not _inserted(connection, key, owner, until, now):
            return _NOT_TAKEN
        return LeaseState(held=True, fresh=True, owner=owner, until=until)
    held_by, held_until = entry
    taken_from_dead = dead_owner is not None and held_by == dead_owner
    if held_by != owner and held_until is not None and held_until > now and not taken_from_dead:
        return LeaseState(held=False, fresh=False, owner=held_by, until=held_until)
    fresh = held_by != owner or held_until is None or held_until <= now
    connection.execute(_SET, {"b_key": key, "owner": owner, "until": until, "updated_at": now})
    return LeaseState(held=True, fresh=fresh, owner=owner, until=until)


def renew_lease(
    connection: Connection, key: str, owner: str, *, now: datetime, until: datetime
) -> bool:
    """Extend the lease ``key`` if ``owner`` still holds it (even past its expiry: nobody took
    it meanwhile, so nobody adopted anything of ours). False: it is someone else's now."""
    result = connection.execute(
        _SET_IF_OWNER, {"b_key": key, "b_owner": owner, "until": until, "updated_at": now}
    )
    return bool(result.rowcount)


def release_lease(connection: Connection, key: str, owner: str, now: datetime) -> None:
    """Give the lease up at once (a clean shutdown), if this owner still holds it."""
    connection.execute(
        _SET_IF_OWNER, {"b_key": key, "b_owner": owner, "until": now, "updated_at": now}
    )


def not_before(connection: Connection) -> datetime | None:
    """Until when Telegram asked us not to send (a 429's retry_after), if recorded."""
    until: datetime | None = connection.execute(_UNTIL, {"b_key": RETRY_AFTER_KEY}).scalar()
    return until


def set_not_before(connection: Connection, until: datetime, now: datetime) -> datetime:
    """Record a 429's "not before" time (keeping a later one); returns the time in force."""
    entry = connection.execute(_ENTRY, {"b_key": RETRY_AFTER_KEY}).first()
    if entry is None:
        if _inserted(connection, RETRY_AFTER_KEY, None, until, now):
            return until
        return set_not_before(connection, until, now)  # another process inserted it first
    recorded: datetime | None = entry.until
    if recorded is not None and recorded >= until:
        return recorded
    connection.execute(_SET, {"b_key": RETRY_AFTER_KEY, "until": until, "updated_at": now})
    return until

"""The outbox as the dispatcher sees it: claiming due rows with a lease, settling them, and the
process-wide state in ``bot_state`` (the dispatcher lease, Telegram's "retry after"). The shapes
that leave it (``ClaimedRow``, ``LeaseState``) are the dispatcher's, from ``scheduler.ports``.

Nothing here commits; the caller owns the transaction. The claim is the same code on both
databases: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets concurrent claimers pass each
other's rows; SQLite ignores that clause, and the write transaction (``BEGIN IMMEDIATE``) already
makes claims one at a time.

Row life cycle (``outbox.status``)::

    pending ──claim──> sending ──sent──> sent
       ^                 │  ├──timeout──> ambiguous ──claim──> sending ...
       └──retry/defer────┘  ├──403──────> cancelled (and the user is marked blocked)
                            └──give up──> failed
    sending with an expired lease (a crashed dispatcher) is claimed again and counted ambiguous;
    a row whose outcome was unknown twice (``ambiguous_count`` reaches 2) is closed ``failed``
    instead of being sent a third time.

Core statements (not ORM objects) on purpose: a batch of a hundred rows costs a handful of
statements, which keeps the database a small part of dispatch's cost (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Table, and_, bindparam, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from bot.storage.models import metadata
from bot.storage.progress import state_of
from scheduler.planner import WAITING
from scheduler.policy import ItemState, record_sent
from scheduler.ports import ClaimedRow, LeaseState

OUTBOX: Final[Table] = metadata.tables["outbox"]
PROGRESS: Final[Table] = metadata.tables["item_progress"]
BOT_STATE: Final[Table] = metadata.tables["bot_state"]

FINISHED: Final = ("sent", "failed", "cancelled")
"""Statuses of rows that are done. Per-user queries filter with ``status NOT IN FINISHED``
rather than ``status IN (...)``: without statistics SQLite would otherwise walk the status index
(every waiting row of every user) instead of the ``user_id`` index."""
AHEAD: Final = "~ahead"
"""Suffix of ``lease_owner`` on rows a dispatcher claimed ahead (while the batch before was being
sent) and has not started sending: adopted after a crash, they count no ambiguous attempt."""
DISPATCHER_LEASE_KEY: Final = "dispatcher"
POLLER_LEASE_KEY: Final = "poller"
RETRY_AFTER_KEY: Final = "telegram_retry_after"


_CLAIM_COLUMNS = (
    OUTBOX.c.id,
    OUTBOX.c.user_id,
    OUTBOX.c.kind,
    OUTBOX.c.item_id,
    OUTBOX.c.payload,
    OUTBOX.c.due_at,
    OUTBOX.c.planned,
    OUTBOX.c.attempts,
    OUTBOX.c.ambiguous_count,
)

UNKNOWN_TWICE: Final = "outcome unknown twice"
"""``last_error`` of a row closed because two of its attempts may each have delivered it."""


def claim_due(
    conn: Connection,
    *,
    now: datetime,
    lease_now: datetime,
    owner: str,
    lease_until: datetime,
    limit: int,
    adopt_owners: Collection[str] = (),
    skip_users: Collection[int] = (),
    ahead: bool = False,
    max_unknown: int | None = None,
    given_up: list[ClaimedRow] | None = None,
) -> list[ClaimedRow]:
    """Lease up to ``limit`` rows: expired leases first, then waiting rows due by ``now``.

    ``now`` is schedule time (due times); ``lease_now`` is real time (leases).
    A ``sending`` row is adopted only when its own lease has expired (a live dispatcher keeps
    renewing the leases of its rows), or when its owner is in ``adopt_owners``: owners the
    dispatcher proved dead (same host, process gone), whose rows need not wait out their leases.
    ``max_unknown``: a row whose attempts with an unknown outcome (``ambiguous_count``, this
    adoption included) reach it is not sent again: it is closed ``failed`` (``UNKNOWN_TWICE``)
    and appended to ``given_up``, so that however many crashes, a nudge goes out at most
    ``max_unknown`` times.
    ``skip_users``: leave these users' rows alone (their batch is still being sent).
    ``ahead``: lease as ``owner + AHEAD`` (claimed ahead, see ``promote_rows``). Expired rows
    that were only claimed ahead are taken again as they were: not stale, no extra attempt.
    """
    if limit <= 0:
        return []
    expired = OUTBOX.c.lease_until < lease_now
    if adopt_owners:
        dead = sorted({*adopt_owners, *(o + AHEAD for o in adopt_owners)} - {owner, owner + AHEAD})
        expired = or_(expired, OUTBOX.c.lease_owner.in_(dead))
    skip = OUTBOX.c.user_id.not_in(sorted(skip_users)) if skip_users else true()
    expired_rows = (
        conn.execute(
            select(*_CLAIM_COLUMNS, OUTBOX.c.lease_owner)
            .where(OUTBOX.c.status == "sending", OUTBOX.c.lease_until.is_not(None), expired, skip)
            .order_by(OUTBOX.c.due_at, OUTBOX.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    unsent = [row for row in expired_rows if (row.lease_owner or "").endswith(AHEAD)]
    stale_rows = [row for row in expired_rows if not (row.lease_owner or "").endswith(AHEAD)]
    due_rows: Sequence[Any] = []
    if len(expired_rows) < limit:
        due_rows = (
            conn.execute(
                select(*_CLAIM_COLUMNS)
                .where(OUTBOX.c.status.in_(WAITING), OUTBOX.c.due_at <= now, skip)
                .order_by(OUTBOX.c.due_at, OUTBOX.c.id)
                .limit(limit - len(expired_rows))
                .with_for_update(skip_locked=True)
            )
        ).all()
    if max_unknown is not None:
        over = [r for r in stale_rows if r.ambiguous_count + 1 >= max_unknown]
        over += [r for r in due_rows if r.ambiguous_count >= max_unknown]
        if over:
            closed = {row.id for row in over}
            stale_ids = {row.id for row in stale_rows}
            stale_rows = [row for row in stale_rows if row.id not in closed]
            due_rows = [row for row in due_rows if row.id not in closed]
            for ids, extra in (
                ([r.id for r in over if r.id in stale_ids], 1),
                ([r.id for r in over if r.id not in stale_ids], 0),
            ):
                if ids:
                    conn.execute(
                        update(OUTBOX)
                        .where(OUTBOX.c.id.in_(ids))
                        .values(
                            status="failed",
                            lease_owner=None,
                            lease_until=None,
                            last_error=UNKNOWN_TWICE,
                            ambiguous_count=OUTBOX.c.ambiguous_count + extra,
                        )
                    )
            if given_up is not None:
                given_up.extend(
                    ClaimedRow(
                        id=row.id,
                        user_id=row.user_id,
                        kind=row.kind,
                        item_id=row.item_id,
                        payload=row.payload,
                        due_at=row.due_at,
                        planned=bool(row.planned),
                        attempts=row.attempts,
                        stale=row.id in stale_ids,
                    )
                    for row in over
                )
    lease = {
        "status": "sending",
        "lease_owner": owner + AHEAD if ahead else owner,
        "lease_until": lease_until,
    }
    if unsent:  # the attempt was counted when they were claimed ahead
        conn.execute(
            update(OUTBOX).where(OUTBOX.c.id.in_([row.id for row in unsent])).values(**lease)
        )
    if stale_rows:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_([row.id for row in stale_rows]))
            .values(
                **lease,
                attempts=OUTBOX.c.attempts + 1,
                ambiguous_count=OUTBOX.c.ambiguous_count + 1,
            )
        )
    if due_rows:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_([row.id for row in due_rows]))
            .values(**lease, attempts=OUTBOX.c.attempts + 1)
        )
    return [
        ClaimedRow(
            id=row.id,
            user_id=row.user_id,
            kind=row.kind,
            item_id=row.item_id,
            payload=row.payload,
            due_at=row.due_at,
            planned=bool(row.planned),
            attempts=row.attempts + (0 if again else 1),
            stale=stale,
        )
        for rows, stale, again in (
            (unsent, False, True),
            (stale_rows, True, False),
            (due_rows, False, False),
        )
        for row in rows
    ]


def promote_rows(conn: Connection, ids: Collection[int], owner: str) -> set[int]:
    """Rows claimed ahead become this owner's rows in flight, right before they are sent;
    returns those it holds (the others must not be sent)."""
    if not ids:
        return set()
    conn.execute(
        update(OUTBOX)
        .where(
            OUTBOX.c.id.in_(list(ids)),
            OUTBOX.c.status == "sending",
            OUTBOX.c.lease_owner == owner + AHEAD,
        )
        .values(lease_owner=owner)
    )
    return held_rows(conn, ids, owner)


def held_rows(conn: Connection, ids: Collection[int], owner: str) -> set[int]:
    """Which of ``ids`` this owner still holds, sent or only claimed ahead (not erased by
    /forget, not adopted by another)."""
    if not ids:
        return set()
    result = conn.execute(
        select(OUTBOX.c.id)
        .where(
            OUTBOX.c.id.in_(list(ids)),
            OUTBOX.c.status == "sending",
            OUTBOX.c.lease_owner.in_((owner, owner + AHEAD)),
        )
        .with_for_update()
    )
    return set(result.scalars())


def set_item_ids(conn: Connection, chosen: Iterable[tuple[int, str]]) -> None:
    """Store the item chosen at send time on each row, so a retry sends the same item."""
    params = [{"b_id": outbox_id, "b_item": item_id} for outbox_id, item_id in chosen]
    if params:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"))
            .values(item_id=bindparam("b_item")),
            params,
        )


def mark_rows_sent(conn: Connection, sent: Iterable[tuple[int, int, datetime]]) -> None:
    """``(outbox id, Telegram message id, sent at)``: the row is delivered."""
    params = [{"b_id": i, "b_message": m, "b_sent": at} for i, m, at in sent]
    if params:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"))
            .values(
                status="sent",
                telegram_message_id=bindparam("b_message"),
                sent_at=bindparam("b_sent"),
                lease_until=None,
                last_error=None,
            ),
            params,
        )


def requeue_rows(
    conn: Connection,
    rows: Iterable[tuple[int, datetime]],
    *,
    status: str = "pending",
    error: str | None = None,
    refund_attempt: bool = False,
    ambiguous: bool = False,
) -> None:
    """Put rows back to wait (``pending`` or ``ambiguous``) until their new due time.

    ``refund_attempt``: the attempt does not count (deferred before sending, or a 429).
    ``ambiguous``: the attempt's outcome is unknown; counted in ``ambiguous_count``.
    """
    if status not in WAITING:
        raise ValueError(f"cannot requeue as {status!r}")
    params = [{"b_id": i, "b_due": due} for i, due in rows]
    if not params:
        return
    values: dict[str, Any] = {
        "status": status,
        "due_at": bindparam("b_due"),
        "lease_until": None,
        "last_error": error,
    }
    if refund_attempt:
        values["attempts"] = OUTBOX.c.attempts - 1
    if ambiguous:
        values["ambiguous_count"] = OUTBOX.c.ambiguous_count + 1
    conn.execute(update(OUTBOX).where(OUTBOX.c.id == bindparam("b_id")).values(values), params)


def close_rows(
    conn: Connection,
    ids: Collection[int],
    status: str,
    error: str | None = None,
    *,
    refund_attempt: bool = False,
) -> None:
    """End rows as ``failed`` or ``cancelled`` (nothing more will be sent for them)."""
    if status not in ("failed", "cancelled"):
        raise ValueError(f"cannot close as {status!r}")
    if not ids:
        return
    values: dict[str, Any] = {"status": status, "lease_until": None, "last_error": error}
    if refund_attempt:
        values["attempts"] = OUTBOX.c.attempts - 1
    conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(list(ids))).values(values))


def cancel_waiting_rows(conn: Connection, user_id: int, reason: str) -> None:
    """Cancel every row still waiting to be sent to this user (e.g. they blocked the bot)."""
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.user_id == user_id, OUTBOX.c.status.not_in((*FINISHED, "sending")))
        .values(status="cancelled", last_error=reason)
    )


def earliest_due(conn: Connection) -> datetime | None:
    """The earliest due time of a waiting row, if any (one index lookup per status)."""
    found: list[datetime] = []
    for status in WAITING:
        due = conn.scalar(
            select(OUTBOX.c.due_at)
            .where(OUTBOX.c.status == status)
            .order_by(OUTBOX.c.due_at)
            .limit(1)
        )
        if due is not None:
            found.append(due)
    return min(found) if found else None


def earliest_lease_expiry(conn: Connection) -> datetime | None:
    """When the first dispatcher-held lease runs out, if any row is being sent."""
    until: datetime | None = conn.scalar(
        select(func.min(OUTBOX.c.lease_until)).where(
            OUTBOX.c.status == "sending", OUTBOX.c.lease_until.is_not(None)
        )
    )
    return until


# --- progress after a send -----------------------------------------------------------------


def record_items_sent(conn: Connection, sent: Sequence[tuple[int, str]], now: datetime) -> None:
    """After ``(user id, item id)`` pairs were sent at ``now``: the spacing policy's
    ``record_sent`` on each item's progress (created if new), and one more ``times_sent``.

    Several sends of one item in the batch are applied in order.
    """
    if not sent:
        return
    users = sorted({user_id for user_id, _ in sent})
    items = sorted({item_id for _, item_id in sent})
    rows = (
        conn.execute(
            select(PROGRESS).where(PROGRESS.c.user_id.in_(users), PROGRESS.c.item_id.in_(items))
        )
    ).all()
    existing: dict[tuple[int, str], tuple[ItemState, int]] = {
        (row.user_id, row.item_id): (state_of(row), row.times_sent) for row in rows
    }
    changed: dict[tuple[int, str], tuple[ItemState, int]] = {}
    for user_id, item_id in sent:
        key = (user_id, item_id)
        state, times = changed.get(key) or existing.get(key) or (None, 0)
        changed[key] = (record_sent(state, item_id, now), times + 1)
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for (user_id, item_id), (state, times) in changed.items():
        values = {
            "b_user": user_id,
            "b_item": item_id,
            "b_due": state.due_at,
            "b_first": state.first_sent_at,
            "b_last": state.last_sent_at,
            "b_times": times,
        }
        (updates if (user_id, item_id) in existing else inserts).append(values)
    if updates:
        conn.execute(
            update(PROGRESS)
            .where(
                and_(
                    PROGRESS.c.user_id == bindparam("b_user"),
                    PROGRESS.c.item_id == bindparam("b_item"),
                )
            )
            .values(
                due_at=bindparam("b_due"),
                first_sent_at=bindparam("b_first"),
                last_sent_at=bindparam("b_last"),
                times_sent=bindparam("b_times"),
            ),
            updates,
        )
    if inserts:
        conn.execute(
            PROGRESS.insert(),
            [
                {
                    "user_id": v["b_user"],
                    "item_id": v["b_item"],
                    "due_at": v["b_due"],
                    "first_sent_at": v["b_first"],
                    "last_sent_at": v["b_last"],
                    "times_sent": v["b_times"],
                }
                for v in inserts
            ],
        )


# --- bot_state: the dispatcher lease and Telegram's retry_after -----------------------------


def take_lease(
    conn: Connection,
    key: str,
    owner: str,
    *,
    now: datetime,
    until: datetime,
    dead_owner: str | None = None,
) -> LeaseState:
    """Take or renew the lease ``key`` for ``owner`` unless someone else holds it past ``now``
    (``dead_owner``: unless that someone is this owner, proved dead by the caller)."""
    row = conn.execute(select(BOT_STATE).where(BOT_STATE.c.key == key).with_for_update()).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(BOT_STATE).values(
                        key=key, owner=owner, lease_until=until, updated_at=now
                    )
                )
        except IntegrityError:  # another process inserted it first (PostgreSQL)
            return LeaseState(held=False, fresh=False, owner=None, until=None)
        return LeaseState(held=True, fresh=True, owner=owner, until=until)
    taken_from_dead = dead_owner is not None and row.owner == dead_owner
    if (
        row.owner != owner
        and row.lease_until is not None
        and row.lease_until > now
        and not taken_from_dead
    ):
        return LeaseState(held=False, fresh=False, owner=row.owner, until=row.lease_until)
    fresh = row.owner != owner or row.lease_until is None or row.lease_until <= now
    conn.execute(
        update(BOT_STATE)
        .where(BOT_STATE.c.key == key)
        .values(owner=owner, lease_until=until, updated_at=now)
    )
    return LeaseState(held=True, fresh=fresh, owner=owner, until=until)


def renew_lease(conn: Connection, key: str, owner: str, *, now: datetime, until: datetime) -> bool:
    """Extend the lease ``key`` if ``owner`` still holds it (even past its expiry: nobody took
    it meanwhile, so nobody adopted anything of ours). False: it is someone else's now."""
    result = conn.execute(
        update(BOT_STATE)
        .where(BOT_STATE.c.key == key, BOT_STATE.c.owner == owner)
        .values(lease_until=until, updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def extend_row_leases(conn: Connection, owner: str, until: datetime) -> None:
    """The rows ``owner`` holds (in flight or claimed ahead) keep their leases until ``until``."""
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.status == "sending", OUTBOX.c.lease_owner.in_((owner, owner + AHEAD)))
        .values(lease_until=until)
    )


def lease_holders(conn: Connection) -> set[str]:
    """The owners of rows being sent (their ``AHEAD`` suffix removed)."""
    owners = conn.scalars(
        select(OUTBOX.c.lease_owner)
        .where(OUTBOX.c.status == "sending", OUTBOX.c.lease_owner.is_not(None))
        .distinct()
    )
    return {o.removesuffix(AHEAD) for o in owners if o}


def release_lease(conn: Connection, key: str, owner: str, now: datetime) -> None:
    """Give the lease up at once (a clean shutdown), if this owner still holds it."""
    conn.execute(
        update(BOT_STATE)
        .where(BOT_STATE.c.key == key, BOT_STATE.c.owner == owner)
        .values(lease_until=now, updated_at=now)
    )


def get_not_before(conn: Connection) -> datetime | None:
    """Until when Telegram asked us not to send (a 429's retry_after), if recorded."""
    until: datetime | None = conn.scalar(
        select(BOT_STATE.c.lease_until).where(BOT_STATE.c.key == RETRY_AFTER_KEY)
    )
    return until


def set_not_before(conn: Connection, until: datetime, now: datetime) -> datetime:
    """Record a 429's "not before" time (keeping a later one); returns the time in force."""
    row = conn.execute(
        select(BOT_STATE.c.lease_until).where(BOT_STATE.c.key == RETRY_AFTER_KEY).with_for_update()
    ).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(BOT_STATE).values(key=RETRY_AFTER_KEY, lease_until=until, updated_at=now)
                )
        except IntegrityError:
            return set_not_before(conn, until, now)
        return until
    current: datetime | None = row.lease_until
    if current is None or current < until:
        conn.execute(
            update(BOT_STATE)
            .where(BOT_STATE.c.key == RETRY_AFTER_KEY)
            .values(lease_until=until, updated_at=now)
        )
        return until
    return current

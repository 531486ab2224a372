"""The outbox as the dispatcher sees it: claiming due rows with a lease, and ending them (sent,
back to wait, closed). The shape that leaves it (``ClaimedRow``) is the dispatcher's, from
``scheduler.ports``. The leases' and the flood wait's times are in ``bot.storage.bot_state``;
item progress after a send in ``bot.storage.sent_items``.

Nothing here commits; the caller owns the transaction. The claim is the same code on both
databases: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets concurrent claimers pass each
other's rows; SQLite ignores that clause, and the write transaction (``BEGIN IMMEDIATE``) already
makes claims one at a time.

Row life cycle (``outbox.status``)::

    pending ──claim──> sending ──sent──> sent
       ^                 │  ├──timeout──> ambiguous ──claim──> sending ...
       └──retry/defer────┘  ├──403──────> cancelled (and the user is marked blocked)
                            └──give up──> failed
    A dispatcher's ``sending`` row is first claimed ahead (``lease_owner`` ends in ``AHEAD``),
    then handed over (``promote_rows``: the suffix goes) right before its send. When its lease
    runs out (or its owner is proved dead) it is claimed again: counted ambiguous if it was
    handed over, taken as it was if not. A row whose outcome was unknown twice
    (``ambiguous_count`` reaches 2) is closed ``failed`` instead of being sent a third time.

Core statements (not ORM objects) on purpose: a batch of a hundred rows costs a handful of
statements, which keeps the database a small part of dispatch's cost (README "Benchmarks").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    func,
    or_,
    select,
    update,
)

from bot.storage.models import metadata
from scheduler.planner import WAITING
from scheduler.ports import Claim, ClaimedRow

OUTBOX: Final[Table] = metadata.tables["outbox"]

FINISHED: Final = ("sent", "failed", "cancelled")
"""Statuses of rows that are done. Per-user queries filter with ``status NOT IN FINISHED``
rather than ``status IN (...)``: without statistics SQLite would otherwise walk the status index
(every waiting row of every user) instead of the ``user_id`` index."""
AHEAD: Final = "~ahead"
"""Suffix of ``lease_owner`` on rows a dispatcher claimed and has not handed to its sender yet
(they wait for the rate limiter, say; ``promote_rows`` removes it right before the send):
adopted after a crash, they count no unknown outcome and no extra attempt."""

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

_Row = Any  # a Core row of _CLAIM_COLUMNS (and lease_owner, for expired rows)

UNKNOWN_TWICE: Final = "outcome unknown twice"
"""``last_error`` of a row closed because two of its attempts may each have delivered it."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """What ``claim_due`` did: the rows it leased (to send now), and the rows it closed instead
    (their outcome was unknown ``Claim.max_unknown`` times: not sent again)."""

    rows: list[ClaimedRow] = field(default_factory=list)
    given_up: list[ClaimedRow] = field(default_factory=list)


def claim_due(conn: Connection, claim: Claim) -> Claimed:
    """Lease up to ``claim.limit`` rows: expired leases first, then waiting rows due by
    ``claim.now`` (schedule time; leases are real time, ``claim.lease_now``).

    A ``sending`` row is adopted only when its own lease has expired (a live dispatcher keeps
    renewing the leases of its rows), or when its owner is in ``claim.adopt_owners``: owners the
    dispatcher proved dead (same host, process gone), whose rows need not wait out their leases.
    Adopted rows that were only claimed ahead (``AHEAD``: never handed to a sender) are taken
    again as they were: not stale, no extra attempt, no unknown outcome. The others were handed
    over and are stale: their last send may have arrived.
    ``claim.max_unknown``: a row whose attempts with an unknown outcome (``ambiguous_count``,
    this adoption included) reach it is not sent again but closed ``failed`` (``UNKNOWN_TWICE``),
    so that however many crashes, a nudge goes out at most ``max_unknown`` times.
    ``claim.ahead``: lease as ``owner + AHEAD`` (claimed ahead, see ``promote_rows``).
    ``claim.exclude_users``: none of their rows is claimed, due or adopted (the dispatcher's
    claim of the next batch leaves out the users of the batch still being sent, whose rows are
    settled only once that batch is recorded).
    """
    if claim.limit <= 0:
        return Claimed()
    expired = _expired_rows(conn, claim)
    due: list[_Row] = []
    if len(expired) < claim.limit:
        due = _due_rows(conn, claim, claim.limit - len(expired))
    unsent = [row for row in expired if _claimed_ahead(row)]
    stale = [row for row in expired if not _claimed_ahead(row)]
    given_up: list[ClaimedRow] = []
    if claim.max_unknown is not None:
        stale, due, given_up = _close_unknown_twice(conn, stale, due, claim.max_unknown)
    _lease(conn, claim, unsent=unsent, stale=stale, due=due)
    return Claimed(
        rows=[
            *(_claimed_row(row, stale=False, attempts=row.attempts) for row in unsent),
            *(_claimed_row(row, stale=True, attempts=row.attempts + 1) for row in stale),
            *(_claimed_row(row, stale=False, attempts=row.attempts + 1) for row in due),
        ],
        given_up=given_up,
    )


def _claimed_ahead(row: _Row) -> bool:
    return bool((row.lease_owner or "").endswith(AHEAD))


def _claimed_row(row: _Row, *, stale: bool, attempts: int) -> ClaimedRow:
    return ClaimedRow(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        item_id=row.item_id,
        payload=row.payload,
        due_at=row.due_at,
        planned=bool(row.planned),
        attempts=attempts,
        stale=stale,
    )


def _not_excluded(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    if not claim.exclude_users:
        return ()
    return (OUTBOX.c.user_id.not_in(sorted(claim.exclude_users)),)


def _expired_rows(conn: Connection, claim: Claim) -> list[_Row]:
    """Rows being sent whose lease ran out, or whose owner was proved dead; oldest due first."""
    expired: ColumnElement[bool] = OUTBOX.c.lease_until < claim.lease_now
    if claim.adopt_owners:
        mine = {claim.owner, claim.owner + AHEAD}
        dead = sorted({*claim.adopt_owners, *(o + AHEAD for o in claim.adopt_owners)} - mine)
        expired = or_(expired, OUTBOX.c.lease_owner.in_(dead))
    result = conn.execute(
        select(*_CLAIM_COLUMNS, OUTBOX.c.lease_owner)
        .where(
            OUTBOX.c.status == "sending",
            OUTBOX.c.lease_until.is_not(None),
            expired,
            *_not_excluded(claim),
        )
        .order_by(OUTBOX.c.due_at, OUTBOX.c.id)
        .limit(claim.limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.all())


def _due_rows(conn: Connection, claim: Claim, limit: int) -> list[_Row]:
    """Waiting rows due by ``claim.now``, oldest first."""
    result = conn.execute(
        select(*_CLAIM_COLUMNS)
        .where(OUTBOX.c.status.in_(WAITING), OUTBOX.c.due_at <= claim.now, *_not_excluded(claim))
        .order_by(OUTBOX.c.due_at, OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.all())


def _close_unknown_twice(
    conn: Connection, stale: list[_Row], due: list[_Row], max_unknown: int
) -> tuple[list[_Row], list[_Row], list[ClaimedRow]]:
    """Close the rows whose outcome was unknown ``max_unknown`` times (a stale row's adoption
    counts as one more): ``(stale rows kept, due rows kept, rows closed)``."""
    over_stale = [row for row in stale if row.ambiguous_count + 1 >= max_unknown]
    over_due = [row for row in due if row.ambiguous_count >= max_unknown]
    for rows, adoption in ((over_stale, 1), (over_due, 0)):
        if rows:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_([row.id for row in rows]))
                .values(
                    status="failed",
                    lease_owner=None,
                    lease_until=None,
                    last_error=UNKNOWN_TWICE,
                    ambiguous_count=OUTBOX.c.ambiguous_count + adoption,
                )
            )
    closed = {row.id for row in (*over_stale, *over_due)}
    given_up = [
        *(_claimed_row(row, stale=True, attempts=row.attempts) for row in over_stale),
        *(_claimed_row(row, stale=False, attempts=row.attempts) for row in over_due),
    ]
    return (
        [row for row in stale if row.id not in closed],
        [row for row in due if row.id not in closed],
        given_up,
    )


def _lease(
    conn: Connection,
    claim: Claim,
    *,
    unsent: list[_Row],
    stale: list[_Row],
    due: list[_Row],
) -> None:
    """Lease the rows to ``claim.owner``: one more attempt for stale and due rows (stale ones
    also count an unknown outcome); rows claimed ahead had theirs counted when claimed."""
    lease = {
        "status": "sending",
        "lease_owner": claim.owner + AHEAD if claim.ahead else claim.owner,
        "lease_until": claim.lease_until,
    }
    for rows, counted in (
        (unsent, {}),
        (
            stale,
            {"attempts": OUTBOX.c.attempts + 1, "ambiguous_count": OUTBOX.c.ambiguous_count + 1},
        ),
        (due, {"attempts": OUTBOX.c.attempts + 1}),
    ):
        if rows:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_([row.id for row in rows]))
                .values(**lease, **counted)
            )


def promote_rows(conn: Connection, ids: Collection[int], owner: str) -> set[int]:
    """Rows claimed ahead are handed over: this owner's rows in flight, right before they are
    sent; returns those it holds (the others must not be sent). One statement when it still
    holds them all, as it nearly always does."""
    wanted = set(ids)
    if not wanted:
        return set()
    promoted = conn.execute(
        update(OUTBOX)
        .where(
            OUTBOX.c.id.in_(sorted(wanted)),
            OUTBOX.c.status == "sending",
            OUTBOX.c.lease_owner == owner + AHEAD,
        )
        .values(lease_owner=owner)
    )
    if promoted.rowcount == len(wanted):
        return wanted
    return held_rows(conn, wanted, owner)


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


_EARLIEST_DUE: Final = {
    status: select(OUTBOX.c.due_at)
    .where(OUTBOX.c.status == status)
    .order_by(OUTBOX.c.due_at)
    .limit(1)
    for status in WAITING
}
_EARLIEST_LEASE_EXPIRY: Final = select(func.min(OUTBOX.c.lease_until)).where(
    OUTBOX.c.status == "sending", OUTBOX.c.lease_until.is_not(None)
)


def earliest_due(connection: Connection) -> datetime | None:
    """The earliest due time of a waiting row, if any (one index lookup per status)."""
    found = [connection.execute(statement).scalar() for statement in _EARLIEST_DUE.values()]
    return min((due for due in found if due is not None), default=None)


def next_wakes(connection: Connection) -> tuple[datetime | None, datetime | None]:
    """The earliest due time of a waiting row and the earliest expiry of a row lease (when the
    first row being sent may be adopted); None where there is none. One read of three index
    lookups, run whole (``Database.run_read``): an idle dispatcher asks it at every wake."""
    until: datetime | None = connection.execute(_EARLIEST_LEASE_EXPIRY).scalar()
    return earliest_due(connection), until


def extend_row_leases(connection: Connection, owner: str, until: datetime) -> None:
    """The rows ``owner`` holds (in flight or claimed ahead) keep their leases until ``until``."""
    connection.execute(
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

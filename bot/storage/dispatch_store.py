"""``SqlDispatchStore``: the dispatcher's port (``scheduler.ports.DispatchStore``) on the database.

Each method is one transaction of the synchronous Core functions in ``bot.storage.outbox``,
``bot.storage.bot_state``, ``bot.storage.planning`` and (a batch's check-in polls)
``bot.storage.checkins``. What an idle dispatcher asks at each wake (take or renew its lease,
the next wake times, the flood wait) runs whole on ``Database.run``: it costs next to nothing.
A batch's claim and record run through ``Database.run_batch``: hundreds of rows, each
statement awaited, so that a press or a signal is not held up while they run. The store owns
the planner's ``PlaneeCache``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Connection

from bot.storage import bot_state
from bot.storage.bot_state import DISPATCHER_LEASE_KEY
from bot.storage.checkins import store_sent
from bot.storage.db import Database
from bot.storage.outbox import (
    cancel_waiting_rows,
    claim_due,
    close_rows,
    extend_row_leases,
    held_rows,
    lease_holders,
    next_wakes,
    promote_rows,
    requeue_rows,
)
from bot.storage.planning import (
    USERS,
    PlaneeCache,
    last_nudges,
    record_deliveries,
    replan_users,
    settle_claimed,
)
from scheduler.policy import CatalogItem
from scheduler.ports import BatchOutcome, Claim, LeaseState, Recorded, Settled

PLANEE_CACHE_SIZE = 50_000


class SqlDispatchStore:
    """The dispatcher's database, through SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, db: Database, *, planees: PlaneeCache | None = None) -> None:
        self.db = db
        self.planees = planees if planees is not None else PlaneeCache(PLANEE_CACHE_SIZE)

    async def take_lease(
        self, owner: str, *, now: datetime, until: datetime, dead_owner: str | None = None
    ) -> LeaseState:
        return await self.db.run(
            bot_state.take_lease,
            DISPATCHER_LEASE_KEY,
            owner,
            now=now,
            until=until,
            dead_owner=dead_owner,
        )

    async def renew_lease(
        self, owner: str, *, now: datetime, until: datetime, rows_until: datetime
    ) -> bool:
        return await self.db.run(_renew, owner, now=now, until=until, rows_until=rows_until)

    async def lease_holders(self) -> set[str]:
        return await self.db.run_read(lease_holders)

    async def start_sending(self, owner: str, ids: Collection[int]) -> set[int]:
        return await self.db.run(promote_rows, ids, owner)

    async def release_lease(self, owner: str, now: datetime) -> None:
        await self.db.run(bot_state.release_lease, DISPATCHER_LEASE_KEY, owner, now)

    async def not_before(self) -> datetime | None:
        return await self.db.run_read(bot_state.not_before)

    async def next_wakes(self) -> tuple[datetime | None, datetime | None]:
        return await self.db.run_read(next_wakes)

    async def claim(self, claim: Claim, catalog: Sequence[CatalogItem]) -> tuple[int, Settled]:
        return await self.db.run_batch(self._claim, claim, catalog)

    def _claim(
        self, conn: Connection, claim: Claim, catalog: Sequence[CatalogItem]
    ) -> tuple[int, Settled]:
        claimed = claim_due(conn, claim)
        settled = settle_claimed(conn, claimed.rows, claim.now, catalog, planees=self.planees)
        given_up = [row for row in claimed.given_up if row.planned]
        if given_up:
            # A nudge given up after two unknown outcomes most likely reached her (perhaps
            # twice): her next one is planned as after a sent nudge, so not later that day.
            users = {row.user_id for row in given_up}
            last = last_nudges(conn, users)
            for row in given_up:
                if row.kind == "item":
                    last[row.user_id] = max(last.get(row.user_id, claim.now), claim.now)
            replan_users(conn, users, claim.now, last_nudge_at=last, planees=self.planees)
        settled.given_up = len(claimed.given_up)
        return len(claimed.rows) + len(claimed.given_up), settled

    async def record(self, outcome: BatchOutcome) -> Recorded:
        return await self.db.run_batch(self._record, outcome)

    def _record(self, conn: Connection, o: BatchOutcome) -> Recorded:
        now = o.now
        ids = [
            *(d.outbox_id for d, _ in o.sent),
            *(i for i, _ in o.deferred),
            *(i for i, _ in o.retry),
            *(i for i, _ in o.unsure),
            *o.failed,
            *(i for rows in o.blocked.values() for i in rows),
        ]
        not_before: datetime | None = None
        held = held_rows(conn, ids, o.owner)
        sent = [(d, m) for d, m in o.sent if d.outbox_id in held]
        # What the sends put out besides their messages (a check-in's intro and polls), for the
        # rows still held, whatever their outcome: a row that waits again is retried for what
        # is missing only.
        store_sent(
            conn,
            [(d.user_id, d.outbox_id, r) for d, r in o.went_out if d.outbox_id in held],
            now,
        )
        offers = record_deliveries(conn, sent, now, planees=self.planees)
        requeue_rows(conn, [r for r in o.deferred if r[0] in held], refund_attempt=True)
        requeue_rows(conn, [r for r in o.retry if r[0] in held], error="transient")
        requeue_rows(
            conn,
            [r for r in o.unsure if r[0] in held],
            status="ambiguous",
            error="timed out",
            ambiguous=True,
        )
        close_rows(conn, [i for i in o.failed if i in held], "failed", "gave up")
        for user_id, rows in o.blocked.items():
            close_rows(conn, [i for i in rows if i in held], "cancelled", "blocked")
            conn.execute(
                USERS.update()
                .where(USERS.c.id == user_id, USERS.c.blocked_at.is_(None))
                .values(blocked_at=now)
            )
            cancel_waiting_rows(conn, user_id, "blocked")
        replan_users(conn, o.replan, now, planees=self.planees)
        if o.not_before is not None and o.not_before > o.real_now:
            not_before = bot_state.set_not_before(conn, o.not_before, o.real_now)
        return Recorded(sent=len(sent), pause_offers=offers, not_before=not_before)


class SqlLease:
    """A process-wide lease in ``bot_state`` under ``key`` (e.g. ``POLLER_LEASE_KEY``: one
    process long-polls a token at a time), each call one transaction."""

    def __init__(self, db: Database, key: str) -> None:
        self.db = db
        self.key = key

    async def take(
        self, owner: str, *, now: datetime, until: datetime, dead_owner: str | None = None
    ) -> LeaseState:
        """Take or renew it unless another owner holds it past ``now`` (or is ``dead_owner``)."""
        return await self.db.run(
            bot_state.take_lease, self.key, owner, now=now, until=until, dead_owner=dead_owner
        )

    async def renew(self, owner: str, *, now: datetime, until: datetime) -> bool:
        """Extend it if ``owner`` still holds it; False if another took it."""
        return await self.db.run(bot_state.renew_lease, self.key, owner, now=now, until=until)

    async def release(self, owner: str, now: datetime) -> None:
        """Give it up at once, if ``owner`` still holds it."""
        await self.db.run(bot_state.release_lease, self.key, owner, now)


def _renew(
    connection: Connection, owner: str, *, now: datetime, until: datetime, rows_until: datetime
) -> bool:
    """The dispatcher lease extended to ``until`` and its rows' leases to ``rows_until``, if
    ``owner`` still holds it."""
    held = bot_state.renew_lease(connection, DISPATCHER_LEASE_KEY, owner, now=now, until=until)
    if held:
        extend_row_leases(connection, owner, rows_until)
    return held

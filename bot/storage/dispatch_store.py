"""``SqlDispatchStore``: the dispatcher's port (``scheduler.ports.DispatchStore``) on the database.

Each method is one transaction (``Database.transaction``: ``BEGIN IMMEDIATE`` on SQLite for
writes, read-only for reads), made of the statements in ``bot.storage.outbox`` and
``bot.storage.planning``. The store owns the planner's ``PlaneeCache``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.storage.db import Database
from bot.storage.outbox import (
    DISPATCHER_LEASE_KEY,
    cancel_waiting_rows,
    claim_due,
    close_rows,
    earliest_due,
    earliest_lease_expiry,
    get_not_before,
    held_rows,
    promote_rows,
    release_lease,
    requeue_rows,
    set_not_before,
    take_lease,
)
from bot.storage.planning import (
    USERS,
    PlaneeCache,
    record_deliveries,
    replan_users,
    settle_claimed,
)
from scheduler.policy import CatalogItem
from scheduler.ports import BatchOutcome, Claim, LeaseState, Recorded, Settled
from scheduler.sending import Delivery

PLANEE_CACHE_SIZE = 50_000


class SqlDispatchStore:
    """The dispatcher's database, through SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, db: Database, *, planees: PlaneeCache | None = None) -> None:
        self.db = db
        self.planees = planees if planees is not None else PlaneeCache(PLANEE_CACHE_SIZE)

    async def take_lease(self, owner: str, *, now: datetime, until: datetime) -> LeaseState:
        async with self.db.transaction() as session:
            return await take_lease(session, DISPATCHER_LEASE_KEY, owner, now=now, until=until)

    async def release_lease(self, owner: str, now: datetime) -> None:
        async with self.db.transaction() as session:
            await release_lease(session, DISPATCHER_LEASE_KEY, owner, now)

    async def not_before(self) -> datetime | None:
        async with self.db.transaction(write=False) as session:
            return await get_not_before(session)

    async def next_wakes(self) -> tuple[datetime | None, datetime | None]:
        async with self.db.transaction(write=False) as session:
            due = await earliest_due(session)
            lease_expiry = await earliest_lease_expiry(session)
        return due, lease_expiry

    async def claim(self, claim: Claim, catalog: Sequence[CatalogItem]) -> tuple[int, Settled]:
        async with self.db.transaction() as session:
            rows = await claim_due(
                session,
                now=claim.now,
                lease_now=claim.lease_now,
                owner=claim.owner,
                lease_until=claim.lease_until,
                limit=claim.limit,
                adopt_orphans=claim.adopt_orphans,
                skip_users=claim.skip_users,
                ahead=claim.ahead,
            )
            settled = await settle_claimed(session, rows, claim.now, catalog, planees=self.planees)
        return len(rows), settled

    async def unclaim(self, owner: str, deliveries: Sequence[Delivery]) -> int:
        async with self.db.transaction() as session:
            held = await held_rows(session, [d.outbox_id for d in deliveries], owner)
            back = [(d.outbox_id, d.due_at) for d in deliveries if d.outbox_id in held]
            await requeue_rows(session, back, refund_attempt=True)
        return len(back)

    async def record(self, outcome: BatchOutcome) -> Recorded:
        o = outcome
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
        async with self.db.transaction() as session:
            held = await held_rows(session, ids, o.owner)
            sent = [(d, m) for d, m in o.sent if d.outbox_id in held]
            offers = await record_deliveries(session, sent, now, planees=self.planees)
            await requeue_rows(
                session, [r for r in o.deferred if r[0] in held], refund_attempt=True
            )
            await requeue_rows(session, [r for r in o.retry if r[0] in held], error="transient")
            await requeue_rows(
                session,
                [r for r in o.unsure if r[0] in held],
                status="ambiguous",
                error="timed out",
                ambiguous=True,
            )
            await close_rows(session, [i for i in o.failed if i in held], "failed", "gave up")
            for user_id, rows in o.blocked.items():
                await close_rows(session, [i for i in rows if i in held], "cancelled", "blocked")
                await session.execute(
                    USERS.update()
                    .where(USERS.c.id == user_id, USERS.c.blocked_at.is_(None))
                    .values(blocked_at=now)
                )
                await cancel_waiting_rows(session, user_id, "blocked")
            await replan_users(session, o.replan, now, planees=self.planees)
            if o.not_before is not None and o.not_before > o.real_now:
                not_before = await set_not_before(session, o.not_before, o.real_now)
            promoted = await promote_rows(session, list(o.promote), o.owner)
        return Recorded(
            sent=len(sent), pause_offers=offers, not_before=not_before, promoted=promoted
        )

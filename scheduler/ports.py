"""The dispatcher's port: what it asks of the database, and the shapes that cross it.

``scheduler/`` knows no database. The dispatcher (``scheduler.dispatcher``) calls a
``DispatchStore``; ``bot.storage.dispatch_store.SqlDispatchStore`` implements it with SQLAlchemy,
one transaction per call. Decisions stay on this side (``scheduler.planner``: what to send, move,
cancel or replan); the store gathers the facts they need and applies the changes they name.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from scheduler.policy import CatalogItem
from scheduler.sending import Delivery, Receipt


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """An outbox row this dispatcher now holds a lease on."""

    id: int
    user_id: int
    kind: str
    item_id: str | None
    payload: Any
    due_at: datetime
    planned: bool
    attempts: int  # including this claim
    stale: bool  # claimed again after a lease expired: the last send may have arrived


@dataclass(frozen=True, slots=True)
class LeaseState:
    """The dispatcher lease after an attempt to take or renew it."""

    held: bool
    fresh: bool  # newly taken (not a renewal of our own lease)
    owner: str | None
    until: datetime | None


@dataclass
class Settled:
    """What settling a batch of leased rows did: what goes now, and how many rows were moved
    to a later time or cancelled instead."""

    deliveries: list[Delivery] = field(default_factory=list)
    moved: int = 0
    cancelled: int = 0
    given_up: int = 0  # closed: their outcome was unknown ``Claim.max_unknown`` times


@dataclass(frozen=True, slots=True)
class Claim:
    """How to claim a batch (``DispatchStore.claim``)."""

    now: datetime  # schedule time: due times
    lease_now: datetime  # real time: leases
    owner: str
    lease_until: datetime
    limit: int
    adopt_owners: frozenset[str] = frozenset()  # proved dead: adopt their rows at once
    ahead: bool = False  # claimed, not handed over: marked (``start_sending``) right before sending
    max_unknown: int | None = None  # close rows whose outcome was unknown this many times
    exclude_users: frozenset[int] = frozenset()  # claim none of their rows (due or adopted)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """A sent batch, sorted by outcome; the store applies it to the rows ``owner`` still holds.

    Row ids with a new due time where the row waits again. ``went_out``: the receipts of the
    sends that put more in her chat than their message (a check-in's intro and polls), whatever
    their outcome; stored in the same transaction, so a row waiting again for a retry already
    says what it need not send again.
    """

    owner: str
    now: datetime  # schedule time
    real_now: datetime
    sent: Sequence[tuple[Delivery, int]] = ()  # (delivery, Telegram message id)
    deferred: Sequence[tuple[int, datetime]] = ()  # not attempted: back to pending, refunded
    retry: Sequence[tuple[int, datetime]] = ()  # certainly not delivered
    unsure: Sequence[tuple[int, datetime]] = ()  # may have been delivered: ambiguous
    failed: Collection[int] = ()
    blocked: dict[int, list[int]] = field(default_factory=dict)  # user id -> their row ids
    replan: Collection[int] = ()  # users whose planned row ended without a send
    not_before: datetime | None = None  # a flood wait in force, to keep (the later one wins)
    went_out: Sequence[tuple[Delivery, Receipt]] = ()  # only receipts that hold something


@dataclass(frozen=True, slots=True)
class Recorded:
    """What ``DispatchStore.record`` did."""

    sent: int  # rows marked sent (those still held)
    pause_offers: int
    not_before: datetime | None  # the flood wait now in force, if one was recorded


class DispatchStore(Protocol):
    """The database as the dispatcher needs it. Each call is one transaction of its own."""

    async def take_lease(
        self, owner: str, *, now: datetime, until: datetime, dead_owner: str | None = None
    ) -> LeaseState:
        """Take or renew the dispatcher lease unless another owner holds it past ``now``
        (``dead_owner``: take it from that owner anyway, the caller proved it dead).
        ``LeaseState.owner`` is the holder when not held."""
        ...

    async def renew_lease(
        self, owner: str, *, now: datetime, until: datetime, rows_until: datetime
    ) -> bool:
        """Extend the dispatcher lease to ``until`` and the leases of ``owner``'s rows to
        ``rows_until``, if ``owner`` still holds it; False if another owner took it."""
        ...

    async def lease_holders(self) -> set[str]:
        """The owners of rows being sent (in flight or claimed ahead)."""
        ...

    async def start_sending(self, owner: str, ids: Collection[int]) -> set[int]:
        """Rows claimed ahead are marked handed over, right before they are sent (a crash from
        now on makes their outcome unknown); returns those ``owner`` still holds. One
        transaction for all of ``ids``."""
        ...

    async def release_lease(self, owner: str, now: datetime) -> None:
        """Give the dispatcher lease up at once, if ``owner`` still holds it."""
        ...

    async def not_before(self) -> datetime | None:
        """Until when Telegram asked us not to send (a 429's retry_after), if recorded."""
        ...

    async def next_wakes(self) -> tuple[datetime | None, datetime | None]:
        """The earliest due time of a waiting row (schedule time) and the earliest expiry of a
        row lease (real time); None where there is none."""
        ...

    async def claim(self, claim: Claim, catalog: Sequence[CatalogItem]) -> tuple[int, Settled]:
        """Lease a batch and settle it (``planner.settle``) in one transaction; returns how
        many rows were claimed and what was settled."""
        ...

    async def record(self, outcome: BatchOutcome) -> Recorded:
        """Record a sent batch in one transaction (see ``BatchOutcome``)."""
        ...

"""The dispatcher SIGKILLed during a burst of due nudges: another webhook worker finishes it.

Three `closer run` workers in webhook mode on one PostgreSQL database; exactly one reports
``closer_dispatcher 1`` on /metrics. DUE nudges fall due at once and the dispatcher is killed
a quarter of the way through. Another worker takes the lease once it runs out (the dispatcher
lease is 10 s) and sends the rest: none lost, no chat given more than two copies (a row the
dead one had sent but not recorded goes again, counted ambiguous). The takeover time is printed.
DUE is 2,000 rather than the issue's 5,000 to keep CI fast (the path is the same).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.standin import TelegramStandIn
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import OutboxMessage
from tests.delivery.seeding import midday_zone, seed_due, seed_users
from tests.webhook.conftest import Worker, http_get

pytestmark = pytest.mark.slow  # `closer run` in processes of their own

DUE = 2000
FIRST_CHAT = 2_000_000


async def metric(worker: Worker, name: str, labels: dict[str, str] | None = None) -> float:
    """One sample from the worker's /metrics (0.0 for a counter with no sample yet)."""
    status, text = await http_get(f"{worker.base}/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == (labels or {}):
                return float(sample.value)
    if name.endswith("_total"):
        return 0.0
    raise AssertionError(f"{name} {labels} missing from /metrics")


async def dispatcher_flag(worker: Worker) -> float:
    return await metric(worker, "closer_dispatcher")


async def outbox_statuses(db: Database) -> dict[str, int]:
    async with db.transaction(write=False) as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {str(status): int(count) for status, count in rows.all()}


def sent_per_chat(standin: TelegramStandIn) -> Counter[int]:
    return Counter(
        int(call.params["chat_id"])
        for call in standin.calls_to("sendMessage")
        if call.ok and int(call.params["chat_id"]) >= FIRST_CHAT
    )


async def test_the_dispatcher_sigkilled_mid_burst_is_replaced_and_nothing_is_lost(
    standin_http: tuple[TelegramStandIn, str],
    start_worker: Callable[..., Worker],
    postgres_url: str,
) -> None:
    standin, _ = standin_http
    db = Database(postgres_url)
    try:
        await upgrade(db)
        workers = [start_worker(postgres_url, CLOSER_RATE_LIMIT="false") for _ in range(3)]
        for worker in workers:
            await worker.started()
        deadline = time.monotonic() + 20
        while True:
            flags = [await dispatcher_flag(worker) for worker in workers]
            if sorted(flags) == [0.0, 0.0, 1.0]:
                break
            assert time.monotonic() < deadline, f"dispatcher flags {flags}"
            await asyncio.sleep(0.2)
        dispatcher = workers[flags.index(1.0)]

        now = datetime.now(UTC)
        users = await seed_users(
            db, DUE, first_telegram_id=FIRST_CHAT, timezone=midday_zone(now), now=now
        )
        for _, telegram_id in users:
            standin.user(telegram_id)
        await seed_due(db, [user_id for user_id, _ in users], now - timedelta(minutes=1))

        while sum(sent_per_chat(standin).values()) < DUE // 4:
            assert dispatcher.process.poll() is None, dispatcher.stderr()
            await asyncio.sleep(0.01)
        dispatcher.kill()
        killed_at = time.monotonic()
        at_kill = sum(sent_per_chat(standin).values())
        survivors = [w for w in workers if w is not dispatcher]
        lag = await metric(survivors[0], "closer_outbox_due_lag_seconds")
        assert lag >= 60  # the rows fell due a minute ago and wait for a dispatcher

        took_over: float | None = None
        deadline = time.monotonic() + 60
        while len(sent_per_chat(standin)) < DUE:
            total = sum(sent_per_chat(standin).values())
            if took_over is None and total > at_kill:
                took_over = time.monotonic() - killed_at
            assert time.monotonic() < deadline, f"{len(sent_per_chat(standin))} of {DUE} sent"
            await asyncio.sleep(0.02)
        finished = time.monotonic() - killed_at

        deadline = time.monotonic() + 15
        while (statuses := await outbox_statuses(db)).get("sent") != DUE:  # the last batch
            assert time.monotonic() < deadline, statuses  # is recorded a moment after it went
            await asyncio.sleep(0.1)
        per_chat = sent_per_chat(standin)
        flags = [await dispatcher_flag(worker) for worker in survivors]
        sent_by_survivors = [
            await metric(worker, "closer_nudges_total", {"result": "sent"}) for worker in survivors
        ]
        lag_after = await metric(survivors[0], "closer_outbox_due_lag_seconds")
    finally:
        await db.dispose()

    twice = sum(1 for n in per_chat.values() if n == 2)
    print(
        f"{DUE} due nudges, dispatcher SIGKILLed after {at_kill} sends: another worker took "
        f"over in {took_over:.1f} s (lease 10 s) and finished {finished:.1f} s after the kill; "
        f"0 lost, {twice} chats got a second copy, none a third"
    )
    assert len(per_chat) == DUE  # none lost
    assert max(per_chat.values()) <= 2  # never a third copy
    assert statuses.get("sent") == DUE, statuses
    assert sorted(flags) == [0.0, 1.0]  # exactly one survivor dispatches
    assert sum(sent_by_survivors) == sum(per_chat.values()) - at_kill  # /metrics counts sends
    assert lag_after == 0.0

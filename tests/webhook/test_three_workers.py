"""Three `closer run` webhook workers on one PostgreSQL database behind a (stand-in) balancer.

Every update is pushed to the workers in turn. Each is handled once in effect: one user row per
person, one welcome per /start, one zone per press, every update confirmed. Then one worker is
SIGKILLed in the middle of a burst of presses: the stand-in retries the calls that got no 2xx
on the next worker, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.standin import TelegramStandIn, UserActor
from bot.storage.db import Database
from bot.storage.models import User, UserSettings
from tests.webhook.conftest import Worker, assert_clean, register_webhook

pytestmark = pytest.mark.slow  # `closer run` in processes of their own

USERS = 30
ZONE_LABEL, ZONE = "Berlin", "Europe/Berlin"


def _has_button(user: UserActor, label: str) -> bool:
    return any(text == label for m in user.messages for row in m.keyboard for text, _ in row)


def _welcomes(user: UserActor) -> int:
    return sum((m.text or "").startswith("Hi, I'm Closer") for m in user.messages)


async def _zones(database_url: str) -> tuple[int, dict[int, str]]:
    db = Database(database_url)
    try:
        async with db.transaction(write=False) as session:
            users = len((await session.scalars(select(User.id))).all())
            rows = (
                await session.execute(
                    select(User.telegram_id, UserSettings.timezone).join(
                        UserSettings, UserSettings.user_id == User.id
                    )
                )
            ).all()
    finally:
        await db.dispose()
    return users, {int(t): str(z) for t, z in rows}


async def test_three_webhook_workers_handle_each_update_once_and_a_sigkill_loses_none(
    standin_http: tuple[TelegramStandIn, str],
    start_worker: Callable[..., Worker],
    postgres_url: str,
) -> None:
    standin, url_root = standin_http
    workers = [start_worker(postgres_url) for _ in range(3)]
    for worker in workers:
        await worker.started()
    await register_webhook(standin, url_root, postgres_url, workers)
    people = [standin.user(9000 + n, first_name=f"W{n}") for n in range(USERS)]

    for person in people:
        await person.send("/start")
    await standin.wait_until(lambda: all(_has_button(p, ZONE_LABEL) for p in people), timeout=30)
    await standin.wait_until(lambda: not standin.pending_updates, timeout=10)
    first_round = set(standin.confirmed_update_ids)
    assert len(first_round) == USERS
    assert all(standin.delivery_counts[u] == 1 for u in first_round)  # no retry was needed
    assert [_welcomes(p) for p in people] == [1] * USERS
    served = Counter(a.url for a in standin.webhook_attempts if a.error is None)
    assert set(served) == {w.hook for w in workers}  # all three took their turn
    assert min(served.values()) >= USERS // 3 - 1

    queries = [await person.press(ZONE_LABEL) for person in people]
    await asyncio.sleep(0.1)  # calls in flight on every worker
    victim = workers[1]
    victim.kill()
    answered_before = len({a.callback_query_id for a in standin.callback_answers} & set(queries))
    await standin.wait_until(
        lambda: {a.callback_query_id for a in standin.callback_answers} >= set(queries),
        timeout=30,
    )
    await standin.wait_until(lambda: not standin.pending_updates, timeout=10)

    users, zones = await _zones(postgres_url)
    assert users == USERS
    assert zones == {p.user_id: ZONE for p in people}
    failed = [a for a in standin.webhook_attempts if a.error is not None]
    redelivered = sum(1 for count in standin.delivery_counts.values() if count > 1)
    print(
        f"3 webhook workers, {USERS} users: /start each handled once; {USERS} presses, "
        f"worker SIGKILLed 0.1 s in ({answered_before} answered before): "
        f"{len(failed)} failed calls retried, {redelivered} updates delivered more than once, "
        "none lost"
    )
    assert [_welcomes(p) for p in people] == [1] * USERS
    for worker in (workers[0], workers[2]):
        assert await worker.exit_code_after(signal.SIGTERM) == 0
        assert_clean(worker.stderr())
        assert "event='bot_stopping'" in worker.stderr()

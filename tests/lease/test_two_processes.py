"""Two `closer run` processes on one database, the rate limiter on, batches of 500 (issue 14).

A batch of 500 at Telegram's 30 a second takes about 17 s, far longer than the lease (shortened
here to 4 s with CLOSER_LEASE_SECONDS so that the tests stay short: the ratio is what matters).
One process sends at a time however long its batch; the other stands by, for polling too.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from bot.standin import TelegramStandIn, serve_http
from tests.delivery.conftest import TOKEN
from tests.lease.harness import Closer, dispatcher_pid, record_sends, seed, statuses

pytestmark = pytest.mark.slow  # `closer run` in processes of their own

BATCH = 500
LEASE = 4.0
USERS = 700  # one batch of 500 that lasts 8 leases, then the rest: enough to show the property
SETTINGS = {
    "CLOSER_RATE_LIMIT": "true",
    "CLOSER_DISPATCH_BATCH_SIZE": str(BATCH),
    "CLOSER_LEASE_SECONDS": str(LEASE),
}


async def test_two_processes_one_sender_every_user_exactly_one_copy(
    any_db_url: str, tmp_path: Path
) -> None:
    chats, ids = await seed(any_db_url, USERS)
    standin = TelegramStandIn(TOKEN)
    for chat in chats:
        standin.user(chat)
    sends = record_sends(standin, chats)
    runner, url_root = await serve_http(standin)
    first = second = None
    try:
        began = time.monotonic()
        first = Closer(url_root, any_db_url, tmp_path / "first.log", **SETTINGS)
        second = Closer(url_root, any_db_url, tmp_path / "second.log", **SETTINGS)
        await first.until(lambda: len(sends.counts()) == USERS, 120, "every user's nudge")
        took = time.monotonic() - began
        await asyncio.sleep(2 * LEASE)  # room for any late copy
        counts = sends.counts()
        assert set(counts) == chats, "none starves"
        extra = {chat: n for chat, n in counts.items() if n > 1}
        assert not extra, f"{len(extra)} users got more than one copy"
        await first.stop()
        await second.stop()
        assert first.process.returncode == 0 and second.process.returncode == 0
    finally:
        for closer in (first, second):
            if closer is not None:
                await closer.stop()
        await runner.cleanup()
    logs = [first.output(), second.output()]
    standby = [log for log in logs if "polling_standby" in log]
    assert len(standby) == 1, "exactly one process stood by for polling"
    assert standby[0].count("polling_standby") == 1, "and said why once"
    # The stand-in answers 409 to a long poll still open when another starts: at most the one
    # the first process abandoned as it stopped, and no process ever got one.
    assert sends.conflicts <= 1, "no 409 storm: one poller per token"
    assert not any("Conflict" in log for log in logs), "no process got a 409"
    assert await statuses(any_db_url, ids) == {"sent": USERS}
    print(
        f"{USERS} users, batch {BATCH}, lease {LEASE:.0f} s, limiter on: all sent once in "
        f"{took:.1f} s ({USERS / took:.1f}/s); 409s to abandoned polls {sends.conflicts}"
    )


async def test_a_sender_suspended_past_its_lease_costs_at_most_one_batch_and_sends_no_more(
    any_db_url: str, tmp_path: Path
) -> None:
    chats, ids = await seed(any_db_url, USERS)
    standin = TelegramStandIn(TOKEN)
    for chat in chats:
        standin.user(chat)
    sends = record_sends(standin, chats)
    runner, url_root = await serve_http(standin)
    closers: list[Closer] = []
    try:
        closers = [
            Closer(url_root, any_db_url, tmp_path / f"closer{n}.log", **SETTINGS) for n in (1, 2)
        ]
        await closers[0].until(lambda: len(sends.log) >= 100, 60, "100 sends")
        pid = await dispatcher_pid(any_db_url)
        (sender,) = [c for c in closers if c.pid == pid]
        (other,) = [c for c in closers if c is not sender]
        sender.process.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        before = len(sends.log)
        await other.until(lambda: sends.after(stopped_at) > 0, 60, "the standby to send")
        takeover = sends.log[before][0] - stopped_at
        await asyncio.sleep(max(0.0, stopped_at + 3 * LEASE - time.monotonic()))
        sender.process.send_signal(signal.SIGCONT)  # suspended 3 leases, past its row leases
        await other.until(lambda: len(sends.counts()) == USERS, 120, "every user's nudge")
        await asyncio.sleep(2 * LEASE)
        for closer in closers:
            await closer.stop()
        assert all(c.process.returncode == 0 for c in closers)
    finally:
        for closer in closers:
            await closer.stop()
        await runner.cleanup()
    counts = sends.counts()
    assert set(counts) == chats, "none starves"
    duplicates = sum(counts.values()) - USERS
    assert duplicates <= BATCH, f"{duplicates} duplicates: more than one batch"
    assert max(counts.values()) <= 2
    resumed = sender.output()
    assert "dispatcher_lease_lost" in resumed, "the resumed process saw it lost the lease"
    assert await statuses(any_db_url, ids) == {"sent": USERS}
    print(
        f"sender SIGSTOPped {3 * LEASE:.0f} s (lease {LEASE:.0f} s) after {before} sends: "
        f"the standby sent after {takeover:.1f} s, duplicates {duplicates} (bound {BATCH})"
    )

"""A burst of new users: twenty /start at once, then each types a city. Everyone is answered;
the times are printed (run with -s), not asserted: they depend on the machine."""

from __future__ import annotations

import asyncio

from bot import timezones
from tests.bot.conftest import Closer


async def test_twenty_new_users_starting_at_once_are_all_answered(closer: Closer) -> None:
    await timezones.ready()  # built once at start-up, as `closer run` does, not per /start
    users = [closer.user(5000 + n, f"User{n}") for n in range(20)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    for user in users:
        await user.send("/start")

    async def first_reply(user: object) -> float:
        await user.next_message(timeout=30)  # type: ignore[attr-defined]
        return loop.time() - started

    waits = await asyncio.gather(*(first_reply(user) for user in users))
    for user in users:
        await user.next_message(timeout=30)  # the time-zone question
    typed = loop.time()
    for user in users:
        await user.send("Lisbon")

    async def city_answer(user: object) -> float:
        message = await user.next_message(timeout=30)  # type: ignore[attr-defined]
        assert "Step 2 of 3" in (message.text or "")
        return loop.time() - typed

    cities = await asyncio.gather(*(city_answer(user) for user in users))
    print(
        f"\n20 new users at once: first reply after {min(waits):.3f}-{max(waits):.3f} s; "
        f"a typed city answered after {min(cities):.3f}-{max(cities):.3f} s"
    )
    assert not closer.errors

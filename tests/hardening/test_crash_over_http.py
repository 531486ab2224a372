"""SIGKILL in the middle of a burst of presses over HTTP: after a restart none is lost.

`closer run` in a subprocess against the stand-in over HTTP; 60 new users each press a time-zone
button at once, and the process is killed a moment later, while it is still handling them. The
restarted process must answer every press and record every user's zone: updates are confirmed
to Telegram only after they were handled, and handling one twice changes nothing.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from bot.standin import TelegramStandIn, UserActor
from tests.test_run_over_http import (
    START_TIMEOUT,
    CloserProcess,
    _commands_of,
    assert_clean_log,
    standin_root,
    start_closer,
)

__all__ = ["standin_root", "start_closer"]  # fixtures used below

pytestmark = pytest.mark.slow

USERS = 60
ZONE_LABEL, ZONE = "Berlin", "Europe/Berlin"


def _has_button(user: UserActor, label: str) -> bool:
    return any(text == label for m in user.messages for row in m.keyboard for text, _ in row)


def _zones(database: Path) -> dict[int, str]:
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute(
            "SELECT users.telegram_id, user_settings.timezone FROM users"
            " JOIN user_settings ON user_settings.user_id = users.id"
        ).fetchall()
    return {int(telegram_id): str(zone) for telegram_id, zone in rows}


async def test_sigkill_during_a_burst_of_presses_loses_none(
    standin_root: tuple[TelegramStandIn, str],
    start_closer: Callable[..., CloserProcess],
    tmp_path: Path,
) -> None:
    standin, _ = standin_root
    users = [standin.user(7000 + n, first_name=f"U{n}") for n in range(USERS)]
    closer = start_closer()
    await closer.until(lambda: bool(_commands_of(standin)), START_TIMEOUT, "setMyCommands")
    for user in users:
        await user.send("/start")
    await standin.wait_until(lambda: all(_has_button(u, ZONE_LABEL) for u in users), timeout=30)

    queries = [await user.press(ZONE_LABEL) for user in users]
    await asyncio.sleep(0.15)  # the batch is fetched and partly handled
    closer.process.kill()
    closer.process.wait(timeout=5)
    answered = {a.callback_query_id for a in standin.callback_answers}
    before = sum(query in answered for query in queries)

    restarted = start_closer()
    await standin.wait_until(
        lambda: {a.callback_query_id for a in standin.callback_answers} >= set(queries),
        timeout=30,
    )
    print(
        f"{USERS} presses, SIGKILL 0.15 s into the burst: {before} answered before the kill, "
        f"{USERS - before} after the restart, none lost"
    )
    zones = _zones(tmp_path / "closer.sqlite3")
    assert {user.user_id: zones.get(user.user_id) for user in users} == {
        user.user_id: ZONE for user in users
    }
    assert await restarted.exit_code_after(signal.SIGTERM) == 0
    assert_clean_log(restarted.stderr())

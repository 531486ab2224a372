"""The city index is built once and shared: 20 users typing a city at once wait for one build.

Each test runs in a fresh interpreter (the index is per process), and prints its figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any, cast

_CONCURRENT_ASYNC = textwrap.dedent(
    """
    import asyncio, json, time
    from bot import timezones

    async def main():
        lag = 0.0
        async def ticker():
            nonlocal lag
            while True:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lag = max(lag, time.perf_counter() - before - 0.01)
        tick = asyncio.create_task(ticker())
        start = time.perf_counter()
        timezones.start_building()  # as bot.runner does at start-up
        async def user(text):
            choices = await timezones.resolve(text)
            return time.perf_counter() - start, [c.zone for c in choices]
        texts = ["Paris", "munchen", "NYC", "Portland, Oregon", "UTC-5"] * 4
        results = await asyncio.gather(*(user(t) for t in texts))
        start = time.perf_counter()
        warm = await asyncio.gather(*(user(t) for t in texts))
        tick.cancel()
        print(json.dumps({
            "builds": timezones.builds,
            "answers": [zones[:1] for _, zones in results],
            "slowest_s": max(t for t, _ in results),
            "slowest_warm_s": max(t for t, _ in warm),
            "loop_lag_s": lag,
        }))

    asyncio.run(main())
    """
)

_CONCURRENT_THREADS = textwrap.dedent(
    """
    import json
    from concurrent.futures import ThreadPoolExecutor
    from bot import timezones

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(timezones.resolve_text, ["Paris", "nyc"] * 10))
    print(json.dumps({"builds": timezones.builds, "empty": sum(not a for a in answers)}))
    """
)


def _run(script: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_twenty_concurrent_async_resolutions_share_one_build() -> None:
    result = cast(dict[str, Any], _run(_CONCURRENT_ASYNC))
    print(
        f"20 concurrent resolutions from a cold start: slowest answer {result['slowest_s']:.2f} s"
        f" (the one build), event loop lag at most {result['loop_lag_s'] * 1000:.0f} ms;"
        f" once built, 20 more within {result['slowest_warm_s'] * 1000:.1f} ms"
    )
    assert result["builds"] == 1
    expected = [["Europe/Paris"], ["Europe/Berlin"], ["America/New_York"]]
    expected += [["America/Los_Angeles"], ["Etc/GMT+5"]]
    assert result["answers"] == expected * 4


def test_twenty_concurrent_threads_share_one_build() -> None:
    result = _run(_CONCURRENT_THREADS)
    assert result == {"builds": 1, "empty": 0}


async def test_ready_returns_once_built_and_resolve_answers() -> None:
    from bot import timezones

    await timezones.ready()
    assert timezones.builds == 1
    assert [c.zone for c in await timezones.resolve("Berlin")] == ["Europe/Berlin"]
    located = await timezones.locate(52.52, 13.405)
    assert located is not None and located.zone == "Europe/Berlin"

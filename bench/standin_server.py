"""The Telegram stand-in in a process of its own, with ``--users`` chats ready to receive.

``python -m bench.standin_server --users 10000 --first-id 1000000`` prints its URL root on the
first line of stdout, then serves until killed. Keeping it out of the benchmark's process means
the bot's CPU figures are the bot's alone.

Besides the stand-in's Bot API and control API, two bench endpoints (JSON out):

    POST /_bench/press     {"label": "...", "first_id": F, "count": N}
        every user F .. F+N-1 presses the button whose label holds ``label`` on the newest bot
        message in their chat that has one: N callback_query updates queued at once (a burst).
        Returns {"pressed": k, "missing": N - k}, and starts counting answers from here.
    GET  /_bench/progress?answers=N&edits=N&timeout=S
        waits (up to S seconds) until N callback queries have been answered and N messages
        edited since the last burst; returns {"answers", "edits", "refused"} (refused: Bot API
        calls the stand-in rejected since the burst).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.standin import TelegramStandIn, build_web_app

TOKEN = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


class _BurstCounter:
    """Answers, edits and refused calls since the last burst, counted as calls come in."""

    def __init__(self, standin: TelegramStandIn) -> None:
        self.standin = standin
        self.reset()

    def reset(self) -> None:
        self.answers_base = len(self.standin.callback_answers)
        self.seen = len(self.standin.calls)
        self.edits = 0
        self.refused = 0

    def count(self) -> tuple[int, int, int]:
        calls = self.standin.calls
        for call in calls[self.seen :]:
            if call.method.lower().startswith("editmessage") and call.ok:
                self.edits += 1
            if not call.ok:
                self.refused += 1
        self.seen = len(calls)
        return len(self.standin.callback_answers) - self.answers_base, self.edits, self.refused


def _bench_routes(standin: TelegramStandIn) -> Middleware:
    counter = _BurstCounter(standin)

    async def press(body: dict[str, object]) -> dict[str, int]:
        label = str(body["label"])
        first = int(str(body["first_id"]))
        count = int(str(body["count"]))
        counter.reset()
        pressed = 0
        for telegram_id in range(first, first + count):
            user = standin.user(telegram_id)
            button = next(
                (
                    (message.message_id, str(button["text"]))
                    for message in reversed(user.messages)
                    for button in message.buttons
                    if label in str(button["text"])
                ),
                None,
            )
            if button is not None:
                await user.press(button[1], button[0])
                pressed += 1
        return {"pressed": pressed, "missing": count - pressed}

    async def progress(answers: int, edits: int, seconds: float) -> dict[str, int]:
        def done() -> bool:
            got_answers, got_edits, _ = counter.count()
            return got_answers >= answers and got_edits >= edits

        with contextlib.suppress(TimeoutError):
            await standin.wait_until(done, seconds)
        got_answers, got_edits, refused = counter.count()
        return {"answers": got_answers, "edits": got_edits, "refused": refused}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/_bench/press" and request.method == "POST":
            result = await press(await request.json())
        elif request.path == "/_bench/progress":
            query = request.query
            result = await progress(
                int(query.get("answers", "0")),
                int(query.get("edits", "0")),
                float(query.get("timeout", "10")),
            )
        else:
            return await handler(request)
        return web.Response(text=json.dumps(result), content_type="application/json")

    return middleware


async def _serve(users: int, first_id: int) -> None:
    standin = TelegramStandIn(TOKEN)
    for telegram_id in range(first_id, first_id + users):
        standin.user(telegram_id)
    app = build_web_app(standin)
    app.middlewares.append(_bench_routes(standin))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{int(runner.addresses[0][1])}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--first-id", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(_serve(args.users, args.first_id))


if __name__ == "__main__":
    main()

"""The Telegram stand-in in a process of its own, with ``--users`` chats ready to receive.

``python -m bench.standin_server --users 10000 --first-id 1000000`` prints its URL root on the
first line of stdout, then serves until killed. Keeping it out of the benchmark's process means
the bot's CPU figures are the bot's alone.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.standin import TelegramStandIn, serve_http

TOKEN = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


async def _serve(users: int, first_id: int) -> None:
    standin = TelegramStandIn(TOKEN)
    for telegram_id in range(first_id, first_id + users):
        standin.user(telegram_id)
    runner, url_root = await serve_http(standin)
    print(url_root, flush=True)
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

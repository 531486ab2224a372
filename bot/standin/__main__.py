"""``python -m bot.standin --port N --token T``: serve a stand-in over HTTP for manual runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.standin.server import DEFAULT_TOKEN, TelegramStandIn
from bot.standin.web import serve_http


async def _serve(host: str, port: int, token: str, username: str) -> None:
    standin = TelegramStandIn(token, username=username)
    runner, url_root = await serve_http(standin, host, port)
    print(f"Telegram stand-in listening on {url_root}", flush=True)
    print(f"TELEGRAM_BASE_URL={url_root}  (python-telegram-bot base_url: {url_root}/bot)")
    print(f"control API: {url_root}/_control/user/<id>/send", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--username", default="closer_standin_bot")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.token, args.username))


if __name__ == "__main__":
    main()

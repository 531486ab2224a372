"""``python -m bot.standin --port N --token T``: serve a stand-in over HTTP for manual runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.standin.server import DEFAULT_TOKEN, TelegramStandIn
from bot.standin.web import serve_http


async def _serve(args: argparse.Namespace) -> None:
    standin = TelegramStandIn(args.token, username=args.username)
    standin.strict_webhooks = args.strict_webhooks
    options = {
        "retry_delay": args.webhook_retry_delay,
        "max_retry_delay": args.webhook_max_retry_delay,
        "request_timeout": args.webhook_timeout,
    }
    runner, url_root = await serve_http(standin, args.host, args.port, webhook_options=options)
    print(f"Telegram stand-in listening on {url_root}", flush=True)
    print(f"TELEGRAM_BASE_URL={url_root}  (python-telegram-bot base_url: {url_root}/bot)")
    print(f"control API: {url_root}/_control/... (see bot/standin/web.py)", flush=True)
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
    parser.add_argument(
        "--strict-webhooks",
        action="store_true",
        help="setWebhook with Telegram's cloud rules (HTTPS, ports 80/88/443/8443, public IP)",
    )
    parser.add_argument("--webhook-retry-delay", type=float, default=0.05, metavar="SECONDS")
    parser.add_argument("--webhook-max-retry-delay", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--webhook-timeout", type=float, default=10.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()

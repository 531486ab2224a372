"""The `closer` command: run, migrate, content check."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import ValidationError

from bot.config import TELEGRAM_API_ROOT, Settings, SettingsProblem, TokenProblem
from bot.logs import configure_logging, get_logger, scrub

EXIT_CONFIG = 2
T = TypeVar("T")

log = get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="closer",
        description="Closer: a Telegram coaching bot for when your partner withdraws.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "run",
        help="run the bot (long polling, or webhook when WEBHOOK_URL is set; migrates first)",
    )
    webhook = sub.add_parser(
        "webhook", help="register, remove or show the webhook (once for all workers)"
    )
    webhook_sub = webhook.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    set_cmd = webhook_sub.add_parser(
        "set", help="setWebhook with WEBHOOK_URL and WEBHOOK_SECRET from the settings"
    )
    set_cmd.add_argument(
        "--max-connections",
        type=int,
        default=40,
        help="most calls Telegram makes at once (1-100, default 40)",
    )
    set_cmd.add_argument(
        "--drop-pending", action="store_true", help="drop the updates waiting at Telegram"
    )
    delete_cmd = webhook_sub.add_parser("delete", help="deleteWebhook (back to polling)")
    delete_cmd.add_argument(
        "--drop-pending", action="store_true", help="drop the updates waiting at Telegram"
    )
    webhook_sub.add_parser("info", help="getWebhookInfo: the URL, pending updates, last error")
    try_cmd = sub.add_parser(
        "try", help="chat with Closer in this terminal: no bot token, no network needed"
    )
    try_cmd.add_argument(
        "--speed",
        type=float,
        default=None,
        help="run the schedule N times faster than real time (default 3600: an hour a second)",
    )
    try_cmd.add_argument(
        "--db", type=Path, default=None, help="keep the conversation in this SQLite file"
    )
    try_cmd.add_argument(
        "--lang",
        choices=("en", "es", "ru"),
        default="en",
        help="chat as someone whose Telegram is in this language (en, es, ru)",
    )
    sub.add_parser("migrate", help="migrate the database to the newest revision")
    aside = sub.add_parser(
        "set-aside", help="list or replay the updates a bug failed (after the bug is fixed)"
    )
    aside_sub = aside.add_subparsers(dest="set_aside_command", required=True, metavar="ACTION")
    listing = aside_sub.add_parser("list", help="the set-aside updates: id, kind, error, when")
    listing.add_argument("--all", action="store_true", help="those replayed already too")
    replay = aside_sub.add_parser(
        "replay", help="run set-aside updates again through the bot (needs the bot token)"
    )
    replay.add_argument("update_ids", nargs="*", type=int, metavar="UPDATE_ID")
    replay.add_argument("--all", action="store_true", help="every one not replayed yet")
    content = sub.add_parser("content", help="work with the content files")
    content_sub = content.add_subparsers(dest="content_command", required=True, metavar="ACTION")
    content_sub.add_parser("check", help="validate the content and print a summary")
    return parser


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run the bot's event loop: uvloop where it is installed (a fifth less CPU per nudge in
    `bench.dispatch`), the standard loop elsewhere."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _fail(message: str) -> int:
    print(f"closer: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _load_settings() -> Settings:
    return Settings()


def main(argv: Sequence[str] | None = None) -> int:
    # python-telegram-bot 22 warns on every RetryAfter.retry_after read unless it may hand out a
    # timedelta (Closer reads both); the warning would be a stray stderr line.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    args = _parser().parse_args(argv)
    try:
        settings = _load_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        return _fail(f"configuration problem: {problems}")
    secrets: tuple[str, ...] = ()
    if settings.telegram_bot_token is not None:
        secrets = (settings.telegram_bot_token.get_secret_value(),)
    # In the terminal chat, only problems are worth interrupting the conversation for.
    level = "WARNING" if args.command == "try" and settings.log_level != "DEBUG" else None
    configure_logging(level or settings.log_level, secrets=secrets)

    if args.command == "content":
        return _content_check()
    try:
        return _command(args, settings)
    except Exception as exc:  # the top-level guard: one line naming what to fix, nothing secret
        return _fail(scrub(describe_failure(exc, settings, args.command), secrets))


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "try":
        return _try(args.speed, args.db, args.lang)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "run":
        settings.require_token()
        if settings.webhook_mode:
            settings.require_webhook_secret()
        from bot.runner import serve

        with contextlib.suppress(KeyboardInterrupt):
            run_async(serve(settings))
        return 0
    if args.command == "webhook":
        settings.require_token()
        return run_async(_webhook(args, settings))
    if args.command == "set-aside":
        if args.set_aside_command == "list":
            return asyncio.run(_set_aside_list(settings, replayed=args.all))
        if not args.all and not args.update_ids:
            return _fail("name the update ids to replay, or --all")
        settings.require_token()
        return run_async(_set_aside_replay(settings, None if args.all else set(args.update_ids)))
    return _fail(f"unknown command {args.command!r}")


async def _webhook(args: argparse.Namespace, settings: Settings) -> int:
    """`closer webhook set|delete|info`: one Bot API call each, with the settings' token."""
    from telegram import Bot

    from bot.transport import make_requests

    request, _ = make_requests(settings.telegram_transport)
    bot = Bot(
        settings.require_token(),
        base_url=settings.bot_api_base_url,
        base_file_url=settings.bot_file_base_url,
        request=request,
    )
    try:
        await bot.request.initialize()  # not bot.initialize(): that would call getMe too
        if args.webhook_command == "set":
            if settings.webhook_url is None:
                raise SettingsProblem(
                    "WEBHOOK_URL is not set: set it to the public https:// URL of your proxy"
                )
            if not 1 <= args.max_connections <= 100:
                raise SettingsProblem("--max-connections must be between 1 and 100")
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.require_webhook_secret(),
                max_connections=args.max_connections,
                allowed_updates=list(_allowed_updates()),
                drop_pending_updates=args.drop_pending,
            )
            print(f"webhook set: {settings.webhook_url} (max {args.max_connections} connections)")
        elif args.webhook_command == "delete":
            await bot.delete_webhook(drop_pending_updates=args.drop_pending)
            print("webhook deleted: `closer run` without WEBHOOK_URL polls again")
        else:
            info = await bot.get_webhook_info()
            print(f"url: {info.url or '(none: polling)'}")
            print(f"pending updates: {info.pending_update_count}")
            if info.max_connections:
                print(f"max connections: {info.max_connections}")
            if info.last_error_message:
                when = info.last_error_date.isoformat() if info.last_error_date else "?"
                print(f"last error: {info.last_error_message} ({when})")
    finally:
        await bot.request.shutdown()
    return 0


def _allowed_updates() -> tuple[str, ...]:
    from telegram import Update

    return tuple(Update.ALL_TYPES)


def describe_failure(exc: BaseException, settings: Settings, command: str) -> str:
    """What went wrong, in one line that names what to fix; never the token or a password.

    At DEBUG the full traceback is logged first (scrubbed like every log line).
    """
    log.debug("startup_failed", command=command, exc_info=exc)
    if isinstance(exc, TokenProblem | SettingsProblem):
        return str(exc)
    from bot.storage.db import describe_database_error

    known = describe_database_error(exc, settings.resolved_database_url)
    if known is None:
        known = _describe_telegram_error(exc, settings)
    if known is not None:
        return known
    return (
        f"`closer {command}` failed ({type(exc).__name__}); run it again with LOG_LEVEL=DEBUG "
        "to see where"
    )


def _describe_telegram_error(exc: BaseException, settings: Settings) -> str | None:
    from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

    parts = urlsplit(settings.telegram_base_url)
    where = f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    api = f"the Telegram Bot API at {where} (TELEGRAM_BASE_URL)"
    chain = _chain(exc)
    if any(isinstance(e, InvalidToken) for e in chain):
        elsewhere = settings.telegram_base_url != TELEGRAM_API_ROOT
        return (
            f"{api} rejected TELEGRAM_BOT_TOKEN (revoked, mistyped or another bot's): copy the "
            "bot's current token from @BotFather"
            + (" (or TELEGRAM_BASE_URL is not a Bot API server)" if elsewhere else "")
        )
    if any(isinstance(e, TimedOut) for e in chain):
        return f"{api} did not answer in time: check the network and TELEGRAM_BASE_URL"
    if any(isinstance(e, RetryAfter) for e in chain):
        return f"{api} asks Closer to wait (flood control): start it again in a minute"
    if any(isinstance(e, NetworkError) for e in chain):
        return f"cannot reach {api} ({_network_reason(chain)}): check TELEGRAM_BASE_URL"
    if any(isinstance(e, TelegramError) for e in chain):
        return (
            f"{api} did not answer like the Telegram Bot API: check TELEGRAM_BASE_URL "
            "(it is usually https://api.telegram.org)"
        )
    return None


def _network_reason(chain: list[BaseException]) -> str:
    import ssl

    for error in chain:
        if isinstance(error, ssl.SSLError) or "ssl" in type(error).__name__.lower():
            return "the TLS handshake failed: is it http:// rather than https://?"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused: nothing listens on that port"
        if isinstance(error, socket.gaierror):
            return "unknown host"
    for error in chain:
        name = type(error).__name__
        if "Disconnected" in name or "Payload" in name or "Response" in name or "Protocol" in name:
            return "the server there does not speak HTTP like the Bot API"
    return "network error"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and not any(current is e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _try(speed: float | None, db: Path | None, language: str = "en") -> int:
    from bot.terminal import DEFAULT_SPEED, run_try

    if speed is not None and not speed > 0:
        return _fail("--speed must be a positive number, e.g. --speed 3600")
    with contextlib.suppress(KeyboardInterrupt):
        return run_async(run_try(speed=speed or DEFAULT_SPEED, db_path=db, language=language))
    return 0


def _content_check() -> int:
    from babel import Locale

    from content import ContentError, load_library, summarize
    from content.locales import load_locales
    from content.translations import coverage

    try:
        library = load_library()
        locales = load_locales()
    except ContentError as exc:
        print(f"closer: the content has problems:\n{exc}", file=sys.stderr)
        return 1
    print(summarize(library))
    gaps = 0
    for found in coverage():
        name = Locale.parse(found.language).get_display_name("en")
        print(
            f"{name} ({found.language}): {found.written} of {found.expected} texts, cards and "
            f"poll questions written, {len(found.problems)} gaps"
        )
        for problem in found.problems:
            print(f"  {problem}", file=sys.stderr)
        gaps += len(found.problems)
    for code, locale in locales.by_code.items():
        danger = sum(len(p) for p in locale.danger.patterns.values())
        requests = sum(len(p) for p in locale.requests.patterns.values())
        print(
            f"Language {code}: {len(locale.texts)} texts, {danger} danger patterns, "
            f"{requests} request patterns"
        )
    if gaps:
        print(f"closer: {gaps} gaps in the other languages (listed above)", file=sys.stderr)
        return 1
    return 0


async def _set_aside_list(settings: Settings, *, replayed: bool) -> int:
    """`closer set-aside list`: one line per set-aside update (no user data but her chat id)."""
    from bot.runner import open_services
    from bot.storage.set_aside import listing

    services = await open_services(settings)
    try:
        rows = await services.db.run_read(listing, replayed=replayed)
    finally:
        await services.db.dispose()
    if not rows:
        print("no set-aside updates")
        return 0
    for row in rows:
        state = f"replayed {row.replayed_at:%Y-%m-%d %H:%M}" if row.replayed_at else "waiting"
        replay = "replayable" if row.replay is not None else "text not kept"
        print(
            f"{row.update_id}  {row.kind}  {row.error_type}  {row.reason}  "
            f"{row.set_aside_at:%Y-%m-%d %H:%M}Z  {replay}  {state}"
        )
    return 0


async def _set_aside_replay(settings: Settings, ids: set[int] | None) -> int:
    """`closer set-aside replay`: each update through the bot as when it first came."""
    from bot.app import build_application
    from bot.runner import open_services
    from bot.set_aside import replay
    from bot.transport import make_requests

    services = await open_services(settings)
    try:
        request, updates_request = make_requests(settings.telegram_transport)
        application = build_application(services, request=request, updates_request=updates_request)
        async with application:
            results = await replay(application, services.db, ids, services.clock())
    finally:
        await services.db.dispose()
    for result in results:
        print(f"{result.update_id}  {result.result}")
    print(f"{sum(r.result == 'done' for r in results)} of {len(results)} replayed")
    return 0 if all(r.result != "failed again" for r in results) else 1


async def _migrate(settings: Settings) -> int:
    from bot.runner import prepare_database
    from bot.storage.db import Database
    from bot.storage.migrate import current_revision

    db = Database(settings.resolved_database_url)
    try:
        await prepare_database(db)
        revision = await current_revision(db)
    finally:
        await db.dispose()
    print(f"database is at revision {revision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

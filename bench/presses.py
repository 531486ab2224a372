"""Button presses end to end: what one press costs Closer next to a bare bot, in the same run.

    .venv/bin/python -m bench.presses [--presses 2000] [--repeat 2] [--concurrent-updates N]

Each burst queues ``--presses`` ``callback_query`` updates at once in the Telegram stand-in (a
process of its own, over loopback HTTP), and the bot under test fetches them with getUpdates
(python-telegram-bot's Updater, long polling) and handles them, aiohttp transport, until the
stand-in has seen every query answered and every message edited. Three bots, each repeat:

- bare: a python-telegram-bot Application whose CallbackQueryHandler answers the query and edits
  the message; no database;
- typical: the same plus a synchronous sqlite3 read, write and commit in the handler;
- the same two again with Closer's messages: the pressed message is a nudge (its HTML text and
  keyboard) and the edit shows the nudge's "Tried it" menu. Telegram answers an edit with the
  whole message, and python-telegram-bot parses it and the pressed message into objects, so a
  press on a nudge costs any bot more than a press on "A message" (about 0.2–0.3 ms more here):
  these peers do the same Telegram work as Closer, the first two the issue's original work;
- Closer: ``build_application`` on a fresh SQLite file, seeded with the users (bench.common) and
  sent a real nudge each by its own dispatcher; then a "Tried it" burst (opens the outcome menu)
  and a "Went well" burst (records the outcome) on those nudges. The outcomes recorded in the
  database are counted after the run, so refused (stale) presses would show.

Prints presses per second, the bot process's CPU per press (all its threads, aiosqlite's
included; the stand-in is not counted), the stand-in's, and how busy the rest of the machine was
("others": cores used by other processes meanwhile; on a 2-core machine anything above a few
hundredths takes CPU from the run). Ratios compare Closer with the bare and typical bots of the
same repeat, for both message sizes. ``--concurrent-updates N`` builds every bot with
python-telegram-bot's ``concurrent_updates(N)`` and counts "database is locked" errors in
Closer's logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
)

from bench.common import (
    FIRST_ID,
    StandInProcess,
    machine_cpu_seconds,
    seeded_database,
    send_due_nudges,
    standin_process,
)
from bench.standin_server import TOKEN
from bot.app import build_application
from bot.config import Settings
from bot.logs import configure_logging
from bot.nudges import Menu, render_nudge
from bot.polling import UpdatePoller
from bot.services import Services
from bot.transport import AiohttpRequest
from content import load_library

TRIED = "Tried it"  # pressed on the button whose label holds this text
WENT_WELL = "Went well"
PRESS = "Press"
_KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton(PRESS, callback_data="press")]])
STALL_SECONDS = 30.0  # give up on a burst when nothing was answered for this long
Screen = tuple[str, InlineKeyboardMarkup]


def _nudge_screens() -> tuple[Screen, Screen]:
    """Closer's messages for the peers: a nudge with a "Press" button above its own keyboard,
    and the same nudge open on its "Tried it" menu (what Closer's "Tried it" press shows)."""
    item = next(item for item in load_library().all_items() if item.kind != "insight")
    text, keyboard = render_nudge(item, 1)
    menu_text, menu = render_nudge(item, 1, menu=Menu.TRIED)
    assert keyboard is not None and menu is not None
    rows = [[InlineKeyboardButton(PRESS, callback_data="press")], *keyboard.inline_keyboard]
    return (text, InlineKeyboardMarkup(rows)), (menu_text, menu)


@dataclass
class Burst:
    """One burst's figures."""

    bot: str
    presses: int
    answered: int
    edited: int
    refused: int
    wall: float
    cpu: float
    server: float
    others: float

    @property
    def rate(self) -> float:
        return self.answered / self.wall

    @property
    def cpu_ms(self) -> float:
        return self.cpu / max(self.answered, 1) * 1000

    @property
    def server_ms(self) -> float:
        return self.server / max(self.answered, 1) * 1000


class _LockedCounter(logging.Filter):
    """Counts log records that carry "database is locked" (in the event or the exception chain)
    and errors overall; lets only the first locked one through to stderr."""

    def __init__(self) -> None:
        super().__init__()
        self.locked = 0
        self.errors = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        texts = [str(record.msg)]
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            texts.append(str(error))
            error = error.__cause__ or error.__context__
        if any("database is locked" in text for text in texts):
            self.locked += 1
            return self.locked == 1
        return True


class _Control:
    """The stand-in's bench endpoints (bench/standin_server.py)."""

    def __init__(self, session: aiohttp.ClientSession, standin: StandInProcess) -> None:
        self.session = session
        self.root = standin.url_root

    async def press(self, label: str, count: int) -> int:
        body = {"label": label, "first_id": FIRST_ID, "count": count}
        async with self.session.post(f"{self.root}/_bench/press", json=body) as response:
            result: dict[str, int] = await response.json()
        return result["pressed"]

    async def progress(self, target: int, timeout: float) -> dict[str, int]:  # noqa: ASYNC109
        query = {"answers": target, "edits": target, "timeout": timeout}
        async with self.session.get(f"{self.root}/_bench/progress", params=query) as response:
            result: dict[str, int] = await response.json()
        return result


async def burst(
    control: _Control, standin: StandInProcess, bot: str, label: str, count: int
) -> Burst:
    """Queue ``count`` presses on ``label`` at once; wait until all are answered and edited."""
    wall, cpu = time.perf_counter(), time.process_time()
    server, machine = standin.cpu_seconds(), machine_cpu_seconds()
    pressed = await control.press(label, count)
    if pressed == 0:
        raise RuntimeError(f"{bot}: no message has a button {label!r}")
    last = -1
    while True:
        progress = await control.progress(pressed, timeout=STALL_SECONDS)
        if progress["answers"] >= pressed:
            if progress["edits"] < pressed:  # answered, but some presses edited nothing
                progress = await control.progress(pressed, timeout=2.0)
            break
        if progress["answers"] == last:
            break  # stalled: report what was answered
        last = progress["answers"]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server = standin.cpu_seconds() - server
    others = max(machine_cpu_seconds() - machine - cpu - server, 0.0) / wall
    return Burst(
        bot=bot,
        presses=pressed,
        answered=progress["answers"],
        edited=progress["edits"],
        refused=progress["refused"],
        wall=wall,
        cpu=cpu,
        server=server,
        others=others,
    )


@contextlib.asynccontextmanager
async def polling(
    application: Application[Any, Any, Any, Any, Any, Any], *, closer: bool = False
) -> AsyncIterator[None]:
    """Run ``application`` (already initialized) with long polling: python-telegram-bot's
    Updater for the peers, Closer's own poller (``bot.polling``, as ``closer run`` uses) for
    Closer."""
    await application.start()
    if closer:
        stop = asyncio.Event()
        task = asyncio.create_task(UpdatePoller(application, timeout=10).run(stop))
        try:
            yield
        finally:
            stop.set()
            await task
            await application.stop()
        return
    assert application.updater is not None
    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=10)
    try:
        yield
    finally:
        await application.updater.stop()
        await application.stop()


def _requests(builder: Any) -> Any:
    return builder.request(AiohttpRequest()).get_updates_request(
        AiohttpRequest(connection_pool_size=1)
    )


async def run_plain(
    control: _Control,
    standin: StandInProcess,
    folder: Path,
    count: int,
    *,
    typical: bool,
    concurrent: int,
    nudges: bool = False,
) -> Burst:
    """The bare Application, or with ``typical`` the one with a sqlite3 read + write + commit;
    ``nudges``: pressing and editing Closer's messages rather than small ones."""
    if nudges:
        sent, edited = _nudge_screens()
    else:
        sent, edited = ("A message", _KEYBOARD), ("Pressed", _KEYBOARD)
    database: sqlite3.Connection | None = None
    if typical:
        database = sqlite3.connect(folder / f"typical-{time.monotonic_ns()}.sqlite3")
        database.execute("PRAGMA journal_mode = WAL")
        database.execute("PRAGMA synchronous = NORMAL")
        database.execute("CREATE TABLE users (telegram_id INTEGER PRIMARY KEY, presses INTEGER)")
        database.execute(
            "CREATE TABLE presses (id INTEGER PRIMARY KEY, telegram_id INTEGER, data TEXT, at TEXT)"
        )
        database.executemany(
            "INSERT INTO users VALUES (?, 0)", ((FIRST_ID + i,) for i in range(count))
        )
        database.commit()

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        if database is not None:
            row = database.execute(
                "SELECT presses FROM users WHERE telegram_id = ?", (query.from_user.id,)
            ).fetchone()
            assert row is not None
            database.execute(
                "INSERT INTO presses (telegram_id, data, at) VALUES (?, ?, ?)",
                (query.from_user.id, query.data, datetime.now(UTC).isoformat()),
            )
            database.execute(
                "UPDATE users SET presses = presses + 1 WHERE telegram_id = ?",
                (query.from_user.id,),
            )
            database.commit()
        await query.answer("Saved ✓")
        text = f"Pressed ({query.id[-6:]})" if not nudges else edited[0]
        await query.edit_message_text(text, reply_markup=edited[1])

    builder = _requests(ApplicationBuilder().token(TOKEN).base_url(f"{standin.url_root}/bot"))
    if nudges:
        builder = builder.defaults(Defaults(parse_mode=ParseMode.HTML))
    if concurrent:
        builder = builder.concurrent_updates(concurrent)
    application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    application.add_handler(CallbackQueryHandler(on_press))
    bot = ("typical" if typical else "bare") + (" (nudges)" if nudges else "")
    try:
        async with application:
            for start in range(0, count, 250):
                chats = range(FIRST_ID + start, FIRST_ID + min(start + 250, count))
                await asyncio.gather(
                    *(application.bot.send_message(c, sent[0], reply_markup=sent[1]) for c in chats)
                )
            async with polling(application):
                return await burst(control, standin, bot, PRESS, count)
    finally:
        if database is not None:
            database.close()


@contextlib.contextmanager
def _concurrent_builds(updates: int) -> Iterator[None]:
    """Every ApplicationBuilder.build() in the block sets concurrent_updates(updates):
    build_application has no parameter for it."""
    original = ApplicationBuilder.build

    def build(self: Any) -> Any:
        return original(self.concurrent_updates(updates))

    ApplicationBuilder.build = build  # type: ignore[method-assign]
    try:
        yield
    finally:
        ApplicationBuilder.build = original  # type: ignore[method-assign]


async def run_closer(
    control: _Control, standin: StandInProcess, folder: Path, count: int, *, concurrent: int
) -> tuple[Burst, Burst, int]:
    """Closer's "Tried it" and "Went well" bursts on nudges it sent; and the outcomes recorded."""
    db, path, _ = await seeded_database(folder, "closer", count)
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_base_url=standin.url_root,
        database_url=db.url,
        rate_limit=False,
    )
    services = Services(settings=settings, db=db, library=load_library())
    with _concurrent_builds(concurrent) if concurrent else contextlib.nullcontext():
        application = build_application(
            services,
            request=AiohttpRequest(),
            updates_request=AiohttpRequest(connection_pool_size=1),
        )
    try:
        async with application:
            await send_due_nudges(application, services, count)
            async with polling(application, closer=True):
                tried = await burst(control, standin, "Closer", TRIED, count)
                went = await burst(control, standin, "Closer", WENT_WELL, count)
    finally:
        await db.dispose()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        (recorded,) = connection.execute(
            "SELECT count(*) FROM outbox WHERE response = 'went_well'"
        ).fetchone()
    return tried, went, int(recorded)


def _line(name: str, runs: list[Burst]) -> str:
    rates = ", ".join(f"{run.rate:,.0f}/s" for run in runs)
    cpus = ", ".join(f"{run.cpu_ms:.2f}" for run in runs)
    server = ", ".join(f"{run.server_ms:.2f}" for run in runs)
    others = ", ".join(f"{run.others:.2f}" for run in runs)
    problems = [
        f"{run.presses - run.answered} unanswered, {run.presses - run.edited} unedited,"
        f" {run.refused} calls refused"
        for run in runs
        if run.answered < run.presses or run.edited < run.presses or run.refused
    ]
    note = f"  [{'; '.join(problems)}]" if problems else ""
    return (
        f"  {name:37} {rates:16} CPU ms/press: {cpus:11}"
        f" (stand-in: {server}; others: {others}){note}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presses", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--concurrent-updates",
        type=int,
        default=0,
        metavar="N",
        help="build every bot with python-telegram-bot's concurrent_updates(N) (default: off)",
    )
    args = parser.parse_args()
    configure_logging("WARNING")
    counter = _LockedCounter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(counter)
    count, concurrent = args.presses, args.concurrent_updates
    peers: dict[tuple[bool, bool], list[Burst]] = {
        (typical, nudges): [] for nudges in (False, True) for typical in (False, True)
    }
    tried: list[Burst] = []
    went: list[Burst] = []
    recorded: list[int] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, standin_process(count) as standin:
        async with aiohttp.ClientSession() as session:
            control = _Control(session, standin)
            for _ in range(args.repeat):
                for (typical, nudges), runs in peers.items():
                    runs.append(
                        await run_plain(
                            control,
                            standin,
                            Path(folder),
                            count,
                            typical=typical,
                            concurrent=concurrent,
                            nudges=nudges,
                        )
                    )
                closer = await run_closer(
                    control, standin, Path(folder), count, concurrent=concurrent
                )
                tried.append(closer[0])
                went.append(closer[1])
                recorded.append(closer[2])
    mode = f"concurrent_updates({concurrent})" if concurrent else "updates one at a time"
    print(
        f"button presses: {count}-press bursts of callback_query updates via getUpdates,"
        f" loopback HTTP, aiohttp, SQLite, {mode}"
    )
    print(
        f"  {os.cpu_count()} cores; CPU: the bot process's per press; 'others': cores used by"
        f" other processes during the burst; {args.repeat} repeat(s) in"
        f" {time.perf_counter() - started:.0f} s"
    )
    names = {
        (False, False): "bare PTB (answer + edit)",
        (True, False): "typical (+ sqlite3 read/write/commit)",
        (False, True): "bare PTB, on nudges",
        (True, True): "typical, on nudges",
    }
    for key, runs in peers.items():
        print(_line(names[key], runs))
    print(_line('Closer "Tried it" (opens the menu)', tried))
    print(_line('Closer "Went well" (records it)', went))
    accepted = ", ".join(f"{run.presses}/{count}" for run in went)
    print(f'  "Tried it" presses accepted (a "Went well" button to press): {accepted}')
    stored = ", ".join(f"{r}/{count}" for r in recorded)
    print(f'  "Went well" outcomes recorded in the database: {stored}')
    for nudges, label in ((False, "small messages"), (True, "on nudges")):
        bare, typical_runs = peers[(False, nudges)], peers[(True, nudges)]
        print(f"  against the peers with {label}:")
        for name, runs in (('"Tried it"', tried), ('"Went well"', went)):
            to_bare = ", ".join(f"{c.rate / b.rate:.2f}" for c, b in zip(runs, bare, strict=True))
            to_typical = ", ".join(
                f"{c.rate / t.rate:.2f}" for c, t in zip(runs, typical_runs, strict=True)
            )
            cpu = ", ".join(f"{c.cpu_ms / b.cpu_ms:.1f}x" for c, b in zip(runs, bare, strict=True))
            print(
                f"    Closer {name:12} presses/s vs bare: {to_bare}; vs typical: {to_typical};"
                f" CPU per press vs bare: {cpu}"
            )
    if concurrent:
        locked, errors = counter.locked, counter.errors
        print(f'  "database is locked" in the logs: {locked} (errors logged: {errors})')
    elif counter.errors:
        print(f"  errors logged: {counter.errors}")


if __name__ == "__main__":
    from bot.cli import run_async

    run_async(main())  # the same event loop as `closer run` (uvloop where installed)

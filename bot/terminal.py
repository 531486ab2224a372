"""`closer try`: meet Closer in the terminal, no bot token and no network needed.

The real Application, handlers, database code and scheduler run against the Telegram stand-in in
this process; only the phone is replaced, by this module: it shows the bot's messages (formatting
rendered with rich), numbers the buttons and poll options, saves documents to files, and turns
what the person types into Telegram updates (text, a command, or a number to press a button).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.standin import TelegramStandIn, UserActor
from bot.standin.models import ChatMessage

if TYPE_CHECKING:
    from bot.storage.db import Database

USER_ID = 1
QUIT_WORDS = ("/quit", "/exit")

# Telegram entity type -> rich style.
_STYLES = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "code": "cyan",
    "pre": "cyan",
    "spoiler": "reverse",
    "blockquote": "italic dim",
    "expandable_blockquote": "italic dim",
    "text_link": "underline blue",
    "url": "underline blue",
}


def _utf16_to_index(text: str) -> list[int]:
    """For each UTF-16 offset, the Python string index it falls on."""
    mapping: list[int] = []
    for index, char in enumerate(text):
        mapping.extend([index] * (2 if ord(char) > 0xFFFF else 1))
    mapping.append(len(text))
    return mapping


def render_message_text(text: str, entities: list[dict[str, Any]]) -> Text:
    """A message's text with its entities as rich styles."""
    rendered = Text(text)
    positions = _utf16_to_index(text)
    for entity in entities:
        style = _STYLES.get(str(entity.get("type")))
        if style is None:
            continue
        start = int(entity.get("offset", 0))
        end = start + int(entity.get("length", 0))
        if start >= len(positions) or end >= len(positions) + 1:
            continue
        rendered.stylize(style, positions[start], positions[min(end, len(positions) - 1)])
    return rendered


@dataclass
class _Seen:
    edits: int
    keyboard: list[list[tuple[str, str | None]]]


@dataclass
class TerminalPhone:
    """The person's side of the chat, drawn on a console."""

    standin: TelegramStandIn
    user: UserActor
    console: Console
    clock: Callable[[], datetime]
    downloads: Path
    # Her time zone as stored (None: not chosen yet); asked before new messages are drawn, so
    # the panels show the time she lives in, as the bot speaks it.
    her_zone: Callable[[], Awaitable[str | None]] | None = None
    zone: str = "UTC"
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _choices: dict[int, tuple[str, int, Any]] = field(default_factory=dict)
    _next: int = 1
    _answers_from: int = 0

    def _stamp(self) -> str:
        """The schedule's time in her zone: "Sun 08 Mar 2026, 20:00 EDT" (or "UTC+05:30")."""
        try:
            local = self.clock().astimezone(ZoneInfo(self.zone))
        except (ZoneInfoNotFoundError, ValueError):
            local = self.clock()
        name = local.tzname() or ""
        if not name.isalpha():  # zones without an abbreviation name themselves "+0530"
            name = "UTC" + local.isoformat()[-6:]
        return f"{local:%a %d %b %Y, %H:%M} {name}"

    def has_news(self) -> bool:
        """Whether a bot message is new or was edited since the last ``refresh``."""
        return any(self._news(message) for message in self.user.messages)

    def _news(self, message: ChatMessage) -> bool:
        seen = self._seen.get(message.message_id)
        return seen is None or len(message.edits) != seen.edits or message.keyboard != seen.keyboard

    async def learn_zone(self) -> None:
        """Read her time zone again (she may have just chosen or changed it)."""
        if self.her_zone is not None:
            self.zone = await self.her_zone() or "UTC"

    def refresh(self) -> None:
        """Draw every new or edited bot message since the last call."""
        for message in self.user.messages:
            if self._news(message):
                self._draw(message, edited=message.message_id in self._seen)

    def _number(self, message_id: int, kind: str, value: Any) -> int:
        """A number for one button or poll option. Numbers only grow: one shown once keeps
        meaning the same button, so a message arriving while she types never moves them."""
        number = self._next
        self._next += 1
        self._choices[number] = (kind, message_id, value)
        return number

    def _close(self, message_id: int) -> None:
        """Forget the numbers of a message whose buttons are gone or whose poll is answered."""
        for number in [n for n, (_, mid, _) in self._choices.items() if mid == message_id]:
            del self._choices[number]

    def _draw(self, message: ChatMessage, *, edited: bool) -> None:
        self._seen[message.message_id] = _Seen(len(message.edits), message.keyboard)
        self._close(message.message_id)
        title = f"Closer · {self._stamp()}" + (" · edited" if edited else "")
        body: Text
        if message.poll is not None:
            body = Text(message.poll.question, style="bold")
            for index, option in enumerate(message.poll.options):
                number = self._number(message.message_id, "poll", [index])
                body.append(f"\n  [{number}] ", style="bold magenta")
                body.append(option)
            body.append("\n(type a number to answer)", style="dim")
        elif message.photo is not None:
            name = f"closer-progress-{message.message_id}.png"
            path = self.downloads / name
            path.write_bytes(message.photo.content or b"")
            body = render_message_text(message.caption or "", message.caption_entities)
            body.append(f"\n🖼 chart saved to {path}", style="green")
        elif message.document is not None:
            name = message.document.filename or f"document-{message.message_id}"
            path = self.downloads / Path(name).name
            path.write_bytes(message.document.content or b"")
            body = render_message_text(message.caption or "", message.caption_entities)
            body.append(f"\n📎 saved to {path}", style="green")
        else:
            body = render_message_text(message.text or "", message.entities)
            for row in message.keyboard:
                line = Text("\n")
                for label, data in row:
                    number = self._number(message.message_id, "button", (label, data))
                    line.append(f" [{number}] ", style="bold magenta")
                    line.append(label)
                body.append_text(line)
        self.console.print(Panel(body, title=title, title_align="left", border_style="cyan"))

    async def handle_line(self, line: str) -> bool:
        """Act on one typed line; False when the person wants to leave.

        A number shown beside a button or poll option presses it; anything else (a time like
        0730 included) is sent as a message.
        """
        text = line.strip()
        if not text:
            return True
        if text.lower() in QUIT_WORDS:
            return False
        choice = self._choices.get(int(text)) if text.isascii() and text.isdigit() else None
        if choice is None:
            await self.user.send(text)
            return True
        kind, message_id, value = choice
        if kind == "poll":
            await self.user.answer_poll(message_id, value)
            self.console.print("[dim]✓ answered[/dim]")
            self._close(message_id)
            return True
        _label, data = value
        if data is None:
            self.console.print("[dim]That button opens a link; nothing to press.[/dim]")
            return True
        await self.user.press_data(message_id, data)
        return True

    def toasts(self) -> None:
        """Show the short answers to button presses (Telegram's toast)."""
        answers = self.standin.callback_answers[self._answers_from :]
        for answer in answers:
            text = getattr(answer, "text", None)
            if text:
                self.console.print(f"[italic yellow]  {text}[/italic yellow]")
        self._answers_from = len(self.standin.callback_answers)


def start_reader(stream: TextIO, queue: asyncio.Queue[str | None]) -> threading.Thread:
    """Feed typed lines into a queue (None at end of input) from a daemon thread.

    A daemon thread, not the loop's executor: a read blocked on a terminal must not keep the
    process alive after /quit (asyncio.run waits for executor threads, never for daemons).
    """
    loop = asyncio.get_running_loop()

    def pump() -> None:
        while True:
            try:
                line = stream.readline()
            except (OSError, ValueError):
                line = ""
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line or None)
            except RuntimeError:  # the loop is closed: we are leaving anyway
                return
            if not line:
                return

    thread = threading.Thread(target=pump, name="closer-try-stdin", daemon=True)
    thread.start()
    return thread


def default_downloads() -> Path:
    return Path(tempfile.gettempdir()) / "closer-try"


def stdin_or(stream: TextIO | None) -> TextIO:
    return stream if stream is not None else sys.stdin


async def drive(
    phone: TerminalPhone,
    stream: TextIO,
    stop: asyncio.Event,
    *,
    refresh_seconds: float = 0.1,
) -> None:
    """The terminal loop: draw what arrives, act on what is typed, until /quit or end of input."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    start_reader(stream, queue)
    try:
        while not stop.is_set():
            if phone.has_news():
                await phone.learn_zone()
            phone.refresh()
            phone.toasts()
            try:
                line = await asyncio.wait_for(queue.get(), timeout=refresh_seconds)
            except TimeoutError:
                continue
            if line is None or not await phone.handle_line(line):
                break
        # let the last replies arrive before leaving
        await asyncio.sleep(refresh_seconds)
        if phone.has_news():
            await phone.learn_zone()
        phone.refresh()
        phone.toasts()
    finally:
        stop.set()


async def her_zone(db: Database) -> str | None:
    """The time zone the person in the terminal chose (None before she is known)."""
    from sqlalchemy import Connection

    from bot.storage.repositories import UserNotFound, settings_of, user_by_telegram_id

    def zone(conn: Connection) -> str | None:
        user = user_by_telegram_id(conn, USER_ID)
        if user is None:
            return None
        try:
            return settings_of(conn, user.id).timezone
        except UserNotFound:
            return None

    return await db.run_read(zone)


DEFAULT_SPEED = 3600.0  # an hour a second: a day of the schedule in 24 seconds


async def run_try(
    *,
    speed: float = DEFAULT_SPEED,
    db_path: Path | None = None,
    stream: TextIO | None = None,
    console: Console | None = None,
    downloads: Path | None = None,
    language: str = "en",
) -> int:
    """Run Closer against an in-process stand-in and chat with it in the terminal, as someone
    whose Telegram is in ``language`` (``closer try --lang es``)."""
    from bot.app import build_application
    from bot.config import Settings
    from bot.runner import open_services, run_application
    from bot.standin import DEFAULT_TOKEN, StandInRequest
    from bot.storage import handled
    from scheduler.clock import ScaledClock

    console = console or Console(highlight=False)
    clock = ScaledClock(speed)
    with tempfile.TemporaryDirectory(prefix="closer-try-") as scratch:
        database = db_path if db_path is not None else Path(scratch) / "closer.sqlite3"
        settings = Settings(
            _env_file=None,
            telegram_bot_token=DEFAULT_TOKEN,
            database_url=f"sqlite:///{database}",
            log_level="WARNING",
            clock_speed=speed,
            # The in-process stand-in has no flood control, and Telegram's one message a
            # second per chat is an hour of this clock: paced, the five-minute timer's edits
            # would stretch over hours of her time.
            rate_limit=False,
        )
        # Telegram's own clock stays real: a press must be answered within 15 real minutes,
        # however fast the schedule runs. The panels show the schedule's (virtual) time, in
        # her zone once she has chosen it.
        services = await open_services(settings)
        # A kept conversation's updates were handled by id: the stand-in numbers on after them,
        # as Telegram does.
        first_update_id = (await handled.newest(services.db) or 0) + 1
        standin = TelegramStandIn(token=DEFAULT_TOKEN, first_update_id=first_update_id)
        services = type(services)(
            settings=services.settings, db=services.db, library=services.library, clock=clock
        )
        folder = downloads or default_downloads()
        folder.mkdir(parents=True, exist_ok=True)
        phone = TerminalPhone(
            standin=standin,
            user=standin.user(user_id=USER_ID, first_name="You", language_code=language),
            console=console,
            clock=clock,
            downloads=folder,
            her_zone=lambda: her_zone(services.db),
        )
        console.print(
            Panel(
                Text.assemble(
                    ("Closer, in your terminal. ", "bold"),
                    f"The schedule runs {speed:g}× faster than real time, so nudges and the "
                    "weekly check-in arrive while you watch.\n",
                    "Type a message or a command (/start to begin, /help for more), or a number "
                    "to press a button or answer a poll. /quit or Ctrl-C leaves.\n",
                    (
                        f"Conversation kept in {database}"
                        if db_path is not None
                        else "A throwaway database: use --db PATH to keep the conversation.",
                        "dim",
                    ),
                ),
                border_style="magenta",
            )
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        application = build_application(
            services, request=StandInRequest(standin), updates_request=StandInRequest(standin)
        )
        driver: asyncio.Task[None] | None = None

        async def started() -> None:
            nonlocal driver
            driver = asyncio.create_task(drive(phone, stdin_or(stream), stop))

        try:
            await run_application(application, stop, poll_timeout=1.0, on_started=started)
        finally:
            stop.set()
            if driver is not None:
                await driver
            await services.db.dispose()
    console.print("Bye for now. 💛")
    return 0

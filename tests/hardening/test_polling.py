"""Closer's own polling loop (`bot.polling.UpdatePoller`) against the stand-in.

- an update is confirmed (the next getUpdates offset) only after its handler finished;
- one update python-telegram-bot cannot parse is skipped, counted and logged by id only, and
  the others of its batch are handled;
- failed fetches (5xx, flood control) are retried with one log line each;
- one user's updates are handled in order, different users' concurrently.

The malformed update is made by a small test-only request (`MalformingRequest`): it passes every
call to the stand-in and rewrites one update of a getUpdates answer into a `my_chat_member` that
lacks its required fields, as a Bot API change could.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import structlog
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import BaseRequest, RequestData

from bot.logs import configure_logging
from bot.polling import UpdatePoller
from bot.standin import StandInRequest, TelegramStandIn, faults

os.environ["PTB_TIMEDELTA"] = "1"

SECRET_TEXT = "zq-private-note-he-went-quiet"

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]


class MalformingRequest(StandInRequest):
    """The stand-in's request layer, except that an update whose message text is ``target``
    arrives malformed: a `my_chat_member` whose members lack their status (python-telegram-bot
    raises TypeError on it), the text still inside."""

    __slots__ = ("malformed_ids", "target")

    def __init__(self, standin: TelegramStandIn, target: str) -> None:
        super().__init__(standin)
        self.target = target
        self.malformed_ids: list[int] = []

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, body = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if not url.endswith("/getUpdates") or code != 200:
            return code, body
        answer = json.loads(body)
        for position, update in enumerate(answer["result"]):
            if update.get("message", {}).get("text") == self.target:
                self.malformed_ids.append(update["update_id"])
                sender = update["message"]["from"]
                member = {"user": sender, "note": self.target}  # no "status": unparseable
                answer["result"][position] = {
                    "update_id": update["update_id"],
                    "my_chat_member": {
                        "chat": update["message"]["chat"],
                        "from": sender,
                        "date": update["message"]["date"],
                        "old_chat_member": member,
                        "new_chat_member": member,
                    },
                }
        return code, json.dumps(answer).encode()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Closer's logging into a string; the global logging state restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)


@asynccontextmanager
async def polling(
    standin: TelegramStandIn,
    handler: Handler,
    *,
    request: StandInRequest | None = None,
    **poller_args: Any,
) -> AsyncIterator[tuple[Application[Any, Any, Any, Any, Any, Any], UpdatePoller]]:
    """A bare Application with one handler for every update, polled by an UpdatePoller."""
    app = (
        ApplicationBuilder()
        .token(standin.token)
        .request(StandInRequest(standin))
        .get_updates_request(request or StandInRequest(standin))
        .updater(None)
        .build()
    )
    app.add_handler(TypeHandler(Update, handler))
    stop = asyncio.Event()
    async with app:
        await app.start()
        poller = UpdatePoller(app, timeout=1, first_backoff=0.05, **poller_args)
        task = asyncio.create_task(poller.run(stop))
        try:
            yield app, poller
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await app.stop()


def offsets(standin: TelegramStandIn) -> list[int]:
    return [int(call.params.get("offset", 0)) for call in standin.calls_to("getUpdates")]


async def test_an_update_is_confirmed_only_after_its_handler_finished() -> None:
    standin = TelegramStandIn()
    user = standin.user(7)
    release = asyncio.Event()
    began = asyncio.Event()  # the stand-in cannot tell when a handler starts: the handler does
    started: list[int] = []

    async def slow(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        started.append(update.update_id)
        began.set()
        await release.wait()

    async with polling(standin, slow):
        await user.send("first")
        await asyncio.wait_for(began.wait(), 5)
        await asyncio.sleep(0.3)  # time for the Updater to have confirmed it, as it used to
        assert max(offsets(standin)) <= started[0], "confirmed while still being handled"
        release.set()
        await standin.wait_until(lambda: max(offsets(standin)) == started[0] + 1)
    assert standin.pending_updates == []


async def test_a_crash_before_the_handler_finished_delivers_the_update_again() -> None:
    standin = TelegramStandIn()
    user = standin.user(8)
    seen: list[int] = []
    began = asyncio.Event()
    never = asyncio.Event()

    async def stuck(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)
        began.set()
        await never.wait()

    # The "crash": the first poller is abandoned mid-handler (its task cancelled).
    app = (
        ApplicationBuilder()
        .token(standin.token)
        .request(StandInRequest(standin))
        .get_updates_request(StandInRequest(standin))
        .updater(None)
        .build()
    )
    app.add_handler(TypeHandler(Update, stuck))
    async with app:
        task = asyncio.create_task(UpdatePoller(app, timeout=1).run(asyncio.Event()))
        await user.send("a note that must not be lost")
        await asyncio.wait_for(began.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    handled: list[int] = []
    again = asyncio.Event()

    async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.append(update.update_id)
        again.set()

    async with polling(standin, record):
        await asyncio.wait_for(again.wait(), 5)
    assert handled == seen


async def test_an_unparseable_update_is_skipped_counted_and_logged_by_id_only(
    log_stream: io.StringIO,
) -> None:
    standin = TelegramStandIn()
    user = standin.user(9)
    request = MalformingRequest(standin, SECRET_TEXT)
    handled: list[str] = []

    async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        handled.append(update.effective_message.text or "")

    await user.send("before")
    await user.send(SECRET_TEXT)
    await user.send("after")
    async with polling(standin, record, request=request) as (_, poller):
        await standin.wait_until(lambda: len(handled) == 2)
        await standin.wait_until(lambda: standin.pending_updates == [])
        await user.send("later")  # polling goes on
        await standin.wait_until(lambda: len(handled) == 3)
    assert handled == ["before", "after", "later"]
    assert poller.stats.unparseable == 1
    assert poller.stats.batches >= 2
    logged = log_stream.getvalue()
    assert f"event='update_unparseable' update_id={request.malformed_ids[0]}" in logged
    assert SECRET_TEXT not in logged
    assert "Received data" not in logged


async def test_a_batch_that_cannot_be_parsed_at_all_does_not_wedge_polling() -> None:
    standin = TelegramStandIn()
    user = standin.user(10)
    request = MalformingRequest(standin, SECRET_TEXT)
    handled: list[int] = []

    async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.append(update.update_id)

    for _ in range(3):
        await user.send(SECRET_TEXT)
    async with polling(standin, record, request=request) as (_, poller):
        await standin.wait_until(lambda: standin.pending_updates == [])
        await user.send("fine")
        await standin.wait_until(lambda: len(handled) == 1)
    assert poller.stats.unparseable == 3
    assert len(standin.calls_to("getUpdates")) < 20  # not the same batch fetched again and again


@pytest.mark.parametrize(
    "fault", [faults.ServerError(502), faults.ServerError(500), faults.RetryAfter(1)], ids=repr
)
async def test_failed_fetches_are_retried_with_one_line_each(
    log_stream: io.StringIO, fault: faults.Fault
) -> None:
    standin = TelegramStandIn()
    user = standin.user(11)
    handled = asyncio.Event()

    async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.set()

    standin.inject_fault("getUpdates", fault, times=2)
    await user.send("hello")
    async with polling(standin, record) as (_, poller):
        await asyncio.wait_for(handled.wait(), 10)
    assert poller.stats.fetch_errors == 2
    failures = [line for line in log_stream.getvalue().splitlines() if "polling_failed" in line]
    assert len(failures) == 2
    assert "Traceback" not in log_stream.getvalue()
    assert "event='polling_resumed'" in log_stream.getvalue()


async def test_one_users_updates_in_order_different_users_concurrently() -> None:
    standin = TelegramStandIn()
    slow_user, other = standin.user(21), standin.user(22)
    order: list[str] = []
    release = asyncio.Event()

    async def handler(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        text = update.effective_message.text or ""
        if text == "slow-1":
            await release.wait()
        order.append(text)
        if text == "other-1":
            release.set()  # only reachable while slow-1 waits: the users run concurrently

    await slow_user.send("slow-1")
    await slow_user.send("slow-2")
    await other.send("other-1")
    async with polling(standin, handler):
        await standin.wait_until(lambda: len(order) == 3)
    assert order == ["other-1", "slow-1", "slow-2"]

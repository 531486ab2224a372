"""Fixtures: a stand-in, a real python-telegram-bot Bot on it, and a polling Application."""

from __future__ import annotations

import contextlib
import datetime as dtm
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import Application, BaseHandler, ContextTypes

from bot.standin import StandInRequest, TelegramStandIn

# retry_after as a timedelta, and no deprecation warning about it
os.environ["PTB_TIMEDELTA"] = "1"


class Clock:
    """A settable clock for message dates and callback-query ages."""

    def __init__(self) -> None:
        self.now = dtm.datetime(2025, 3, 1, 9, 0, tzinfo=dtm.UTC)

    def __call__(self) -> dtm.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dtm.timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def standin(clock: Clock) -> TelegramStandIn:
    return TelegramStandIn(clock=clock)


@pytest.fixture
async def bot(standin: TelegramStandIn) -> AsyncIterator[Bot]:
    real_bot = Bot(
        standin.token,
        request=StandInRequest(standin),
        get_updates_request=StandInRequest(standin),
    )
    async with real_bot:
        yield real_bot


AppFactory = Callable[
    ..., contextlib.AbstractAsyncContextManager[Application[Any, Any, Any, Any, Any, Any]]
]


@pytest.fixture
def running_app(standin: TelegramStandIn) -> AppFactory:
    """Start an Application with the given handlers on the real polling updater.

    In-process through StandInRequest, or with ``http=True`` and ``base_url`` over HTTP.

    Any handler error fails the test (process_update only logs them otherwise).
    """

    @contextlib.asynccontextmanager
    async def start(
        *handlers: BaseHandler[Any, Any, Any], base_url: str | None = None, http: bool = False
    ) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
        builder = Application.builder().token(standin.token)
        if base_url is not None:
            builder = builder.base_url(base_url)
        if not http:  # otherwise python-telegram-bot's default HTTPXRequest
            builder = builder.request(StandInRequest(standin)).get_updates_request(
                StandInRequest(standin)
            )
        app = builder.build()
        errors: list[object] = []

        async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
            errors.append(context.error)

        app.add_error_handler(on_error)
        for handler in handlers:
            app.add_handler(handler)
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=2))
            try:
                yield app
            finally:
                await app.updater.stop()
                await app.stop()
        assert not errors, f"handler errors: {errors!r}"

    return start

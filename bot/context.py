"""A typed CallbackContext so handlers reach the services without dictionary lookups."""

from __future__ import annotations

import contextlib
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, ExtBot

from bot import metrics
from bot.hearing.danger import Danger, check
from bot.logs import get_logger
from bot.services import Services
from bot.storage.handled import AlreadyHandled, handling

log = get_logger(__name__)

SERVICES_KEY = "closer.services"
DISPATCH_WAKE_KEY = "closer.dispatch_wake"
"""``bot_data`` key of the running dispatch loop's ``wake`` (set by ``start_dispatching``)."""


class CloserContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every Closer handler receives."""

    @property
    def services(self) -> Services:
        services = self.application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        return services

    def danger_in(self, text: str) -> Danger:
        """The danger check on a text of this update, run once however many handlers ask.

        python-telegram-bot hands every handler group the same context for an update, so the
        check that answered danger first (handler group -1) is not run again by the handler
        that answers the rest.
        """
        heard: tuple[str, Danger] | None = getattr(self, "_closer_heard", None)
        if heard is not None and heard[0] == text:
            return heard[1]
        found = check(text, self.services.locales)
        self._closer_heard = (text, found)
        return found


def wake_dispatcher(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Ask this process's dispatcher (if it runs here) to look for due rows now. Another
    process's dispatcher finds them at its next tick."""
    wake = application.bot_data.get(DISPATCH_WAKE_KEY)
    if callable(wake):
        wake()


class CloserApplication(
    Application[ExtBot[None], CloserContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
):
    """Closer's Application: each update is processed as one handling of its ``update_id``
    (``bot.storage.handled``), so the transaction runner records it with its first write and
    a second delivery takes no effect; that second delivery ends quietly."""

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        with handling(update.update_id):
            await super().process_update(update)

    async def process_error(
        self,
        update: object | None,
        error: Exception,
        job: Any = None,
        coroutine: Any = None,
    ) -> bool:
        """A second delivery stops the update's handlers here, without the error handlers:
        one log line with the update id, counted in /metrics; anything else as usual.

        A press delivered again is answered with nothing (no toast): the first delivery's
        answer may be what a crash lost, and Telegram shows the press pending until answered.
        """
        if isinstance(error, AlreadyHandled):
            log.info("update_duplicate", update_id=error.update_id)
            metrics.count_duplicate()
            if isinstance(update, Update) and update.callback_query is not None:
                with contextlib.suppress(TelegramError):  # answered already: nothing to add
                    await update.callback_query.answer()
            return True
        return await super().process_error(update, error, job, coroutine)

"""A typed CallbackContext so handlers reach the services without dictionary lookups."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, ExtBot

from bot import language, metrics
from bot.hearing.danger import Danger, check
from bot.logs import get_logger
from bot.metrics import update_kind
from bot.services import Services
from bot.set_aside import set_aside
from bot.storage.handled import HANDLING, AlreadyHandled, Handling, handling
from bot.storage.outage import Outage, storage_outage
from content import Library
from content.render import visible_text

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

    @property
    def library(self) -> Library:
        """The content in the language of the person this update comes from."""
        return self.services.library_in(language.CURRENT.get())

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


class StorageUnavailable(Exception):
    """Storage failed under this update: it must not be confirmed to Telegram (it comes
    again); the poller does not advance past it, the webhook answers 503."""

    def __init__(self, update_id: int, outage: Outage) -> None:
        super().__init__(f"update {update_id} not handled: {outage}")
        self.update_id = update_id
        self.outage = outage


class CloserApplication(
    Application[ExtBot[None], CloserContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
):
    """Closer's Application: each update is processed as one handling of its ``update_id``
    (``bot.storage.handled``), so the transaction runner records it with its first write and
    a second delivery takes no effect; that second delivery ends quietly.

    An update is confirmed only when its effect is durable or it was set aside:

    - storage failing under it (``bot.storage.outage``) ends it with :class:`StorageUnavailable`
      (not confirmed; it comes again), after one short word to her per outage that Closer
      cannot save right now and will by itself (a press gets it as its toast). Past the
      bound (``SET_ASIDE_AFTER_ATTEMPTS`` tries over ``SET_ASIDE_AFTER_SECONDS``) it is set
      aside instead, so that one misjudged update cannot hold up everyone behind it;
    - anything else a handler raises is a bug: the update is set aside (``bot.set_aside``),
      confirmed and counted, and the error handler tells her (kept to finish later, or, for a
      message with text, to send it again).
    """

    @property
    def _services(self) -> Services:
        services = self.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        return services

    @property
    def _library(self) -> Library:
        return self._services.library_in(language.CURRENT.get())

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        language.CURRENT.set(await self._language_of(update))
        with handling(update.update_id) as current:
            await super().process_update(update)
        await self._settle(update, current)

    async def _language_of(self, update: Update) -> str:
        services = self._services
        try:
            return await services.languages.of(update, services.tx)
        except Exception:  # storage is out: her Telegram's, and the handlers meet the outage
            user = update.effective_user
            return language.from_telegram(user.language_code if user else None)

    async def replay_update(self, update: Update) -> bool:
        """Run a set-aside update again (``closer set-aside replay``); whether it now ended
        without error."""
        language.CURRENT.set(await self._language_of(update))
        with handling(update.update_id, replay=True) as current:
            await super().process_update(update)
        if current.outage is not None:
            raise StorageUnavailable(update.update_id, current.outage)
        return not current.set_aside

    async def _settle(self, update: Update, current: Handling) -> None:
        watch = self._services.db.watch
        if current.outage is None:
            watch.done(update.update_id)
            return
        unavailable = StorageUnavailable(update.update_id, current.outage)
        if not watch.tried(update.update_id):
            raise unavailable
        try:  # past the bound: set aside, as a bug would be
            kept = await set_aside(self._services.db, update, unavailable, "outage", self._now())
        except Exception:
            raise unavailable from None
        watch.done(update.update_id)
        chat = update.effective_chat
        if not kept and chat is not None and chat.type == chat.PRIVATE:
            # She was told it would be saved by itself; what she wrote was not kept after all.
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(chat.id, self._library.render_text("error_reply"))
        log.error(
            "update_set_aside",
            update_id=update.update_id,
            kind=update_kind(update),
            reason="outage past the bound",
            outage=current.outage.reason,
        )

    def _now(self) -> datetime:
        return datetime.now(UTC)

    async def process_error(
        self,
        update: object | None,
        error: Exception,
        job: Any = None,
        coroutine: Any = None,
    ) -> bool:
        """A second delivery stops the update's handlers here, without the error handlers:
        one log line with the update id, counted in /metrics. A storage outage stops them
        too (see the class). Anything else sets the update aside, then goes to the error
        handlers as usual.

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
        current = HANDLING.get()
        if not isinstance(update, Update) or current is None:
            return await super().process_error(update, error, job, coroutine)
        outage = storage_outage(error)
        if outage is None:
            try:
                current.replayable = await set_aside(
                    self._services.db, update, error, "bug", self._now()
                )
                current.set_aside = True
            except Exception as exc:  # the row could not be written: not confirmed either
                outage = storage_outage(exc) or Outage("set-aside failed", type(exc).__name__)
            else:
                log.warning(
                    "update_set_aside",
                    update_id=update.update_id,
                    kind=update_kind(update),
                    reason="bug",
                    error_type=type(error).__name__,
                )
                return await super().process_error(update, error, job, coroutine)
        current.outage = outage
        self._services.db.watch.failed(outage)
        metrics.count_unconfirmed(outage.reason)
        log.warning(
            "update_unconfirmed",
            update_id=update.update_id,
            kind=update_kind(update),
            outage=outage.reason,
            code=outage.code,
        )
        await self._tell_waiting(update)
        return True

    async def _tell_waiting(self, update: Update) -> None:
        """Her one short word while storage is out: a press's toast; a message once per
        outage and chat."""
        chat = update.effective_chat
        if chat is None or chat.type != chat.PRIVATE:
            return
        library = self._library
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(
                    visible_text(library.render_text("storage_wait_toast"))
                )
            elif self._services.db.watch.first_word(chat.id):
                await self.bot.send_message(chat.id, library.render_text("storage_wait"))
        except TelegramError as exc:  # a press answered before (a try earlier); Telegram down
            log.info("storage_wait_not_sent", error=type(exc).__name__)

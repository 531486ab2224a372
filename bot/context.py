"""A typed CallbackContext so handlers reach the services without dictionary lookups."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.hearing.danger import Danger, check
from bot.services import Services

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


CloserApplication = Application[
    ExtBot[None], CloserContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]

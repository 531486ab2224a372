"""A typed CallbackContext so handlers reach the services without dictionary lookups."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import Services

SERVICES_KEY = "closer.services"


class CloserContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every Closer handler receives."""

    @property
    def services(self) -> Services:
        services = self.application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        return services


CloserApplication = Application[
    ExtBot[None], CloserContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]

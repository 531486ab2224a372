"""`build_application`: the one place that wires Closer's python-telegram-bot Application."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.context import SERVICES_KEY, CloserApplication, CloserContext
from bot.handlers import COMMANDS, register_handlers
from bot.handlers.errors import on_error
from bot.services import Services
from content.translations import LANGUAGES


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> CloserApplication:
    """Build (but do not start) the Application. Nothing here touches the network.

    `request` / `updates_request` replace python-telegram-bot's HTTP transport, e.g. with the
    Telegram stand-in's request object in tests and in `closer try`. Nothing is dispatched until
    `bot.delivery.start_dispatching` runs (`bot.runner` does), so tests can leave it out or tick
    a dispatcher by hand. Each handler is one unit of work (`bot.storage.uow`): a change to a
    schedule input replans that user's outbox rows in the same transaction. Each update takes
    effect once: `CloserApplication` processes it as one handling of its `update_id`.
    """
    settings = services.settings
    builder: Any = (
        ApplicationBuilder()
        .application_class(CloserApplication)
        .token(settings.require_token())
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_file_base_url)
        .context_types(ContextTypes(context=CloserContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .post_init(publish_commands)
    )
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    application: CloserApplication = builder.build()
    application.bot_data[SERVICES_KEY] = services
    register_handlers(application)
    application.add_error_handler(on_error)
    return application


async def publish_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the command menu so the phone shows it: English for everyone, and each other
    language's for the people whose Telegram is set to it (``language_code``)."""
    services = application.bot_data[SERVICES_KEY]
    for language in LANGUAGES:
        library = services.library_in(language)
        commands = [BotCommand(name, library.label(key)) for name, key in COMMANDS]
        await application.bot.set_my_commands(
            commands, language_code=None if language == "en" else language
        )

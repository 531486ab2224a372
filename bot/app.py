"""`build_application`: the one place that wires Closer's python-telegram-bot Application."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    TypeHandler,
)
from telegram.request import BaseRequest

from bot.callbacks import pattern
from bot.context import SERVICES_KEY, CloserApplication, CloserContext
from bot.delivery import PAUSE_OFFER, on_pause_offer
from bot.handlers import COMMANDS, register_handlers
from bot.handlers.errors import on_error
from bot.services import Services
from bot.storage.planning import replan_user
from bot.storage.repositories import UserRepository

# Handler groups around the feature handlers (group 0): the pause offer's button first, so the
# catch-all stale-button handler never sees it; replanning last, after whatever the update did.
PAUSE_OFFER_GROUP = -1
REPLAN_GROUP = 1


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    replan_after_updates: bool = True,
) -> CloserApplication:
    """Build (but do not start) the Application. Nothing here touches the network.

    `request` / `updates_request` replace python-telegram-bot's HTTP transport, e.g. with the
    Telegram stand-in's request object in tests and in `closer try`. Nothing is dispatched until
    `bot.delivery.start_dispatching` runs (`bot.runner` does), so tests can leave it out or tick
    a dispatcher by hand. `replan_after_updates` re-plans the sender's next nudges after every
    update (idempotent; a safety net under the handlers' own `replan_user` calls).
    """
    settings = services.settings
    builder: Any = (
        ApplicationBuilder()
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
        .post_init(_post_init)
    )
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    application: CloserApplication = builder.build()
    application.bot_data[SERVICES_KEY] = services
    register_handlers(application)
    application.add_handler(
        CallbackQueryHandler(on_pause_offer, pattern=pattern(PAUSE_OFFER)), group=PAUSE_OFFER_GROUP
    )
    if replan_after_updates:
        application.add_handler(TypeHandler(Update, replan_after_update), group=REPLAN_GROUP)
    application.add_error_handler(on_error)
    return application


async def replan_after_update(update: Update, context: CloserContext) -> None:
    """Bring the sender's planned nudges in line with whatever the update changed."""
    if update.effective_user is None:
        return
    services = context.services
    async with services.db.transaction() as session:
        user = await UserRepository(session).get_by_telegram_id(update.effective_user.id)
        if user is not None:
            await replan_user(session, user.id, services.clock())


async def publish_commands(application: CloserApplication) -> None:
    """Register the command menu so the phone shows it."""
    await application.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])


async def _post_init(application: CloserApplication) -> None:
    await publish_commands(application)

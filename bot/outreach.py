"""What Closer sends on its own initiative, apart from the handlers that answer her: an item
nudge prepared by a use case (the first nudge after onboarding, /tip, a test's), sent and then
recorded as the dispatcher records its own."""

from __future__ import annotations

from telegram import Bot

from bot.nudges import render_nudge
from bot.services import Services
from bot.storage.repositories import UserSnapshot
from bot.usecases import nudges
from bot.usecases.nudges import PreparedNudge
from content import Item


async def send_prepared(bot: Bot, services: Services, nudge: PreparedNudge) -> int:
    """Send a prepared nudge, then record it as the dispatcher would; its message id."""
    text, markup = render_nudge(nudge.item, nudge.outbox_id)
    message = await bot.send_message(nudge.chat_id, text, reply_markup=markup)
    await nudges.delivered(services.tx, nudge, message.message_id)
    return message.message_id


async def send_item_now(bot: Bot, services: Services, user: UserSnapshot, item: Item) -> int:
    """Send one content item to her as a nudge right away; its message id."""
    prepared = await nudges.send_now(services.tx, user, item)
    return await send_prepared(bot, services, prepared)

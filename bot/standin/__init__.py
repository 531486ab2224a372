"""The Telegram stand-in: an in-memory Bot API with Telegram's limits and errors.

Run the real bot against it in-process through python-telegram-bot's request layer::

    standin = TelegramStandIn()
    app = (
        Application.builder()
        .token(standin.token)
        .request(StandInRequest(standin))
        .get_updates_request(StandInRequest(standin))
        .build()
    )
    user = standin.user(user_id=42, first_name="Sam")
    await user.send("/start")
    reply = await user.next_message()

or over HTTP with :func:`serve_http` (``base_url=f"{url_root}/bot"``), which also pushes updates
to a webhook once the bot calls setWebhook (in-process: ``await standin.start_webhook_delivery()``).
The control API and webhook rules are described in :mod:`bot.standin.web`.
"""

from bot.standin import faults
from bot.standin.actors import GroupChat, UserActor
from bot.standin.entities import parse_html, parse_markdown_v2, utf16_len
from bot.standin.errors import ApiError
from bot.standin.models import (
    ApiCall,
    CallbackAnswer,
    Chat,
    ChatMessage,
    StoredFile,
    StoredPoll,
    WebhookAttempt,
)
from bot.standin.request import StandInRequest
from bot.standin.server import (
    DEFAULT_TOKEN,
    ApiResponse,
    RateLimits,
    TelegramStandIn,
    WebhookState,
)
from bot.standin.web import build_web_app, serve_http
from bot.standin.webhook import WebhookDelivery

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "ApiError",
    "ApiResponse",
    "CallbackAnswer",
    "Chat",
    "ChatMessage",
    "GroupChat",
    "RateLimits",
    "StandInRequest",
    "StoredFile",
    "StoredPoll",
    "TelegramStandIn",
    "UserActor",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookState",
    "build_web_app",
    "faults",
    "parse_html",
    "parse_markdown_v2",
    "serve_http",
    "utf16_len",
]

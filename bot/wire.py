"""The one module that reaches into python-telegram-bot's internals: nudges encoded once.

Dispatch sends the same few dozen nudges to many chats. ``send_message`` encodes each request
from scratch (defaults inserted, every parameter turned to JSON) and parses every answer into a
``Message``; here each item's request is encoded once, the way ``send_message`` would encode it
(through python-telegram-bot's own ``RequestParameter``, a private class), and posted through
the public ``BaseRequest.post``, so the transport, timeouts and Telegram's errors as exceptions
all still apply. Measured with ``bench.dispatch`` (docs/BENCHMARKS.md): on the public path
dispatch fell to about 1,000 nudges/s on an idle machine, the issue's floor; this keeps it well
above. Because ``RequestParameter`` is private, ``pyproject.toml`` pins python-telegram-bot's
minor version, and ``tests/delivery/test_nudge_request.py`` holds every content item's request
to the bytes ``send_message`` puts on the wire: an upgrade that changes them fails that test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from telegram import Bot
from telegram.error import TelegramError
from telegram.ext import Defaults
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.nudges import render_nudge

TEMPLATE_ID: Final = 999_999_999_999
"""Stands for the outbox id in a template; no real row has an id this long, and a longer real
id falls back to ``send_message`` (callback data has a byte limit)."""

# sendMessage's parameters that python-telegram-bot fills from the application's ``Defaults``,
# in the order ``Bot.send_message`` passes them.
_DEFAULTED: Final = (
    "disable_notification",
    "link_preview_options",
    "parse_mode",
    "protect_content",
)


@dataclass(frozen=True, slots=True)
class NudgeTemplate:
    """One item's nudge as python-telegram-bot would encode it for sendMessage, made once.

    ``params`` are the encoded parameters between ``chat_id`` and ``reply_markup`` (the text and
    the application's defaults); ``keyboard`` is the keyboard's JSON split around the outbox id,
    which appears once in each of the nudge's own buttons' callback data.
    """

    params: tuple[RequestParameter, ...]
    keyboard: tuple[str, ...]

    def request_data(self, chat_id: int, outbox_id: int) -> RequestData:
        """The request for one nudge: two string joins, no JSON encoding of the parts."""
        return RequestData(
            [
                RequestParameter("chat_id", str(chat_id), None),
                *self.params,
                RequestParameter("reply_markup", str(outbox_id).join(self.keyboard), None),
            ]
        )


def nudge_template(item: Any, bot: Bot, library: Any = None) -> NudgeTemplate | None:
    """``render_nudge`` for ``item`` as ``bot.send_message`` would encode it, or None when a
    template cannot reproduce it exactly (then each send uses ``send_message``)."""
    if getattr(bot, "rate_limiter", None) is not None:
        return None  # ExtBot's rate limiter sees requests in send_message's path only
    if getattr(bot, "callback_data_cache", None) is not None:
        return None  # arbitrary callback data rewrites the keyboard in send_message's path
    text, markup = render_nudge(item, TEMPLATE_ID, library=library)
    if markup is None:
        return None
    defaults: Defaults | None = getattr(bot, "defaults", None)
    api_defaults = defaults.api_defaults if defaults is not None else {}
    values: list[tuple[str, object]] = [("text", text)]
    values += [(key, api_defaults.get(key)) for key in _DEFAULTED]
    params = [RequestParameter.from_input(key, value) for key, value in values if value is not None]
    if any(param.input_files for param in params):
        return None
    keyboard = RequestParameter.from_input("reply_markup", markup).json_value
    if keyboard is None:
        return None
    parts = tuple(keyboard.split(str(TEMPLATE_ID)))
    if len(parts) < 2:  # no button carries the outbox id: nothing to fill in
        return None
    return NudgeTemplate(tuple(params), parts)


async def post_nudge(bot: Bot, template: NudgeTemplate, chat_id: int, outbox_id: int) -> int:
    """Post one nudge from its template; Telegram's message id (the answer is not parsed into
    a ``Message``)."""
    result = await bot.request.post(
        f"{bot.base_url}/sendMessage", template.request_data(chat_id, outbox_id)
    )
    if not isinstance(result, dict):
        raise TelegramError("sendMessage answered without a message")
    return int(result["message_id"])

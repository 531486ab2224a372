"""TelegramStandIn: an in-memory Bot API with Telegram's limits, errors and update queue."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dtm
import ipaddress
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.standin import faults
from bot.standin.entities import parse_text
from bot.standin.errors import ApiError
from bot.standin.models import (
    JSON,
    ApiCall,
    CallbackAnswer,
    CallbackQueryRecord,
    Chat,
    ChatMessage,
    StoredFile,
    StoredPoll,
    WebhookAttempt,
    timestamp,
)

if TYPE_CHECKING:
    from bot.standin.actors import GroupChat, UserActor
    from bot.standin.webhook import WebhookDelivery

DEFAULT_TOKEN = "123456789:AAStandInToken000000000000000000000"  # shaped like a real one
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER = 200
CALLBACK_QUERY_TTL = dtm.timedelta(minutes=15)
POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 100
# The brief's 2-10 (stricter than Bot API 10's 1-12, so a poll the stand-in takes, Telegram
# takes too); adjustable per instance through poll_options_min / poll_options_max.
POLL_OPTIONS_MIN = 2
POLL_OPTIONS_MAX = 10
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
LONG_POLL_MAX_TIMEOUT = 50
# Webhooks, as the Bot API server (tdlib/telegram-bot-api) has them.
WEBHOOK_PORTS = (80, 88, 443, 8443)
WEBHOOK_DEFAULT_MAX_CONNECTIONS = 40
WEBHOOK_MAX_CONNECTIONS = 100
SECRET_TOKEN_MAX = 256
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]*$")
# Telegram answers at most one 409 Conflict at once per 3 s; later ones wait 3 s first.
CONFLICT_SPACING = 3.0
# setWebhook with a URL at most once a second (else 429 retry after 1).
SET_WEBHOOK_INTERVAL = 1.0
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
# Telegram's default when allowed_updates was never set: everything but these.
_NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "login_url",
    "web_app",
    "pay",
    "callback_game",
    "copy_text",
)

Params = dict[str, Any]
Files = dict[str, tuple[str | None, bytes, str | None]]
Handler = Callable[[Params, Files], Awaitable[Any]]


def _utc_now() -> dtm.datetime:
    return dtm.datetime.now(dtm.UTC)


@dataclass
class ApiResponse:
    """What the Bot API answers: an HTTP status and a JSON body, or a simulated timeout."""

    status: int
    body: JSON
    timeout: faults.Timeout | None = None

    def payload(self) -> bytes:
        return json.dumps(self.body).encode("utf-8")


@dataclass
class RateLimits:
    """Flood control: sends per second overall, and a per-chat token bucket."""

    per_second: int = 30
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 1


@dataclass
class WebhookState:
    """The webhook as set by setWebhook; a new ``generation`` each time it is set or removed."""

    url: str = ""
    target: str = ""  # the URL updates are POSTed to (with a scheme)
    secret_token: str = ""
    max_connections: int = 0
    last_error_date: int = 0
    last_error_message: str = ""
    generation: int = 0


@dataclass
class _Described:
    """A method result that comes with a "description" beside "result" (as setWebhook's)."""

    result: Any
    description: str


@dataclass
class _LongPoll:
    """The getUpdates call waiting now; ``ended_by`` is the 409 text that ends it early."""

    ended_by: str | None = None


@dataclass
class _FaultRule:
    method: str
    kind: faults.Fault
    times: int
    chat_id: str | None


@dataclass
class _RateState:
    sends: deque[float] = field(default_factory=deque)
    buckets: dict[int, tuple[float, float]] = field(default_factory=dict)


class _Signal:
    """Wakes every waiter whenever the stand-in's state changes."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, seconds: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that arrives
        # together with a wake-up (a long poll cancelled at shutdown would then live on)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()


class TelegramStandIn:
    """An in-memory Telegram Bot API server for one bot.

    Plug it into python-telegram-bot with :class:`bot.standin.StandInRequest`, or serve it over
    HTTP with :func:`bot.standin.serve_http`. Act as users with :meth:`user` and :meth:`group`.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int | None = None,
        username: str = "closer_standin_bot",
        first_name: str = "Closer",
        clock: Callable[[], dtm.datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        rate_limits: RateLimits | None = None,
        first_update_id: int = 1,
    ) -> None:
        prefix = token.split(":", 1)[0]
        self.token = token
        self.bot_id = bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 1)
        self.username = username
        self.first_name = first_name
        self.clock = clock
        self.monotonic = monotonic
        self.rate_limits = rate_limits
        self.poll_options_min = POLL_OPTIONS_MIN
        self.poll_options_max = POLL_OPTIONS_MAX
        self.chats: dict[int, Chat] = {}
        self.calls: list[ApiCall] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[str, list[JSON]] = {}
        self.menu_button: JSON = {"type": "commands"}
        self.webhook = WebhookState()
        self.webhook_attempts: list[WebhookAttempt] = []
        self.confirmed_update_ids: list[int] = []
        self.delivery_counts: dict[int, int] = {}
        self.strict_webhooks = False
        self.set_webhook_interval = SET_WEBHOOK_INTERVAL
        self.conflict_spacing = CONFLICT_SPACING
        self.delivery: WebhookDelivery | None = None
        # Stand-in only: POST to these in turn instead of the webhook URL, as a load balancer
        # in front of several workers would (the webhook URL is still what the bot set).
        self.webhook_upstreams: list[str] = []
        self._upstream_turn = itertools.count()
        self._updates: list[JSON] = []
        # Telegram goes on numbering a bot's updates: a stand-in for a bot whose database has
        # seen updates before starts past them (``first_update_id``).
        self._update_ids = itertools.count(first_update_id)
        self._allowed_updates: list[str] | None = None
        self._long_poll: _LongPoll | None = None
        self._next_conflict = -math.inf
        self._next_set_webhook = -math.inf
        self._listeners: list[Callable[[], None]] = []
        self._queries: dict[str, CallbackQueryRecord] = {}
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._polls: dict[str, StoredPoll] = {}
        self._poll_ids = itertools.count(5_000_000_000_000_000_001)
        self._files: dict[str, StoredFile] = {}
        self._file_ids = itertools.count(1)
        self._faults: list[_FaultRule] = []
        self._rate = _RateState()
        self._signal = _Signal()
        self._users: dict[int, UserActor] = {}
        self._groups: dict[int, GroupChat] = {}
        self._methods: dict[str, Handler] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagecaption": self._edit_message_caption,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendpoll": self._send_poll,
            "stoppoll": self._stop_poll,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendchataction": self._send_chat_action,
            "getchat": self._get_chat,
            "getfile": self._get_file,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "setmydescription": self._true,
            "setmyshortdescription": self._true,
            "setmyname": self._true,
            "setmydefaultadministratorrights": self._true,
            "getmydescription": self._constant({"description": ""}),
            "getmyshortdescription": self._constant({"short_description": ""}),
            "getmyname": self._get_my_name,
        }

    # -- identity -------------------------------------------------------------------------

    @property
    def bot_user(self) -> JSON:
        """The bot as a Bot API User."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # -- acting as users ------------------------------------------------------------------

    def user(
        self,
        user_id: int = 1001,
        first_name: str = "Alex",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
    ) -> UserActor:
        """The user with that id (created on first use) with their private chat with the bot.

        ``started=False`` models a user who never opened the bot: sends to them get 403.
        """
        from bot.standin.actors import UserActor

        if user_id not in self._users:
            self._users[user_id] = UserActor(
                self,
                user_id=user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
            )
            self.chats[user_id] = Chat(
                id=user_id,
                type="private",
                first_name=first_name,
                last_name=last_name,
                username=username,
                started=started,
            )
        return self._users[user_id]

    def group(
        self, chat_id: int = -100200300, title: str = "Group", kind: str = "group"
    ) -> GroupChat:
        """A group chat the bot is a member of (created on first use)."""
        from bot.standin.actors import GroupChat

        if chat_id not in self._groups:
            self.chats[chat_id] = Chat(id=chat_id, type=kind, title=title)
            self._groups[chat_id] = GroupChat(self, chat_id)
        return self._groups[chat_id]

    # -- test helpers ---------------------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        kind: faults.Fault,
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally to one chat) fail as ``kind``."""
        self._faults.append(
            _FaultRule(method.lower(), kind, times, None if chat_id is None else str(chat_id))
        )

    def enable_rate_limits(self, limits: RateLimits | None = None) -> None:
        """Switch flood control on (off by default)."""
        self.rate_limits = limits or RateLimits()

    def disable_rate_limits(self) -> None:
        self.rate_limits = None
        self._rate = _RateState()

    def calls_to(self, method: str) -> list[ApiCall]:
        """Every recorded call of ``method`` (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed (by getUpdates or a webhook's 2xx), leaving out those
        allowed_updates excludes (Telegram does not keep them)."""
        return self.deliverable_updates()

    def chat(self, chat_id: int) -> Chat:
        """A known chat by id."""
        return self.chats[chat_id]

    def message(self, chat_id: int, message_id: int) -> ChatMessage | None:
        """A message in its current state, None when missing or deleted."""
        chat = self.chats.get(chat_id)
        return chat.find(message_id) if chat else None

    def poll(self, poll_id: str) -> StoredPoll | None:
        return self._polls.get(poll_id)

    def file_content(self, file_path: str) -> bytes | None:
        """Bytes of a file served under /file/bot<token>/<file_path>."""
        stored = self._files.get(file_path.rsplit("/", 1)[-1])
        return stored.content if stored else None

    def notify(self) -> None:
        """Wake every waiter (next_message, wait_for_call, long-polling getUpdates, webhook)."""
        self._signal.notify()
        for listener in list(self._listeners):
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` on every state change (the webhook delivery loop uses it)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    @property
    def webhook_url(self) -> str:
        """The webhook URL as set ("" when none)."""
        return self.webhook.url

    async def start_webhook_delivery(self, **options: float) -> WebhookDelivery:
        """Start pushing updates to the webhook from this event loop (see
        :class:`bot.standin.webhook.WebhookDelivery` for ``options``); stop it with
        :meth:`stop_webhook_delivery`. :func:`bot.standin.serve_http` does this by itself."""
        from bot.standin.webhook import WebhookDelivery

        delivery = WebhookDelivery(self, **options)
        await delivery.start()
        return delivery

    async def stop_webhook_delivery(self) -> None:
        """Stop the running webhook delivery, if any."""
        if self.delivery is not None:
            await self.delivery.stop()

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain timeout reads best in tests
    ) -> None:
        """Wait until ``condition()`` holds; TimeoutError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            await self._signal.wait(remaining)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain timeout reads best in tests
        *,
        since: int = 0,
    ) -> ApiCall:
        """The first call of ``method`` (from index ``since`` of :attr:`calls`) that matches."""
        found: list[ApiCall] = []

        def seen() -> bool:
            for call in self.calls[since:]:
                if call.method.lower() == method.lower() and (predicate is None or predicate(call)):
                    found.append(call)
                    return True
            return False

        await self.wait_until(seen, timeout)
        return found[0]

    # -- updates --------------------------------------------------------------------------

    def add_update(self, kind: str, payload: JSON) -> int:
        """Queue an update of ``kind`` (e.g. "message") and return its update_id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        self.notify()
        return update_id

    def add_raw_update(self, update: JSON) -> int:
        """Queue ``update`` as it is, unchecked (e.g. a "poll" lacking a field, which
        python-telegram-bot cannot parse), under a fresh update_id (any given one is replaced, so
        the queue stays in order); return that update_id."""
        if not isinstance(update, dict):
            raise TypeError("an update is a JSON object")
        body = {key: copy.deepcopy(value) for key, value in update.items() if key != "update_id"}
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **body})
        self.notify()
        return update_id

    def callback_queries(self, user_id: int | None = None) -> list[JSON]:
        """Every press (of ``user_id``, or of anyone) with its answer, oldest first."""
        answers = {a.callback_query_id: a for a in self.callback_answers}
        found: list[JSON] = []
        for record in self._queries.values():
            if user_id is not None and record.user_id != user_id:
                continue
            answer = answers.get(record.id)
            found.append(
                {
                    "callback_query_id": record.id,
                    "chat_id": record.chat_id,
                    "message_id": record.message_id,
                    "data": record.data,
                    "date": timestamp(record.created),
                    "answered": record.answered,
                    "answer_text": answer.text if answer else None,
                    "show_alert": answer.show_alert if answer else False,
                }
            )
        return found

    def new_message_id(self, chat: Chat) -> int:
        chat.last_message_id += 1
        return chat.last_message_id

    def store_user_message(self, chat: Chat, sender: JSON, **fields: Any) -> ChatMessage:
        """Store a message a user sent and queue it as a "message" update."""
        message = ChatMessage(
            message_id=self.new_message_id(chat),
            chat=chat.to_api(),
            sender=sender,
            date=self.clock(),
            from_bot=False,
            **fields,
        )
        chat.messages.append(message)
        self.add_update("message", message.to_api())
        return message

    def create_callback_query(self, user: JSON, message: ChatMessage, data: str) -> str:
        """A press on ``message`` with ``data``: queue a callback_query update, return its id."""
        query_id = str(next(self._query_ids))
        self._queries[query_id] = CallbackQueryRecord(
            id=query_id,
            user_id=int(user["id"]),
            chat_id=message.chat_id,
            message_id=message.message_id,
            data=data,
            created=self.clock(),
        )
        self.add_update(
            "callback_query",
            {
                "id": query_id,
                "from": user,
                "message": message.to_api(),
                "chat_instance": f"ci{message.chat_id}",
                "data": data,
            },
        )
        return query_id

    def new_file(
        self, filename: str | None, content: bytes | None, mime: str | None, url: str | None = None
    ) -> StoredFile:
        number = next(self._file_ids)
        stored = StoredFile(f"standin-file-{number}", f"u{number}", filename, mime, content, url)
        self._files[stored.file_id] = stored
        return stored

    # -- the API --------------------------------------------------------------------------

    async def handle(
        self, method: str, token: str, params: Params, files: Files | None = None
    ) -> ApiResponse:
        """Answer one Bot API call as Telegram would."""
        files = files or {}
        if token != self.token:
            return ApiResponse(401, ApiError(401, "Unauthorized").to_json())
        handler = self._methods.get(method.lower())
        if handler is None:
            return ApiResponse(404, ApiError(404, "Not Found").to_json())
        call = ApiCall(
            method=method,
            params=dict(params),
            ok=False,
            files={name: content for name, (_, content, _) in files.items()},
        )
        fault = self._take_fault(method, params)
        try:
            if fault is not None and not (isinstance(fault, faults.Timeout) and fault.delivered):
                raise self._fault_error(fault)
            result = await handler(params, files)
        except ApiError as exc:
            call.error_code = exc.code
            call.description = exc.description
            response = ApiResponse(exc.code, exc.to_json())
        else:
            call.ok = True
            if isinstance(result, _Described):
                call.result = result.result
                response = ApiResponse(
                    200, {"ok": True, "result": result.result, "description": result.description}
                )
            else:
                call.result = result
                response = ApiResponse(200, {"ok": True, "result": result})
        if isinstance(fault, faults.Timeout):
            call.timed_out = True
            response.timeout = fault
        self.calls.append(call)
        self.notify()
        return response

    def _take_fault(self, method: str, params: Params) -> faults.Fault | None:
        chat_id = params.get("chat_id")
        for rule in self._faults:
            if rule.method != method.lower() or rule.times <= 0:
                continue
            if rule.chat_id is not None and str(chat_id) != rule.chat_id:
                continue
            rule.times -= 1
            if rule.times <= 0:
                self._faults.remove(rule)
            return rule.kind
        return None

    @staticmethod
    def _fault_error(fault: faults.Fault) -> ApiError:
        if isinstance(fault, faults.RetryAfter):
            return ApiError.too_many_requests(fault.seconds)
        if isinstance(fault, faults.ServerError):
            return ApiError(fault.code, fault.description)
        if isinstance(fault, faults.Forbidden):
            return ApiError(403, fault.description)
        # an undelivered timeout: the call never reached Telegram
        return ApiError(504, "Gateway Timeout")

    # -- parameter decoding (form values arrive as strings, JSON bodies as native types) --

    @staticmethod
    def _str(params: Params, name: str) -> str | None:
        value = params.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    @staticmethod
    def _int(params: Params, name: str, default: int | None = None) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError.bad_request(f"invalid {name} specified") from None

    @staticmethod
    def _float(params: Params, name: str, default: float) -> float:
        value = params.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError.bad_request(f"invalid {name} specified") from None

    @staticmethod
    def _bool(params: Params, name: str, default: bool = False) -> bool:
        value = params.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    @staticmethod
    def _json(params: Params, name: str) -> Any:
        value = params.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError.bad_request(f"can't parse {name} JSON object") from None
        return value

    def _chat(self, params: Params) -> Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError.bad_request("chat_id is empty")
        text = str(raw)
        if text.startswith("@"):
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == text[1:].lower():
                    return chat
            raise ApiError.bad_request("chat not found")
        try:
            chat_id = int(text)
        except ValueError:
            raise ApiError.bad_request("chat not found") from None
        found = self.chats.get(chat_id)
        if found is None:
            raise ApiError.bad_request("chat not found")
        return found

    @staticmethod
    def _can_write(chat: Chat) -> None:
        if chat.type == "private" and chat.blocked:
            raise ApiError.forbidden("bot was blocked by the user")
        if chat.type == "private" and not chat.started:
            raise ApiError.forbidden("bot can't initiate conversation with a user")

    def _check_rate(self, chat: Chat) -> None:
        limits = self.rate_limits
        if limits is None:
            return
        now = self.monotonic()
        sends = self._rate.sends
        while sends and now - sends[0] >= 1.0:
            sends.popleft()
        if len(sends) >= limits.per_second:
            raise ApiError.too_many_requests(max(1, math.ceil(1.0 - (now - sends[0]))))
        tokens, last = self._rate.buckets.get(chat.id, (float(limits.per_chat_burst), now))
        tokens = min(
            float(limits.per_chat_burst), tokens + (now - last) * limits.per_chat_per_second
        )
        if tokens < 1.0:
            self._rate.buckets[chat.id] = (tokens, now)
            wait = (1.0 - tokens) / limits.per_chat_per_second
            raise ApiError.too_many_requests(max(1, math.ceil(wait)))
        self._rate.buckets[chat.id] = (tokens - 1.0, now)
        sends.append(now)

    def _formatted(
        self, params: Params, text_key: str, mode_key: str, entities_key: str
    ) -> tuple[str, list[JSON]]:
        raw = self._str(params, text_key) or ""
        parse_mode = self._str(params, mode_key)
        explicit = self._json(params, entities_key)
        if explicit and not parse_mode:
            text, _ = parse_text(raw, None)
            if not isinstance(explicit, list):
                raise ApiError.bad_request(f"can't parse {entities_key} JSON object")
            return text, list(explicit)
        return parse_text(raw, parse_mode)

    def _message_text(self, params: Params) -> tuple[str, list[JSON]]:
        text, entities = self._formatted(params, "text", "parse_mode", "entities")
        if not text:
            raise ApiError.bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError.bad_request("message is too long")
        return text, entities

    def _caption(self, params: Params) -> tuple[str | None, list[JSON]]:
        if params.get("caption") is None:
            return None, []
        caption, entities = self._formatted(params, "caption", "parse_mode", "caption_entities")
        if len(caption) > MAX_CAPTION:
            raise ApiError.bad_request("message caption is too long")
        return (caption or None), entities

    def _reply_markup(self, params: Params) -> JSON | None:
        markup = self._json(params, "reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError.bad_request(
                    "can't parse inline keyboard button: "
                    'Field "inline_keyboard" must be of type Array'
                )
            for row in rows:
                for button in row:
                    self._check_button(button)
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        prefix = "can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise ApiError.bad_request(prefix + "InlineKeyboardButton must be an Object")
        if "text" not in button:
            raise ApiError.bad_request(prefix + 'Can\'t find field "text"')
        if not isinstance(button["text"], str) or not button["text"].strip():
            raise ApiError.bad_request("BUTTON_TEXT_INVALID")
        actions = [key for key in _BUTTON_ACTIONS if button.get(key) is not None]
        if not actions:
            raise ApiError.bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            # Telegram silently keeps the first field; the stand-in is stricter on purpose.
            raise ApiError.bad_request(
                prefix
                + "exactly one of the optional fields must be used, got "
                + ", ".join(actions)
            )
        if "callback_data" in button:
            data = button["callback_data"]
            size = len(data.encode("utf-8")) if isinstance(data, str) else 0
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise ApiError.bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
                raise ApiError.bad_request(
                    f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                )

    def _reply_to(self, chat: Chat, params: Params) -> int | None:
        reply = self._json(params, "reply_parameters")
        message_id: int | None = None
        allow = False
        if isinstance(reply, dict):
            message_id = int(reply.get("message_id", 0))
            allow = bool(reply.get("allow_sending_without_reply", False))
        elif params.get("reply_to_message_id") is not None:
            message_id = self._int(params, "reply_to_message_id")
        if message_id is None:
            return None
        if chat.find(message_id) is None:
            if allow:
                return None
            raise ApiError.bad_request("message to be replied not found")
        return message_id

    def _store_bot_message(self, chat: Chat, **fields: Any) -> ChatMessage:
        message = ChatMessage(
            message_id=self.new_message_id(chat),
            chat=chat.to_api(),
            sender=self.bot_user,
            date=self.clock(),
            from_bot=True,
            **fields,
        )
        chat.messages.append(message)
        return message

    def _bot_message(self, chat: Chat, params: Params, missing: str) -> ChatMessage:
        if params.get("inline_message_id") is not None:
            raise ApiError.bad_request("MESSAGE_ID_INVALID")
        message_id = self._int(params, "message_id")
        if message_id is None:
            raise ApiError.bad_request("message identifier is not specified")
        message = chat.find(message_id)
        if message is None:
            raise ApiError.bad_request(missing)
        return message

    # -- methods --------------------------------------------------------------------------

    async def _true(self, params: Params, files: Files) -> Any:
        return True

    @staticmethod
    def _constant(value: JSON) -> Handler:
        async def answer(params: Params, files: Files) -> Any:
            return dict(value)

        return answer

    async def _get_me(self, params: Params, files: Files) -> Any:
        return self.bot_user

    async def _get_my_name(self, params: Params, files: Files) -> Any:
        return {"name": self.first_name}

    async def _delete_webhook(self, params: Params, files: Files) -> Any:
        return self._change_webhook(params, "")

    async def _set_webhook(self, params: Params, files: Files) -> Any:
        return self._change_webhook(params, self._str(params, "url") or "")

    def _change_webhook(self, params: Params, new_url: str) -> _Described:
        """setWebhook and deleteWebhook, in the Bot API server's order of checks and effects."""
        if new_url:
            now = self.monotonic()
            if now < self._next_set_webhook:
                raise ApiError.too_many_requests(1)
            self._next_set_webhook = now + self.set_webhook_interval
        max_connections = self._max_connections(params) if new_url else 0
        secret = (self._str(params, "secret_token") or "") if new_url else ""
        drop = self._bool(params, "drop_pending_updates")
        hook = self.webhook
        if (
            hook.url == new_url
            and hook.max_connections == max_connections
            and hook.secret_token == secret
            and not drop
        ):
            if new_url:
                self._set_allowed_updates(params)
            return _Described(
                True, "Webhook is already set" if new_url else "Webhook is already deleted"
            )
        if new_url:
            self._end_long_poll(CONFLICT_SET_WEBHOOK)
        was_set = bool(hook.url)
        # the old webhook is closed first, so a refused new one leaves none (as on Telegram)
        self.webhook = WebhookState(generation=hook.generation + 1 if was_set else hook.generation)
        if drop:
            self._updates.clear()
        self.notify()
        if not new_url:
            return _Described(
                True, "Webhook was deleted" if was_set else "Webhook is already deleted"
            )
        target = self._webhook_target(new_url)
        if len(secret) > SECRET_TOKEN_MAX:
            raise ApiError.bad_request("secret token is too long")
        if not _SECRET_TOKEN_RE.match(secret):
            raise ApiError.bad_request("secret token contains unallowed characters")
        if self.strict_webhooks:
            self._check_public_webhook(target)
        self.webhook = WebhookState(
            url=new_url,
            target=target,
            secret_token=secret,
            max_connections=max_connections,
            generation=self.webhook.generation + 1,
        )
        self._set_allowed_updates(params)
        self.notify()
        return _Described(True, "Webhook was set")

    def _max_connections(self, params: Params) -> int:
        raw = params.get("max_connections")
        if raw is None or raw == "":
            return WEBHOOK_DEFAULT_MAX_CONNECTIONS
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0  # the server reads garbage as 0, then clamps
        return min(max(value, 1), WEBHOOK_MAX_CONNECTIONS)

    @staticmethod
    def _webhook_target(url: str) -> str:
        """The URL to POST to; "invalid webhook URL specified" when it does not parse."""
        target = url if "://" in url else f"https://{url}"
        invalid = ApiError.bad_request("invalid webhook URL specified")
        try:
            parts = urlsplit(target)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise invalid from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise invalid
        if any(character.isspace() for character in url):
            raise invalid
        return target

    @staticmethod
    def _check_public_webhook(target: str) -> None:
        """Telegram's cloud rules (``strict_webhooks``): HTTPS, four ports, a public address."""
        parts = urlsplit(target)
        if parts.scheme.lower() != "https":
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in WEBHOOK_PORTS:
            raise ApiError.bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        host = parts.hostname or ""
        if host.lower() == "localhost":
            host = "127.0.0.1"
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return  # a name: Telegram would resolve it; the stand-in does not
        if address.version == 6:
            raise ApiError.bad_request("bad webhook: IPv6-only addresses are not allowed")
        if not address.is_global:
            raise ApiError.bad_request(f"bad webhook: IP address {address} is reserved")

    def _set_allowed_updates(self, params: Params) -> None:
        allowed = self._json(params, "allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed] or None

    async def _get_webhook_info(self, params: Params, files: Files) -> Any:
        return self.webhook_info()

    def webhook_info(self) -> JSON:
        """What getWebhookInfo answers now."""
        hook = self.webhook
        info: JSON = {
            "url": hook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.deliverable_updates()),
        }
        if hook.last_error_date:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if hook.max_connections:
            info["max_connections"] = hook.max_connections
        if self._allowed_updates is not None:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    # -- webhook delivery (driven by bot.standin.webhook.WebhookDelivery) -------------------

    def deliverable_updates(self) -> list[JSON]:
        """The pending updates the bot asked for (allowed_updates), oldest first."""
        self._updates = [u for u in self._updates if self._allowed(u)]
        return list(self._updates)

    def iter_deliverable(self) -> Iterator[JSON]:
        """The same, lazily over the live queue (do not change the queue while iterating)."""
        return (u for u in self._updates if self._allowed(u))

    def webhook_target(self) -> str:
        """Where the next webhook POST goes: the webhook URL, or the next of
        :attr:`webhook_upstreams` in turn when a test set some."""
        if self.webhook_upstreams:
            upstreams = self.webhook_upstreams
            return upstreams[next(self._upstream_turn) % len(upstreams)]
        return self.webhook.target

    def note_delivery(self, update_id: int) -> None:
        """Count one delivery (a getUpdates answer or a webhook POST) of an update."""
        self.delivery_counts[update_id] = self.delivery_counts.get(update_id, 0) + 1

    def record_webhook_attempt(
        self, attempt: WebhookAttempt, generation: int, *, retry_in: float | None = None
    ) -> None:
        """The outcome of one webhook POST: a 2xx confirms (drops) the update; anything else
        is noted in last_error_date / last_error_message and the update stays pending."""
        self.webhook_attempts.append(attempt)
        if generation == self.webhook.generation and self.webhook.url:
            if attempt.error is None:
                for index, update in enumerate(self._updates):  # mostly near the head
                    if update["update_id"] == attempt.update_id:
                        del self._updates[index]
                        self.confirmed_update_ids.append(attempt.update_id)
                        break
            else:
                self.webhook.last_error_date = timestamp(self.clock())
                self.webhook.last_error_message = attempt.error
        self.notify()

    def _commands_key(self, params: Params) -> str:
        scope = self._json(params, "scope") or {"type": "default"}
        language = self._str(params, "language_code") or ""
        return json.dumps([scope, language], sort_keys=True)

    async def _set_my_commands(self, params: Params, files: Files) -> Any:
        commands = self._json(params, "commands")
        if not isinstance(commands, list):
            raise ApiError.bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError.bad_request("too many commands specified")
        cleaned: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict) or "command" not in command:
                raise ApiError.bad_request("can't parse BotCommand: Can't find field \"command\"")
            if "description" not in command:
                raise ApiError.bad_request(
                    "can't parse BotCommand: Can't find field \"description\""
                )
            name = str(command["command"])
            description = str(command["description"])
            if not COMMAND_RE.match(name):
                raise ApiError.bad_request("BOT_COMMAND_INVALID")
            if not description.strip():
                raise ApiError.bad_request("command description must be non-empty")
            if len(description) > 256:
                raise ApiError.bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        self.commands[self._commands_key(params)] = cleaned
        return True

    async def _get_my_commands(self, params: Params, files: Files) -> Any:
        return list(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: Params, files: Files) -> Any:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _allowed(self, update: JSON) -> bool:
        kind = next((key for key in update if key != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in _NOT_DEFAULT_UPDATES
        return kind in self._allowed_updates

    async def _conflict(self, description: str) -> ApiError:
        """409 at once, unless one went out in the last 3 s: then 3 s later (as Telegram)."""
        now = self.monotonic()
        if now < self._next_conflict:
            await asyncio.sleep(self.conflict_spacing)
        else:
            self._next_conflict = now + self.conflict_spacing
        return ApiError(409, description)

    def _end_long_poll(self, description: str) -> None:
        if self._long_poll is not None:
            self._long_poll.ended_by = description
            self._long_poll = None
            self.notify()

    def _confirm_before(self, keep_from: int) -> None:
        """Forget (confirm) every pending update before index ``keep_from``."""
        self.confirmed_update_ids.extend(u["update_id"] for u in self._updates[:keep_from])
        self._updates = self._updates[keep_from:]

    async def _get_updates(self, params: Params, files: Files) -> Any:
        if self.webhook.url:
            raise await self._conflict(CONFLICT_WEBHOOK_ACTIVE)
        offset = self._int(params, "offset", 0) or 0
        limit = min(max(self._int(params, "limit", 100) or 100, 1), 100)
        timeout = min(max(self._float(params, "timeout", 0.0), 0.0), LONG_POLL_MAX_TIMEOUT)
        self._set_allowed_updates(params)
        self._end_long_poll(CONFLICT_OTHER_POLL)  # an older long poll loses with 409
        poll = self._long_poll = _LongPoll()
        self.notify()  # each call wakes waiters (wait_until checks again)
        # offset N confirms every update below N; offset -N keeps only the last N
        if offset > 0:
            self._confirm_before(sum(1 for u in self._updates if u["update_id"] < offset))
        elif offset < 0:
            self._confirm_before(max(len(self._updates) + offset, 0))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if poll.ended_by is not None:
                    raise await self._conflict(poll.ended_by)
                pending = self.deliverable_updates()
                remaining = deadline - loop.time()
                if pending or remaining <= 0:
                    batch = [dict(update) for update in pending[:limit]]
                    for update in batch:
                        self.note_delivery(update["update_id"])
                    return batch
                await self._signal.wait(remaining)
        finally:
            if self._long_poll is poll:
                self._long_poll = None

    async def _send_message(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        self._can_write(chat)
        text, entities = self._message_text(params)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        self._check_rate(chat)
        message = self._store_bot_message(
            chat, text=text, entities=entities, reply_markup=markup, reply_to_message_id=reply_to
        )
        return message.to_api()

    async def _edit_message_text(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        self._can_write(chat)
        message = self._bot_message(chat, params, "message to edit not found")
        if not message.from_bot:
            raise ApiError.bad_request("message can't be edited")
        if message.text is None:
            raise ApiError.bad_request("there is no text in the message to edit")
        text, entities = self._message_text(params)
        markup = self._reply_markup(params)
        if text == message.text and entities == message.entities and markup == message.reply_markup:
            raise _not_modified()
        message.edits.append(message.text)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edit_date = self.clock()
        return message.to_api()

    async def _edit_message_reply_markup(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        self._can_write(chat)
        message = self._bot_message(chat, params, "message to edit not found")
        if not message.from_bot:
            raise ApiError.bad_request("message can't be edited")
        markup = self._reply_markup(params)
        if markup == message.reply_markup:
            raise _not_modified()
        message.reply_markup = markup
        message.edit_date = self.clock()
        return message.to_api()

    async def _edit_message_caption(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        self._can_write(chat)
        message = self._bot_message(chat, params, "message to edit not found")
        if not message.from_bot:
            raise ApiError.bad_request("message can't be edited")
        if message.document is None and message.photo is None:
            raise ApiError.bad_request("there is no caption in the message to edit")
        caption, entities = self._caption(params)
        markup = self._reply_markup(params)
        if (
            caption == message.caption
            and entities == message.caption_entities
            and markup == message.reply_markup
        ):
            raise _not_modified()
        message.caption, message.caption_entities, message.reply_markup = caption, entities, markup
        message.edit_date = self.clock()
        return message.to_api()

    async def _delete_message(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        message = self._bot_message(chat, params, "message to delete not found")
        if self.clock() - message.date > dtm.timedelta(hours=48):
            raise ApiError.bad_request("message can't be deleted for everyone")
        message.deleted = True
        return True

    async def _answer_callback_query(self, params: Params, files: Files) -> Any:
        query_id = self._str(params, "callback_query_id") or ""
        text = self._str(params, "text")
        record = self._queries.get(query_id)
        if record is None or record.answered or self.clock() - record.created > CALLBACK_QUERY_TTL:
            raise ApiError.bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                text=text,
                show_alert=self._bool(params, "show_alert"),
                url=self._str(params, "url"),
                cache_time=self._int(params, "cache_time", 0) or 0,
            )
        )
        return True

    async def _send_poll(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        self._can_write(chat)
        question = (self._str(params, "question") or "").strip()
        if not question or len(question) > POLL_QUESTION_MAX:
            raise ApiError.bad_request("POLL_QUESTION_INVALID")
        raw_options = self._json(params, "options")
        if not isinstance(raw_options, list):
            raise ApiError.bad_request("can't parse options JSON object")
        options = [str(o.get("text", "")) if isinstance(o, dict) else str(o) for o in raw_options]
        if len(options) < self.poll_options_min:
            raise ApiError.bad_request(f"poll must have at least {self.poll_options_min} option")
        if len(options) > self.poll_options_max:
            raise ApiError.bad_request("POLL_OPTIONS_TOO_MUCH")
        if any(not o.strip() or len(o) > POLL_OPTION_MAX for o in options):
            raise ApiError.bad_request("POLL_OPTION_INVALID")
        kind = self._str(params, "type") or "regular"
        if kind not in ("regular", "quiz"):
            raise ApiError.bad_request("wrong poll type specified")
        correct = self._int(params, "correct_option_id")
        if kind == "quiz" and (correct is None or not 0 <= correct < len(options)):
            raise ApiError.bad_request("wrong correct option ID specified")
        multiple = self._bool(params, "allows_multiple_answers")
        if kind == "quiz" and multiple:
            raise ApiError.bad_request("quiz poll can't allow multiple answers")
        markup = self._reply_markup(params)
        self._check_rate(chat)
        message = self._store_bot_message(chat, reply_markup=markup)
        poll = StoredPoll(
            id=str(next(self._poll_ids)),
            chat_id=chat.id,
            message_id=message.message_id,
            question=question,
            options=options,
            is_anonymous=self._bool(params, "is_anonymous", True),
            type=kind,
            allows_multiple_answers=multiple,
            correct_option_id=correct if kind == "quiz" else None,
            is_closed=self._bool(params, "is_closed"),
        )
        message.poll = poll
        self._polls[poll.id] = poll
        return message.to_api()

    async def _stop_poll(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        self._can_write(chat)
        message = self._bot_message(chat, params, "message with poll to stop not found")
        if message.poll is None:
            raise ApiError.bad_request("message with poll to stop not found")
        if message.poll.is_closed:
            raise ApiError.bad_request("poll has already been closed")
        message.poll.is_closed = True
        markup = self._reply_markup(params)
        if markup is not None:
            message.reply_markup = markup
        return message.poll.to_api()

    def _input_file(self, params: Params, files: Files, name: str) -> StoredFile:
        value = self._str(params, name)
        upload = None
        if value and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
        elif name in files:
            upload = files[name]
        if upload is not None:
            filename, content, mime = upload
            if not content:
                raise ApiError.bad_request("file must be non-empty")
            return self.new_file(filename, content, mime)
        if not value:
            raise ApiError.bad_request(f"there is no {name} in the request")
        if value in self._files:
            return self._files[value]
        if re.match(r"^https?://", value):
            return self.new_file(value.rsplit("/", 1)[-1] or None, None, None, url=value)
        raise ApiError.bad_request("wrong file identifier/HTTP URL specified")

    async def _send_document(self, params: Params, files: Files) -> Any:
        return self._send_file(params, files, "document")

    async def _send_photo(self, params: Params, files: Files) -> Any:
        return self._send_file(params, files, "photo")

    def _send_file(self, params: Params, files: Files, kind: str) -> Any:
        chat = self._chat(params)
        self._can_write(chat)
        stored = self._input_file(params, files, kind)
        caption, caption_entities = self._caption(params)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        self._check_rate(chat)
        message = self._store_bot_message(
            chat,
            caption=caption,
            caption_entities=caption_entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **{kind: stored},
        )
        return message.to_api()

    async def _send_chat_action(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        self._can_write(chat)
        if self._str(params, "action") not in _CHAT_ACTIONS:
            raise ApiError.bad_request("wrong parameter action in request")
        return True

    async def _get_chat(self, params: Params, files: Files) -> Any:
        chat = self._chat(params)
        data = chat.to_api()
        data.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                },
            }
        )
        return data

    async def _get_file(self, params: Params, files: Files) -> Any:
        file_id = self._str(params, "file_id") or ""
        stored = self._files.get(file_id)
        if stored is None:
            raise ApiError.bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": f"documents/{stored.file_id}",
        }

    async def _set_chat_menu_button(self, params: Params, files: Files) -> Any:
        button = self._json(params, "menu_button")
        if isinstance(button, dict):
            self.menu_button = button
        return True

    async def _get_chat_menu_button(self, params: Params, files: Files) -> Any:
        return dict(self.menu_button)

    def record_poll_vote(self, poll: StoredPoll, user: JSON, option_ids: list[int]) -> None:
        """Apply a vote (or a retraction with no options) and queue poll/poll_answer updates."""
        if poll.is_closed:
            raise ValueError("the poll is closed")
        if any(not 0 <= o < len(poll.options) for o in option_ids):
            raise ValueError(f"no such option in {option_ids}")
        if len(option_ids) > 1 and not poll.allows_multiple_answers:
            raise ValueError("this poll allows one answer only")
        user_id = int(user["id"])
        if option_ids:
            poll.votes[user_id] = sorted(set(option_ids))
        else:
            poll.votes.pop(user_id, None)
        self.add_update("poll", poll.to_api())
        if not poll.is_anonymous:
            self.add_update(
                "poll_answer",
                {
                    "poll_id": poll.id,
                    "user": user,
                    "option_ids": option_ids,
                    "option_persistent_ids": [str(o) for o in option_ids],
                },
            )

    def member_update(self, chat: Chat, user: JSON, old: str, new: str) -> None:
        """Queue a my_chat_member update (the bot's status in ``chat`` changed)."""

        def member(status: str) -> JSON:
            data: JSON = {"user": self.bot_user, "status": status}
            if status == "kicked":
                data["until_date"] = 0
            return data

        self.add_update(
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": user,
                "date": timestamp(self.clock()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )


def _not_modified() -> ApiError:
    return ApiError.bad_request(
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )

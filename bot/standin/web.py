"""The stand-in over HTTP (aiohttp): the Bot API for a bot in another process, a JSON control
API to act as users and to look inside, and webhook delivery.

Serve it with ``python -m bot.standin --port 8081 --token <token>`` (or :func:`serve_http` in a
test). Every example below assumes it listens on ``localhost:8081``.

Bot API
-------
``GET|POST <root>/bot<token>/<method>`` with JSON, urlencoded or multipart bodies, and
``GET <root>/file/bot<token>/<file_path>``. Point python-telegram-bot (and ``closer``) at it with
``base_url=f"{root}/bot"`` (``TELEGRAM_BASE_URL=<root>``).

Webhooks: after ``setWebhook`` (url, secret_token, max_connections, allowed_updates,
drop_pending_updates) the stand-in POSTs every update to the URL as Telegram does (secret in
the ``X-Telegram-Bot-Api-Secret-Token`` header, at most max_connections at once, one at a time
per chat, retried with a short backoff until a 2xx answer); getUpdates then answers 409. Plain
``http://`` and any port are accepted, like a local Bot API server; ``standin.strict_webhooks =
True`` applies the cloud's rules (HTTPS, ports 80/88/443/8443, no reserved address). As on
Telegram, setWebhook with a URL is allowed once a second (else 429, retry after 1;
``standin.set_webhook_interval`` changes it) and repeated 409 Conflicts are spaced 3 s apart
(``standin.conflict_spacing``). See :mod:`bot.standin.webhook`.

Control API (JSON in, JSON out; a failed action answers 400 ``{"ok": false, "error": ...}``)
----------------------------------------------------------------------------------------
Acting as a user (``<id>`` is the Telegram user id; the user and their chat are created on
first use, ``first_name`` optional in every body):

``POST /_control/user/<id>/send {"text": "/start"}``
    The user sends a text (a leading /command gets its bot_command entity).
    Answers ``{"message_id": N}``.
``POST /_control/user/<id>/press {"label": "Tried it", "message_id"?: N}``
    Press the callback button with that label (on message N, default the newest bot message
    that has one). Answers ``{"callback_query_id": "..."}``.
``POST /_control/user/<id>/press_data {"message_id": N, "data": "1:n:5:t"}``
    Press with any callback data on message N (forged or stale data too).
``POST /_control/user/<id>/answer_poll {"message_id": N | "poll_id": "...", "option_ids": [0]}``
    Vote in a poll the bot sent (``[]`` retracts the vote); queues "poll" and, for a
    non-anonymous poll, "poll_answer".
``POST /_control/user/<id>/block`` and ``.../unblock``
    Block or unblock the bot (a my_chat_member update; sends to a blocked user get 403).
``POST /_control/user/<id>/raw_update {"update": {...}}``
``POST /_control/update {"update": {...}}``
    Queue an update object exactly as given, unchecked (e.g. a "poll" lacking a field, which
    python-telegram-bot cannot parse), under a fresh update_id. Answers ``{"update_id": N}``.

Reading:

``GET /_control/user/<id>/messages``
    The bot's messages in the chat as it looks now: edits applied (earlier texts under
    "edits"), deleted ones left out.
``GET /_control/user/<id>/transcript``
    Everything the bot did in the chat: ``{"messages": [...], "callback_queries": [...]}``;
    every bot message ever sent, deleted ones too (``"deleted": true``), each with its
    earlier texts under "edits"; every press by this user with its data, message_id,
    whether the bot answered it and the answer's text.
``GET /_control/updates``
    ``{"pending": [...], "confirmed_update_ids": [...], "delivery_counts": {"<id>": n}}``:
    the updates not yet confirmed, those confirmed so far in order (by a getUpdates offset or
    a webhook's 2xx), and how often each was handed out (getUpdates answers or webhook POSTs).
``GET /_control/webhook``
    ``{"info": <getWebhookInfo>, "attempts": [...], "in_flight": n, "peak_in_flight": n}``:
    each POST with its update_id, status, error and seconds.
``GET /_control/calls``
    Every Bot API call the stand-in answered, in order, with its params and outcome.

Faults and webhook routing:

``POST /_control/fault {"method": "sendMessage", "kind": "retry_after|server_error|timeout|
forbidden", "seconds"?, "code"?, "delivered"?, "hold_seconds"?, "drop"?, "times"?, "chat_id"?}``
    The next ``times`` calls of the method (to that chat) fail that way.
``POST /_control/webhook_upstreams {"urls": ["http://127.0.0.1:9001/hook", ...]}``
    Stand-in only: POST updates to these in turn instead of the webhook URL (as a load
    balancer in front of several workers would); ``[]`` goes back to the webhook URL.

With curl: ``curl -XPOST localhost:8081/_control/user/42/send -d '{"text": "/start"}'``, then
``curl localhost:8081/_control/user/42/messages``; press with
``curl -XPOST localhost:8081/_control/user/42/press -d '{"label": "Tried it"}'`` and answer a
poll with ``curl -XPOST localhost:8081/_control/user/42/answer_poll -d '{"message_id": 7,
"option_ids": [1]}'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from typing import Any

from aiohttp import web

from bot.standin import faults
from bot.standin.errors import ApiError
from bot.standin.request import _FILE_URL, split_method_url
from bot.standin.server import ApiResponse, Files, TelegramStandIn
from bot.standin.webhook import WebhookDelivery

_STANDIN: web.AppKey[TelegramStandIn] = web.AppKey("standin", TelegramStandIn)
_CLOSING: web.AppKey[asyncio.Event] = web.AppKey("closing", asyncio.Event)
_DELIVERY: web.AppKey[list[WebhookDelivery]] = web.AppKey("delivery", list)


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


async def _read_params(request: web.Request) -> tuple[dict[str, Any], Files]:
    params: dict[str, Any] = dict(request.query)
    files: Files = {}
    if not request.body_exists:
        return params, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError.bad_request("can't parse JSON encoded request") from None
        if isinstance(body, dict):
            params.update(body)
        return params, files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = (value.filename, value.file.read(), value.content_type)
        else:
            params[name] = value
    return params, files


async def _until_closing(request: web.Request, work: asyncio.Future[Any], hold: float) -> bool:
    """Wait for ``work`` (or ``hold`` seconds); False when the server shuts down first."""
    closing = asyncio.ensure_future(request.app[_CLOSING].wait())
    try:
        done, _ = await asyncio.wait(
            {work, closing}, timeout=hold, return_when=asyncio.FIRST_COMPLETED
        )
        return closing not in done
    finally:
        closing.cancel()


async def _api(request: web.Request) -> web.StreamResponse:
    standin = request.app[_STANDIN]
    file_match = _FILE_URL.search(request.path)
    if file_match is not None:
        content = standin.file_content(file_match["path"])
        if file_match["token"] != standin.token or content is None:
            return _json_response(ApiError(404, "Not Found").to_json(), 404)
        return web.Response(body=content)
    target = split_method_url(request.path)
    if target is None:
        return _json_response(ApiError(404, "Not Found").to_json(), 404)
    token, method = target
    try:
        params, files = await _read_params(request)
    except ApiError as exc:
        return _json_response(exc.to_json(), exc.code)
    task: asyncio.Task[ApiResponse] = asyncio.create_task(
        standin.handle(method, token, params, files)
    )
    if not await _until_closing(request, task, hold=3600.0):
        task.cancel()
        return _json_response(ApiError(503, "Service Unavailable").to_json(), 503)
    response = task.result()
    if response.timeout is not None:
        if response.timeout.drop:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        sleeper = asyncio.ensure_future(asyncio.sleep(response.timeout.hold_seconds))
        await _until_closing(request, sleeper, hold=response.timeout.hold_seconds + 1)
        sleeper.cancel()
    return _json_response(response.body, response.status)


def _fault_from(body: dict[str, Any]) -> faults.Fault:
    kind = body.get("kind")
    if kind == "retry_after":
        return faults.RetryAfter(int(body.get("seconds", 1)))
    if kind == "server_error":
        return faults.ServerError(int(body.get("code", 502)))
    if kind == "timeout":
        return faults.Timeout(
            delivered=bool(body.get("delivered", False)),
            hold_seconds=float(body.get("hold_seconds", 30.0)),
            drop=bool(body.get("drop", False)),
        )
    if kind == "forbidden":
        return faults.Forbidden()
    raise ValueError(f"unknown fault kind {kind!r}")


def _raw_update(body: dict[str, Any]) -> dict[str, Any]:
    update = body.get("update")
    if not isinstance(update, dict):
        raise ValueError('give the update as a JSON object under "update"')
    return update


async def _control(request: web.Request) -> web.StreamResponse:
    standin = request.app[_STANDIN]
    body: dict[str, Any] = {}
    parts = request.path.strip("/").split("/")[1:]  # after "_control"
    try:
        if request.body_exists:
            loaded = json.loads(await request.read() or b"{}")
            body = loaded if isinstance(loaded, dict) else {}
        if parts == ["update"]:
            return _json_response({"update_id": standin.add_raw_update(_raw_update(body))})
        if parts == ["updates"]:
            return _json_response(
                {
                    "pending": standin.pending_updates,
                    "confirmed_update_ids": standin.confirmed_update_ids,
                    "delivery_counts": {str(k): v for k, v in standin.delivery_counts.items()},
                }
            )
        if parts == ["webhook_upstreams"]:
            urls = body.get("urls")
            if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
                raise ValueError('give the upstream URLs as a list under "urls"')
            standin.webhook_upstreams = list(urls)
            standin.notify()
            return _json_response({"ok": True})
        if parts == ["webhook"]:
            delivery = standin.delivery
            return _json_response(
                {
                    "info": standin.webhook_info(),
                    "attempts": [dataclasses.asdict(a) for a in standin.webhook_attempts],
                    "in_flight": delivery.in_flight if delivery else 0,
                    "peak_in_flight": delivery.peak_in_flight if delivery else 0,
                }
            )
        if parts == ["calls"]:
            return _json_response(
                [
                    {
                        "method": c.method,
                        "params": c.params,
                        "ok": c.ok,
                        "error_code": c.error_code,
                        "description": c.description,
                        "timed_out": c.timed_out,
                    }
                    for c in standin.calls
                ]
            )
        if parts == ["fault"]:
            chat_id = body.get("chat_id")
            standin.inject_fault(
                str(body["method"]), _fault_from(body), int(body.get("times", 1)), chat_id
            )
            return _json_response({"ok": True})
        if len(parts) == 3 and parts[0] == "user":
            return _json_response(await _act(standin, int(parts[1]), parts[2], body))
    except (LookupError, ValueError, TimeoutError) as exc:
        return _json_response({"ok": False, "error": str(exc)}, 400)
    return _json_response({"ok": False, "error": "unknown control endpoint"}, 404)


async def _act(standin: TelegramStandIn, user_id: int, action: str, body: dict[str, Any]) -> Any:
    user = standin.user(user_id, first_name=str(body.get("first_name", "Alex")))
    if action == "send":
        return {"message_id": await user.send(str(body["text"]))}
    if action == "press":
        message_id = body.get("message_id")
        query_id = await user.press(str(body["label"]), int(message_id) if message_id else None)
        return {"callback_query_id": query_id}
    if action == "press_data":
        query_id = await user.press_data(int(body["message_id"]), str(body["data"]))
        return {"callback_query_id": query_id}
    if action == "answer_poll":
        target = str(body["poll_id"]) if "poll_id" in body else int(body["message_id"])
        await user.answer_poll(target, [int(o) for o in body.get("option_ids", [])])
        return {"ok": True}
    if action == "block":
        await user.block()
        return {"ok": True}
    if action == "unblock":
        await user.unblock()
        return {"ok": True}
    if action == "messages":
        return user.summary()
    if action == "transcript":
        return user.transcript()
    if action == "raw_update":
        return {"update_id": user.send_raw_update(_raw_update(body))}
    raise LookupError(f"unknown action {action!r}")


def build_web_app(
    standin: TelegramStandIn,
    *,
    deliver_webhooks: bool = True,
    webhook_options: dict[str, float] | None = None,
) -> web.Application:
    """The aiohttp application serving ``standin``; with ``deliver_webhooks`` it also pushes
    updates to the webhook while it runs (``webhook_options``: retry_delay, max_retry_delay,
    request_timeout of :class:`bot.standin.webhook.WebhookDelivery`)."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[_STANDIN] = standin
    app[_CLOSING] = asyncio.Event()
    app[_DELIVERY] = []

    async def on_startup(app: web.Application) -> None:
        if deliver_webhooks and standin.delivery is None:
            delivery = WebhookDelivery(standin, **(webhook_options or {}))
            await delivery.start()
            app[_DELIVERY].append(delivery)

    async def on_shutdown(app: web.Application) -> None:
        app[_CLOSING].set()
        standin.notify()
        while app[_DELIVERY]:
            await app[_DELIVERY].pop().stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.router.add_route("*", "/_control/{tail:.*}", _control)
    app.router.add_route("*", "/{tail:.*}", _api)
    return app


async def serve_http(
    standin: TelegramStandIn,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    deliver_webhooks: bool = True,
    webhook_options: dict[str, float] | None = None,
) -> tuple[web.AppRunner, str]:
    """Serve ``standin`` over HTTP; return the runner (``await runner.cleanup()`` to stop, which
    also stops webhook delivery) and the URL root (python-telegram-bot's base_url is
    ``f"{url_root}/bot"``). Webhook delivery runs unless ``deliver_webhooks=False`` or the
    stand-in already has one (:meth:`TelegramStandIn.start_webhook_delivery`)."""
    app = build_web_app(standin, deliver_webhooks=deliver_webhooks, webhook_options=webhook_options)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        raise
    bound_port = int(runner.addresses[0][1])
    return runner, f"http://{host}:{bound_port}"

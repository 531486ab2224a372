"""The stand-in over HTTP (aiohttp): the Bot API for a bot in another process, plus a small
JSON control API to act as users from another process.

Bot API: ``GET|POST <root>/bot<token>/<method>`` with JSON, urlencoded or multipart bodies, and
``GET <root>/file/bot<token>/<file_path>``. Point python-telegram-bot at it with
``base_url=f"{url_root}/bot"``.

Control (JSON in, JSON out):
    POST /_control/user/<id>/send         {"text": "...", "first_name"?: "..."}
    POST /_control/user/<id>/press        {"label": "...", "message_id"?: N}
    POST /_control/user/<id>/press_data   {"message_id": N, "data": "..."}
    POST /_control/user/<id>/answer_poll  {"message_id"?: N, "poll_id"?: "...", "option_ids": []}
    POST /_control/user/<id>/block | unblock
    GET  /_control/user/<id>/messages
    GET  /_control/calls
    POST /_control/fault  {"method": "...", "kind": "retry_after|server_error|timeout|forbidden",
                           "seconds"?, "code"?, "delivered"?, "times"?, "chat_id"?}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from bot.standin import faults
from bot.standin.errors import ApiError
from bot.standin.request import _FILE_URL, split_method_url
from bot.standin.server import ApiResponse, Files, TelegramStandIn

_STANDIN: web.AppKey[TelegramStandIn] = web.AppKey("standin", TelegramStandIn)
_CLOSING: web.AppKey[asyncio.Event] = web.AppKey("closing", asyncio.Event)


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


async def _control(request: web.Request) -> web.StreamResponse:
    standin = request.app[_STANDIN]
    body: dict[str, Any] = {}
    if request.body_exists:
        loaded = await request.json()
        body = loaded if isinstance(loaded, dict) else {}
    parts = request.path.strip("/").split("/")[1:]  # after "_control"
    try:
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
    raise LookupError(f"unknown action {action!r}")


def build_web_app(standin: TelegramStandIn) -> web.Application:
    """The aiohttp application serving ``standin``."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[_STANDIN] = standin
    app[_CLOSING] = asyncio.Event()

    async def on_shutdown(app: web.Application) -> None:
        app[_CLOSING].set()
        standin.notify()

    app.on_shutdown.append(on_shutdown)
    app.router.add_route("*", "/_control/{tail:.*}", _control)
    app.router.add_route("*", "/{tail:.*}", _api)
    return app


async def serve_http(
    standin: TelegramStandIn, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Serve ``standin`` over HTTP; return the runner (``await runner.cleanup()`` to stop) and
    the URL root (python-telegram-bot's base_url is ``f"{url_root}/bot"``)."""
    runner = web.AppRunner(build_web_app(standin), access_log=None, shutdown_timeout=1.0)
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

"""Webhooks as Telegram has them: setWebhook's checks, pushing with the secret header to a
real local aiohttp server, retries until a 2xx, max_connections, per-chat order, conflicts."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.standin import StandInRequest, TelegramStandIn, WebhookDelivery, serve_http

SECRET = "s3cr3t_-Token"


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll ``condition`` (things the stand-in is not woken by, such as the hook's counters)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {seconds}s")
        await asyncio.sleep(0.005)


class Hook:
    """A real aiohttp server in the test's loop, standing in for the bot's webhook endpoint."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.statuses: deque[int] = deque()  # answers to give first; then 200
        self.failing: dict[str, int] = {}  # message text -> how many times to answer 500
        self.reply: dict[str, Any] | None = None  # a JSON body for 2xx answers
        self.gate = asyncio.Event()  # handlers wait until it is set
        self.gate.set()
        self.active = 0
        self.peak = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received.append((body, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        text = body.get("message", {}).get("text", "")
        if self.failing.get(text, 0) > 0:
            self.failing[text] -= 1
            return web.Response(status=500)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await self.gate.wait()
            status = self.statuses.popleft() if self.statuses else 200
            if self.reply is not None and status < 300:
                return web.json_response(self.reply, status=status)
            return web.Response(status=status)
        finally:
            self.active -= 1

    @property
    def texts(self) -> list[str]:
        return [body["message"]["text"] for body, _ in self.received if "message" in body]


async def serve_hook() -> tuple[Hook, web.AppRunner]:
    receiver = Hook()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    return receiver, runner


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    receiver, runner = await serve_hook()
    try:
        yield receiver
    finally:
        receiver.gate.set()
        await runner.cleanup()


@pytest.fixture
async def hook2() -> AsyncIterator[Hook]:
    receiver, runner = await serve_hook()
    try:
        yield receiver
    finally:
        receiver.gate.set()
        await runner.cleanup()


@pytest.fixture
def quick(standin: TelegramStandIn) -> TelegramStandIn:
    """The stand-in without setWebhook's once-a-second limit."""
    standin.set_webhook_interval = 0.0
    return standin


@pytest.fixture
async def delivery(quick: TelegramStandIn) -> AsyncIterator[WebhookDelivery]:
    """Webhook delivery in-process, with a short backoff."""
    started = await quick.start_webhook_delivery(retry_delay=0.02, max_retry_delay=0.1)
    try:
        yield started
    finally:
        await quick.stop_webhook_delivery()


# -- setWebhook, deleteWebhook, getWebhookInfo ---------------------------------------------


async def test_set_webhook_refuses_what_telegram_refuses(bot: Bot, quick: TelegramStandIn) -> None:
    cases = [
        ({"url": "not a url"}, "invalid webhook url specified"),
        ({"url": "ftp://example.org/hook"}, "invalid webhook url specified"),
        ({"url": "https://example.org:99999/hook"}, "invalid webhook url specified"),
        (
            {"url": "https://example.org/hook", "secret_token": "a" * 257},
            "secret token is too long",
        ),
        ({"url": "https://example.org/h", "secret_token": "a b"}, "contains unallowed characters"),
        ({"url": "https://example.org/h", "secret_token": "a+b="}, "contains unallowed characters"),
        (
            {"url": "https://example.org/h", "secret_token": "sécret"},
            "contains unallowed characters",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(BadRequest, match=f"(?i){message}"):
            await bot.set_webhook(**kwargs)  # type: ignore[arg-type]
        assert (await bot.get_webhook_info()).url == ""
    assert await bot.set_webhook("https://example.org/hook", secret_token="a" * 256)
    assert quick.webhook.secret_token == "a" * 256


async def test_max_connections_is_clamped_to_1_100(bot: Bot, quick: TelegramStandIn) -> None:
    await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).max_connections == 40  # Telegram's default
    await bot.set_webhook("https://example.org/hook", max_connections=0)
    assert (await bot.get_webhook_info()).max_connections == 1
    await bot.set_webhook("https://example.org/hook", max_connections=1000)
    assert (await bot.get_webhook_info()).max_connections == 100


async def test_strict_webhooks_apply_the_clouds_rules(bot: Bot, quick: TelegramStandIn) -> None:
    quick.strict_webhooks = True
    cases = [
        ("http://example.org/hook", "bad webhook: an https url must be provided for webhook"),
        ("https://example.org:8080/hook", "only on ports 80, 88, 443 or 8443"),
        ("https://127.0.0.1/hook", "ip address 127.0.0.1 is reserved"),
        ("https://localhost:8443/hook", "ip address 127.0.0.1 is reserved"),
        ("https://10.1.2.3:88/hook", "ip address 10.1.2.3 is reserved"),
    ]
    for url, message in cases:
        with pytest.raises(BadRequest, match=f"(?i){message}"):
            await bot.set_webhook(url)
    assert await bot.set_webhook("https://example.org:8443/hook")
    # a refused replacement leaves no webhook at all: the old one is closed first
    with pytest.raises(BadRequest, match=r"(?i)ports"):
        await bot.set_webhook("https://example.org:9000/hook")
    assert (await bot.get_webhook_info()).url == ""


async def test_set_webhook_once_a_second(bot: Bot, standin: TelegramStandIn) -> None:
    assert await bot.set_webhook("https://example.org/a")
    with pytest.raises(RetryAfter) as caught:
        await bot.set_webhook("https://example.org/b")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert await bot.delete_webhook()  # deleting is not limited
    assert standin.webhook_url == ""


async def test_webhook_info_and_descriptions(quick: TelegramStandIn) -> None:
    user = quick.user(42)
    await user.send("one")
    await user.send("two")

    async def call(method: str, **params: Any) -> dict[str, Any]:
        response = await quick.handle(method, quick.token, params)
        assert isinstance(response.body, dict)
        return response.body

    hook = "https://example.org/hook"
    assert (await call("deleteWebhook"))["description"] == "Webhook is already deleted"
    answer = await call(
        "setWebhook", url=hook, max_connections=5, allowed_updates='["message","poll"]'
    )
    assert answer == {"ok": True, "result": True, "description": "Webhook was set"}
    assert (await call("setWebhook", url=hook, max_connections=5))[
        "description"
    ] == "Webhook is already set"
    info = (await call("getWebhookInfo"))["result"]
    assert info == {
        "url": hook,
        "has_custom_certificate": False,
        "pending_update_count": 2,
        "max_connections": 5,
        "allowed_updates": ["message", "poll"],
    }
    assert (await call("deleteWebhook"))["description"] == "Webhook was deleted"
    info = (await call("getWebhookInfo"))["result"]
    assert info["url"] == "" and "max_connections" not in info
    assert info["pending_update_count"] == 2  # deleting without drop keeps them


async def test_delete_webhook_with_drop_pending_updates(bot: Bot, quick: TelegramStandIn) -> None:
    user = quick.user(42)
    await bot.set_webhook("https://example.org/hook")  # nobody delivers: updates wait
    for text in ("a", "b", "c"):
        await user.send(text)
    assert (await bot.get_webhook_info()).pending_update_count == 3
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0
    assert await bot.get_updates() == ()
    assert quick.confirmed_update_ids == []  # dropped, never confirmed by the bot
    await user.send("after")
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["after"]


async def test_set_webhook_with_drop_pending_updates(bot: Bot, quick: TelegramStandIn) -> None:
    await quick.user(42).send("old")
    await bot.set_webhook("https://example.org/hook", drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0


# -- getUpdates conflicts ----------------------------------------------------------------------


async def test_get_updates_is_409_while_a_webhook_is_set(bot: Bot, quick: TelegramStandIn) -> None:
    await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict) as caught:
        await bot.get_updates()
    assert caught.value.message == (
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first"
    )


async def test_repeated_conflicts_are_spaced_out(bot: Bot, quick: TelegramStandIn) -> None:
    quick.conflict_spacing = 0.5  # Telegram: 3 s
    await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict):
        await bot.get_updates()  # the first 409 comes at once
    second = asyncio.create_task(bot.get_updates())
    await asyncio.sleep(0.1)
    assert not second.done()  # the next one within the spacing waits for it
    with pytest.raises(Conflict, match="webhook is active"):
        await asyncio.wait_for(second, 3)


async def test_set_webhook_ends_a_waiting_long_poll(bot: Bot, quick: TelegramStandIn) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=5)))
    await asyncio.sleep(0.02)
    await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict, match="terminated by setWebhook request"):
        await asyncio.wait_for(poll, 2)


async def test_two_long_polls_over_http_the_older_gets_409(quick: TelegramStandIn) -> None:
    runner, root = await serve_http(quick)
    try:
        async with httpx.AsyncClient(base_url=f"{root}/bot{quick.token}", timeout=10) as client:
            older = asyncio.create_task(client.get("/getUpdates", params={"timeout": 5}))
            await asyncio.sleep(0.05)
            newer = asyncio.create_task(client.get("/getUpdates", params={"timeout": 5}))
            first = await asyncio.wait_for(older, 3)
            assert first.status_code == 409
            assert first.json() == {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            }
            await quick.user(42).send("for the newer one")
            second = await asyncio.wait_for(newer, 3)
            assert second.status_code == 200
            assert second.json()["result"][0]["message"]["text"] == "for the newer one"
    finally:
        await runner.cleanup()


# -- pushing ------------------------------------------------------------------------------------


async def test_push_carries_the_secret_header(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    await bot.set_webhook(hook.url, secret_token=SECRET)
    update_id = await quick.user(42).send("hello")
    await until(lambda: quick.pending_updates == [] and len(hook.received) == 1)
    body, secret = hook.received[0]
    assert secret == SECRET
    assert body["update_id"] == 1 and body["message"]["text"] == "hello"
    assert body["message"]["message_id"] == update_id
    assert quick.confirmed_update_ids == [1]
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_no_secret_no_header(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    await bot.set_webhook(hook.url)
    await quick.user(42).send("hello")
    await until(lambda: len(hook.received) == 1)
    assert hook.received[0][1] is None


async def test_a_500_is_retried_until_a_2xx(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    hook.statuses.extend([500, 502])
    await bot.set_webhook(hook.url, secret_token=SECRET)
    await quick.user(42).send("again")
    await until(lambda: quick.pending_updates == [] and len(quick.webhook_attempts) == 3)
    assert [body["update_id"] for body, _ in hook.received] == [1, 1, 1]
    assert [a.status for a in quick.webhook_attempts] == [500, 502, 200]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
    assert info.last_error_date is not None
    assert quick.delivery_counts == {1: 3}


async def test_an_update_leaves_the_queue_only_after_a_2xx(
    bot: Bot, quick: TelegramStandIn, hook: Hook
) -> None:
    async with WebhookDelivery(quick, retry_delay=0.3, max_retry_delay=0.3):
        hook.statuses.append(503)
        await bot.set_webhook(hook.url)
        await quick.user(42).send("keep me")
        await until(lambda: len(quick.webhook_attempts) == 1)
        # refused: still pending while it waits for its retry
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 1
        assert info.last_error_message == "Wrong response from the webhook: 503 Service Unavailable"
        # in flight: still pending while the bot has not answered
        hook.gate.clear()
        await until(lambda: len(hook.received) == 2)
        assert (await bot.get_webhook_info()).pending_update_count == 1
        assert quick.confirmed_update_ids == []
        hook.gate.set()
        await until(lambda: quick.pending_updates == [])
        assert quick.confirmed_update_ids == [1]


async def test_a_refused_connection_is_retried(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    closed = await _closed_port()
    await bot.set_webhook(f"http://127.0.0.1:{closed}/hook")
    await quick.user(42).send("nobody home")
    await until(lambda: len(quick.webhook_attempts) >= 2)
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused"
    assert info.pending_update_count == 1
    await bot.set_webhook(hook.url)  # the bot comes up: the update goes out
    await until(lambda: quick.pending_updates == [])
    assert hook.texts == ["nobody home"]


async def test_a_timeout_is_retried(bot: Bot, quick: TelegramStandIn, hook: Hook) -> None:
    async with WebhookDelivery(quick, retry_delay=0.01, request_timeout=0.2):
        hook.gate.clear()
        await bot.set_webhook(hook.url)
        await quick.user(42).send("slow")
        await until(lambda: len(quick.webhook_attempts) == 1)
        assert quick.webhook.last_error_message == "Read timeout expired"
        hook.gate.set()
        await until(lambda: quick.pending_updates == [])
    assert len(hook.received) >= 2


async def test_max_connections_is_respected(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    hook.gate.clear()
    await bot.set_webhook(hook.url, max_connections=3)
    for user_id in range(1, 11):  # ten chats: nothing orders them
        await quick.user(user_id).send(f"from {user_id}")
    await until(lambda: hook.active == 3)
    await asyncio.sleep(0.1)
    assert len(hook.received) == 3
    assert delivery.in_flight == 3
    hook.gate.set()
    await until(lambda: quick.pending_updates == [])
    assert sorted(hook.texts) == sorted(f"from {n}" for n in range(1, 11))
    assert hook.peak == 3
    assert delivery.peak_in_flight == 3


async def test_one_chat_is_pushed_in_order_one_at_a_time(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    hook.failing.update({"m0": 1, "m2": 2})  # failures do not let later ones overtake
    await bot.set_webhook(hook.url, max_connections=10)
    user = quick.user(42)
    for n in range(5):
        await user.send(f"m{n}")
    await quick.user(43).send("other chat")
    await until(lambda: quick.pending_updates == [])
    mine = [text for text in hook.texts if text.startswith("m")]
    assert mine == ["m0", "m0", "m1", "m2", "m2", "m2", "m3", "m4"]
    answered = [u for u in quick.confirmed_update_ids if u <= 5]
    assert answered == [1, 2, 3, 4, 5]


async def test_allowed_updates_filter_the_push(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    await bot.set_webhook(hook.url, allowed_updates=["callback_query"])
    user = quick.user(42)
    await user.send("not wanted")
    await bot.send_message(
        42,
        "Pick",
        reply_markup={"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]},  # type: ignore[arg-type]
    )
    await user.press("Go")
    await until(lambda: quick.pending_updates == [] and len(hook.received) == 1)
    assert "callback_query" in hook.received[0][0]


async def test_a_method_in_the_webhook_answer_is_run(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    hook.reply = {"method": "sendMessage", "chat_id": 42, "text": "answered in the reply"}
    await bot.set_webhook(hook.url)
    user = quick.user(42)
    await user.send("hi")
    reply = await user.next_message(timeout=3)
    assert reply.text == "answered in the reply"


async def test_deleting_the_webhook_stops_the_push(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook
) -> None:
    hook.gate.clear()
    await bot.set_webhook(hook.url)
    await quick.user(42).send("caught in flight")
    await until(lambda: hook.active == 1)
    await bot.delete_webhook()
    hook.gate.set()
    await asyncio.sleep(0.05)
    # the answer came for a webhook that is gone: the update is still there for getUpdates
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["caught in flight"]


async def test_push_from_the_served_stand_in_to_a_bot_over_http(
    quick: TelegramStandIn, hook: Hook
) -> None:
    runner, root = await serve_http(quick, webhook_options={"retry_delay": 0.01})
    try:
        assert quick.delivery is not None
        async with Bot(quick.token, base_url=f"{root}/bot", request=HTTPXRequest()) as bot:
            hook.statuses.append(500)
            await bot.set_webhook(hook.url, secret_token=SECRET, max_connections=2)
            await quick.user(42).send("over the wire")
            await until(lambda: quick.pending_updates == [] and len(hook.received) == 2)
            assert {secret for _, secret in hook.received} == {SECRET}
            async with httpx.AsyncClient(base_url=root) as client:
                seen = (await client.get("/_control/webhook")).json()
            assert seen["info"]["url"] == hook.url
            assert seen["info"]["last_error_message"].endswith("500 Internal Server Error")
            assert [a["status"] for a in seen["attempts"]] == [500, 200]
            assert seen["peak_in_flight"] == 1
    finally:
        await runner.cleanup()
    assert quick.delivery is None  # stopped with the server


async def test_upstreams_take_the_pushes_in_turn(
    bot: Bot, quick: TelegramStandIn, delivery: WebhookDelivery, hook: Hook, hook2: Hook
) -> None:
    await bot.set_webhook("https://bot.example.org/hook", secret_token=SECRET)
    quick.webhook_upstreams = [hook.url, hook2.url]
    for user_id in range(1, 7):
        await quick.user(user_id).send(f"from {user_id}")
    await until(lambda: quick.pending_updates == [])
    assert len(hook.received) == 3 and len(hook2.received) == 3
    assert {secret for _, secret in hook.received + hook2.received} == {SECRET}
    # one upstream down: its share is retried on the other
    closed = await _closed_port()
    quick.webhook_upstreams = [f"http://127.0.0.1:{closed}/hook", hook2.url]
    for user_id in range(1, 5):
        await quick.user(user_id).send("again")
    await until(lambda: quick.pending_updates == [])
    assert hook2.texts.count("again") == 4
    refused = [a for a in quick.webhook_attempts if a.error == "Connection refused"]
    assert refused and all(str(closed) in a.url for a in refused)


async def test_upstreams_over_the_control_api(quick: TelegramStandIn, hook: Hook) -> None:
    runner, root = await serve_http(quick)
    try:
        async with httpx.AsyncClient(base_url=root) as client:
            bad = await client.post("/_control/webhook_upstreams", json={"urls": "x"})
            assert bad.status_code == 400
            ok = await client.post("/_control/webhook_upstreams", json={"urls": [hook.url]})
            assert ok.json() == {"ok": True}
            await client.post(
                f"/bot{quick.token}/setWebhook", json={"url": "https://bot.example.org/hook"}
            )
            await client.post("/_control/user/42/send", json={"text": "via the balancer"})
            await until(lambda: quick.pending_updates == [])
    finally:
        await runner.cleanup()
    assert hook.texts == ["via the balancer"]


async def test_stop_abandons_posts_in_flight(bot: Bot, quick: TelegramStandIn, hook: Hook) -> None:
    delivery = await quick.start_webhook_delivery()
    with pytest.raises(RuntimeError):
        await quick.start_webhook_delivery()  # one at a time
    hook.gate.clear()
    await bot.set_webhook(hook.url)
    await quick.user(42).send("cut off")
    await until(lambda: hook.active == 1)
    await delivery.stop()
    assert quick.delivery is None
    assert [u["message"]["text"] for u in quick.pending_updates] == ["cut off"]
    assert quick.webhook_attempts == []
    hook.gate.set()
    async with WebhookDelivery(quick):  # a new one delivers it again
        await until(lambda: quick.pending_updates == [])
    assert hook.texts == ["cut off", "cut off"]


async def test_a_python_telegram_bot_application_behind_a_webhook(
    quick: TelegramStandIn, delivery: WebhookDelivery
) -> None:
    """python-telegram-bot's custom-webhook pattern: an aiohttp route checks the secret,
    handles the update, then answers 200; the stand-in pushes to it."""
    app = (
        Application.builder()
        .token(quick.token)
        .request(StandInRequest(quick))
        .updater(None)
        .build()
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greet."""
        assert update.effective_message is not None
        await update.effective_message.reply_text("Hello from a webhook")

    app.add_handler(CommandHandler("start", start))

    async def telegram(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return web.Response(status=403)
        await app.process_update(Update.de_json(await request.json(), app.bot))
        return web.Response()

    server = web.Application()
    server.router.add_post("/telegram", telegram)
    runner = web.AppRunner(server)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram"
    try:
        async with app:
            await app.bot.set_webhook(url, secret_token="wrong-secret")
            user = quick.user(42)
            await user.send("/start")
            await until(lambda: len(quick.webhook_attempts) >= 2)
            assert {a.status for a in quick.webhook_attempts} == {403}
            assert user.messages == []
            await app.bot.set_webhook(url, secret_token=SECRET)
            reply = await user.next_message(timeout=3)
            assert reply.text == "Hello from a webhook"
            await until(lambda: quick.pending_updates == [])
    finally:
        await runner.cleanup()


async def _closed_port() -> int:
    """A loopback port nothing listens on."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port

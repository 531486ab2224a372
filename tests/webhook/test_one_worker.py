"""One `closer run` webhook worker: what it refuses, /healthz, /metrics, /stats, and settings.

Refused calls (no secret, a wrong one, an oversize body, garbage JSON, JSON that is no update)
change nothing and leave no traceback and no body in the log. /metrics parses with
prometheus-client's own parser and carries no user id or text in a label. /stats answers an
operator (ADMIN_IDS) and gives anyone else the unknown-command reply.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.standin import TelegramStandIn, UserActor
from bot.storage.db import Database
from bot.storage.models import User
from bot.webhook import SECRET_HEADER, HttpFace
from tests.test_run_over_http import TOKEN
from tests.webhook.conftest import (
    HOOK_PATH,
    SECRET,
    Worker,
    assert_clean,
    closer_cli,
    http_get,
    register_webhook,
    worker_env,
)

pytestmark = pytest.mark.slow  # `closer run` in processes of their own

MARKER = "zq-private-body-words"
OPERATOR, STRANGER = 555_001, 555_002


def start_update(update_id: int, user_id: int, text: str = "/start") -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Pat"}
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_796_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Pat"},
            "from": person,
            "text": text,
            "entities": entities if text.startswith("/") else [],
        },
    }


async def post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        await response.read()
        return response.status


async def user_count(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.transaction(write=False) as session:
            return int(await session.scalar(select(func.count(User.id))) or 0)
    finally:
        await db.dispose()


async def reply_to(standin: TelegramStandIn, user: UserActor, text: str) -> str:
    """Send ``text`` and wait until it is handled (confirmed); the bot's last message."""
    before = len(user.messages)
    await user.send(text)
    await standin.wait_until(lambda: len(user.messages) > before, timeout=10)
    await standin.wait_until(lambda: not standin.pending_updates, timeout=10)
    return user.messages[-1].text or ""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return found


async def test_refused_calls_change_nothing_and_log_no_traceback_or_body(
    standin_http: tuple[TelegramStandIn, str],
    start_worker: Callable[..., Worker],
    postgres_url: str,
) -> None:
    standin, _ = standin_http
    standin.user(77)
    worker = await start_worker(postgres_url).started()
    valid = json.dumps(start_update(1, 77, f"/start {MARKER}")).encode()
    oversize = json.dumps({"update_id": 2, "padding": MARKER * 80_000}).encode()
    assert len(oversize) > 1024 * 1024

    refused = {
        "no secret": await post(worker.hook, valid, None),
        "wrong secret": await post(worker.hook, valid, SECRET + "x"),
        "empty secret": await post(worker.hook, valid, ""),
        "oversize": await post(worker.hook, oversize, SECRET),
        "garbage": await post(worker.hook, f"{{not json {MARKER}".encode(), SECRET),
        "a list": await post(worker.hook, b"[1, 2]", SECRET),
        "no update_id": await post(worker.hook, json.dumps({"message": MARKER}).encode(), SECRET),
    }
    assert refused == {
        "no secret": 401,
        "wrong secret": 403,
        "empty secret": 403,
        "oversize": 400,
        "garbage": 400,
        "a list": 400,
        "no update_id": 400,
    }
    assert await user_count(postgres_url) == 0
    assert not standin.calls_to("sendMessage")
    _, metrics = await http_get(f"{worker.base}/metrics")
    found = samples(metrics)
    assert found[("closer_webhook_rejected_total", (("reason", "secret"),))] == 3
    assert found[("closer_webhook_rejected_total", (("reason", "size"),))] == 1
    assert found[("closer_webhook_rejected_total", (("reason", "not_update"),))] == 3

    for raw in (
        b"\x16\x03\x01\x02\x00 a TLS hello\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", worker.port)
        writer.write(raw)
        assert (await reader.read(100)).startswith(b"HTTP/1.0 400")
        writer.close()

    assert await post(worker.hook, valid, SECRET) == 200  # the same call, with the secret
    assert await user_count(postgres_url) == 1
    assert standin.calls_to("sendMessage")  # answered before the 200

    assert await worker.exit_code_after(signal.SIGTERM) == 0
    stderr = worker.stderr()
    assert_clean(stderr)
    assert MARKER not in stderr
    assert stderr.count("event='webhook_rejected'") == len(refused)
    assert "event='http_error' error='BadHttpMessage'" in stderr  # one line, no traceback


async def test_healthz_metrics_and_stats_for_operators_only(
    standin_http: tuple[TelegramStandIn, str],
    start_worker: Callable[..., Worker],
    postgres_url: str,
) -> None:
    standin, url_root = standin_http
    operator, stranger = standin.user(OPERATOR), standin.user(STRANGER)
    worker = start_worker(postgres_url, ADMIN_IDS=str(OPERATOR))
    await worker.started()
    await register_webhook(standin, url_root, postgres_url, [worker])

    status, body = await http_get(f"{worker.base}/healthz")
    assert (status, json.loads(body)["status"]) == (200, "ok")

    await reply_to(standin, stranger, "/start")
    refusal = await reply_to(standin, stranger, "/stats")
    unknown = await reply_to(standin, stranger, "/nosuchcommand")
    assert refusal == unknown  # the normal unknown-command reply
    assert "Users" not in refusal

    stats = await reply_to(standin, operator, "/stats")
    assert "Users: 1 (onboarding 1, active 0, paused 0, blocked 0)" in stats
    assert "Outbox lag" in stats

    status, text = await http_get(f"{worker.base}/metrics")
    assert status == 200
    found = samples(text)
    assert found[("closer_updates_total", (("kind", "message"), ("result", "ok")))] == 4
    assert found[("closer_update_seconds_count", (("kind", "message"),))] == 4
    assert ("closer_outbox_due_lag_seconds", ()) in found
    assert found[("closer_dispatcher", ())] == 1.0
    labels = " ".join(v for (_, pairs) in found for _, v in pairs)
    for private in (str(OPERATOR), str(STRANGER), "/stats", SECRET):
        assert private not in labels
    assert await worker.exit_code_after(signal.SIGTERM) == 0
    assert_clean(worker.stderr())


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (None, "WEBHOOK_URL is set but WEBHOOK_SECRET is not"),
        ("has spaces in-it", "WEBHOOK_SECRET: Value error, must be 1-256 characters"),
        ("x" * 257, "WEBHOOK_SECRET: Value error, must be 1-256 characters"),
    ],
    ids=["missing", "bad characters", "too long"],
)
async def test_webhook_mode_without_a_good_secret_is_a_one_line_error(
    secret: str | None, expected: str, tmp_path: Any
) -> None:
    env = worker_env("http://127.0.0.1:9", f"sqlite:///{tmp_path}/closer.sqlite3")
    env.pop("WEBHOOK_SECRET")
    if secret is not None:
        env["WEBHOOK_SECRET"] = secret
    code, _, err = await closer_cli(env, "run")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert expected in err
    if secret is not None:
        assert secret not in err
    assert not (tmp_path / "closer.sqlite3").exists()  # stopped before touching anything


async def test_polling_with_listen_serves_healthz_and_metrics_and_still_polls(
    standin_http: tuple[TelegramStandIn, str],
    start_worker: Callable[..., Worker],
    sqlite_url: str,
) -> None:
    standin, _ = standin_http
    worker = await start_worker(sqlite_url, WEBHOOK_URL="", WEBHOOK_SECRET="").started()
    assert "webhook=False" in worker.stderr()
    person = standin.user(88)
    welcome = await reply_to(standin, person, "/start")
    assert welcome
    assert any(call.method == "getUpdates" for call in standin.calls)  # it polled
    assert not [a for a in standin.webhook_attempts]
    status, body = await http_get(f"{worker.base}/healthz")
    assert status == 200
    assert json.loads(body) == {
        "status": "ok",
        "database": "ok",
        "schema": "ok",
        "storage": "ok",
        "loop": "ok",
    }
    status, text = await http_get(f"{worker.base}/metrics")
    assert samples(text)[("closer_updates_total", (("kind", "message"), ("result", "ok")))] == 1
    status, _ = await http_get(f"{worker.base}{HOOK_PATH}")
    assert status in (404, 405)  # no webhook route in polling mode
    assert await worker.exit_code_after(signal.SIGTERM) == 0
    assert_clean(worker.stderr())


async def test_healthz_is_503_when_the_database_does_not_answer() -> None:
    db = Database("postgresql://nobody@127.0.0.1:9/none")
    face = HttpFace(db)
    port = await face.start("127.0.0.1", 0)
    try:
        status, body = await http_get(f"http://127.0.0.1:{port}/healthz")
    finally:
        await face.stop()
        await db.dispose()
    answer = json.loads(body)
    assert status == 503
    assert answer["status"] == "unavailable"
    assert answer["loop"] == "ok"
    assert answer["database"] != "ok"


async def test_closer_webhook_set_info_delete_one_call_each(
    standin_http: tuple[TelegramStandIn, str], sqlite_url: str
) -> None:
    standin, url_root = standin_http
    env = worker_env(url_root, sqlite_url)
    await register_webhook(standin, url_root, sqlite_url, [])
    assert standin.webhook.secret_token == SECRET
    assert standin.webhook.max_connections == 40
    code, out, err = await closer_cli(env, "webhook", "info")
    assert code == 0, err
    assert f"url: https://bot.example.com{HOOK_PATH}" in out
    assert "pending updates: 0" in out
    code, out, err = await closer_cli(env, "webhook", "delete")
    assert code == 0, err
    assert not standin.webhook.url
    methods = [call.method for call in standin.calls]
    assert methods == ["setWebhook", "getWebhookInfo", "deleteWebhook"]  # no getMe, no more
    for output in (out, err):
        assert SECRET not in output
        assert TOKEN not in output

"""bot.metrics on a real python-telegram-bot Application: kinds and results of handled updates."""

from __future__ import annotations

from typing import Any, cast

from prometheus_client.parser import text_string_to_metric_families
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot import metrics
from bot.standin import StandInRequest, TelegramStandIn
from scheduler.sending import Ambiguous, Blocked, FloodWait, SendResult, Sent, Transient
from tests.test_run_over_http import TOKEN


def _value(name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def _message(update_id: int) -> dict[str, Any]:
    chat = {"id": 5, "type": "private"}
    person = {"id": 5, "is_bot": False, "first_name": "P"}
    return {
        "update_id": update_id,
        "message": {"message_id": 1, "date": 0, "chat": chat, "from": person, "text": "hi"},
    }


async def test_updates_are_counted_by_kind_and_result_and_timed() -> None:
    standin = TelegramStandIn(TOKEN)
    application = (
        Application.builder()
        .token(TOKEN)
        .base_url("https://api.telegram.org/bot")
        .request(StandInRequest(standin))
        .get_updates_request(StandInRequest(standin))
        .build()
    )

    async def fine(update: Update, context: Any) -> None:
        return None

    async def broken(update: Update, context: Any) -> None:
        raise RuntimeError("a handler bug")

    application.add_handler(MessageHandler(filters.TEXT, fine))
    application.add_handler(CallbackQueryHandler(broken))
    metrics.instrument(application)
    metrics.instrument(application)  # once is enough
    assert application.error_handlers.get(metrics.note_handler_error) is not None
    assert len(application.error_handlers) == 1

    ok = {"kind": "message", "result": "ok"}
    error = {"kind": "callback_query", "result": "error"}
    ok_before, error_before = (
        _value("closer_updates_total", ok),
        _value("closer_updates_total", error),
    )
    timed = _value("closer_update_seconds_count", {"kind": "message"})
    async with application:
        await _two_updates(application)
    assert _value("closer_updates_total", ok) == ok_before + 1
    assert _value("closer_updates_total", error) == error_before + 1
    assert _value("closer_update_seconds_count", {"kind": "message"}) == timed + 1


async def _two_updates(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await metrics.observe_update(application, Update.de_json(_message(1), application.bot))
    query = {
        "update_id": 2,
        "callback_query": {
            "id": "q",
            "from": {"id": 5, "is_bot": False, "first_name": "P"},
            "chat_instance": "c",
            "data": "x",
        },
    }
    await metrics.observe_update(application, Update.de_json(query, application.bot))


def test_nudge_results_map_to_fixed_labels() -> None:
    results = {
        "sent": Sent(1),
        "429": FloodWait(3.0),
        "403": Blocked("Forbidden: bot was blocked by the user"),
        "5xx": Transient("NetworkError: Bad Gateway"),
        "ambiguous": Ambiguous("TimedOut"),
    }
    for label, result in cast(dict[str, SendResult], results).items():
        before = _value("closer_nudges_total", {"result": label})
        metrics.count_nudge(result)
        assert _value("closer_nudges_total", {"result": label}) == before + 1

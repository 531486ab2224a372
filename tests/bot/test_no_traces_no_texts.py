"""Failures get a short apology, never a trace; logs never hold texts, notes or the token."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog
from sqlalchemy import text
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.logs import configure_logging
from tests.bot.conftest import Closer


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    try:
        yield buffer
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()


async def test_an_internal_error_gets_an_apology_not_a_trace(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    assert closer.app is not None

    async def broken(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise ValueError("sqlite3 said something a user must never read")

    closer.app.add_handler(TypeHandler(Update, broken), group=-10)
    reply = await closer.say(user, "/progress")
    assert "something went wrong on my side" in (reply.text or "")
    assert "Traceback" not in (reply.text or "") and "sqlite" not in (reply.text or "").lower()
    assert closer.errors, "the failure reached the error handler"
    closer.errors.clear()


async def test_a_missing_table_is_a_storage_outage_not_a_trace(closer: Closer) -> None:
    user = closer.user()
    await closer.onboard(user)
    async with closer.db.engine.begin() as connection:
        await connection.execute(text("DROP TABLE poll_answers"))
        await connection.execute(text("DROP TABLE polls"))
        await connection.execute(text("DROP TABLE conversation_logs"))
    await user.send("/progress")
    reply = await user.next_message()
    assert "can't save anything right now" in (reply.text or "")
    assert "Traceback" not in (reply.text or "") and "sqlite" not in (reply.text or "").lower()
    assert closer.db.watch.outage is not None
    assert closer.db.watch.outage.reason == "schema missing"
    await closer.stop()  # the update stays unconfirmed: it comes again once the schema is back


async def test_logs_hold_no_message_text_note_or_token(
    closer: Closer, log_output: io.StringIO
) -> None:
    user = closer.user()
    await closer.onboard(user)
    await closer.say(user, "my private worry about us")
    await closer.say(user, "/log")
    await closer.press(user, "😣 Hard")
    await closer.press(user, "Skip")
    await closer.say(user, "a very private note")
    output = log_output.getvalue()
    assert "conversation_logged" in output  # logging really happened
    for secret in ("my private worry", "a very private note", closer.standin.token):
        assert secret not in output
    assert all(line.startswith("timestamp=") for line in output.splitlines() if line)

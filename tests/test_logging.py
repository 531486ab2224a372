"""Logging: one event a line, the token never written, httpx's request lines switched off."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest
import structlog
from telegram import Bot

from bot.logs import REDACTED, configure_logging, get_logger
from bot.standin import StandInRequest, TelegramStandIn

TOKEN = "7012345678:AAE-closer_test_token_0123456789abcdefgh"
SECRET_PART = TOKEN.split(":", 1)[1]
URL = f"https://api.telegram.org/bot{TOKEN}/getUpdates"

Configure = Callable[..., io.StringIO]


@pytest.fixture
def configure() -> Iterator[Configure]:
    """configure_logging into a fresh stream; the global logging state is restored afterwards."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    structlog_config = structlog.get_config()

    def configure_into(level: str = "INFO", secrets: tuple[str, ...] = (TOKEN,)) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(level, secrets=secrets, stream=stream)
        return stream

    try:
        yield configure_into
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name, logger in logging.root.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))
        structlog.configure(**structlog_config)


def lines_of(stream: io.StringIO) -> list[str]:
    text = stream.getvalue()
    assert text.endswith("\n") or not text
    return text.splitlines()


def assert_token_absent(text: str) -> None:
    assert TOKEN not in text
    assert SECRET_PART not in text


def _raise_with_token() -> None:
    try:
        raise KeyError(URL)
    except KeyError as cause:
        raise RuntimeError(f"getUpdates failed for {URL}") from cause


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_httpx_request_lines_are_not_logged(configure: Configure, level: str) -> None:
    stream = configure(level)
    for name in ("httpx", "httpcore.connection", "httpcore.http11"):
        logging.getLogger(name).info('HTTP Request: POST %s "HTTP/1.1 200 OK"', URL)
        logging.getLogger(name).debug("send_request_headers.started request=<Request [b'POST']>")
    assert stream.getvalue() == ""


def test_httpx_warnings_still_appear_without_the_token(configure: Configure) -> None:
    stream = configure("INFO")
    logging.getLogger("httpx").warning("request to %s failed", URL)
    (line,) = lines_of(stream)
    assert "level='warning'" in line
    assert f"/bot{REDACTED}/getUpdates" in line
    assert_token_absent(line)


def test_stdlib_log_of_a_url_with_the_token_is_scrubbed(configure: Configure) -> None:
    stream = configure("INFO")
    logging.getLogger("telegram.ext.Updater").info("polling %s", URL)
    (line,) = lines_of(stream)
    assert f"/bot{REDACTED}/getUpdates" in line
    assert_token_absent(line)


def test_structlog_values_with_the_token_are_scrubbed(configure: Configure) -> None:
    stream = configure("INFO")
    log = get_logger("closer.test")
    log.info("request_failed", url=URL)
    log.info("nested", request={"url": URL, "attempts": [URL]}, raw=URL.encode())
    log.info(f"token in the event itself: {TOKEN}")
    lines = lines_of(stream)
    assert len(lines) == 3
    assert "event='request_failed'" in lines[0]
    for line in lines:
        assert REDACTED in line
        assert_token_absent(line)


def test_token_shaped_text_is_scrubbed_even_when_not_a_known_secret(
    configure: Configure,
) -> None:
    stream = configure("INFO", secrets=())
    get_logger("closer.test").info("pasted", text=f"my token is {TOKEN}, oops")
    assert_token_absent(stream.getvalue())
    assert REDACTED in stream.getvalue()


def test_a_known_secret_of_any_shape_is_scrubbed(configure: Configure) -> None:
    odd = "hunter2-not-shaped-like-a-token"
    stream = configure("INFO", secrets=(odd,))
    get_logger("closer.test").info("odd", value=f"x{odd}y")
    logging.getLogger("other").warning("also %s here", odd)
    assert odd not in stream.getvalue()
    assert stream.getvalue().count(REDACTED) == 2


def test_exception_with_the_token_is_one_scrubbed_line(configure: Configure) -> None:
    stream = configure("INFO")
    log = get_logger("closer.test")
    try:
        _raise_with_token()
    except RuntimeError:
        log.exception("structlog_exception", url=URL)
        logging.getLogger("telegram.ext.Application").exception("stdlib exception %s", URL)
        logging.getLogger("telegram.ext.Application").error("exc_info", exc_info=True)
    lines = lines_of(stream)
    assert len(lines) == 3
    for line in lines:
        assert line.startswith("timestamp=")
        assert "Traceback (most recent call last)" in line
        assert "RuntimeError: getUpdates failed for" in line
        assert "KeyError" in line  # the cause is kept, on the same line
        assert_token_absent(line)


def test_multi_line_messages_and_stack_info_stay_on_one_line(configure: Configure) -> None:
    stream = configure("INFO")
    get_logger("closer.test").info("first\nsecond", detail="a\nb\r\nc")
    logging.getLogger("plain").warning("line one\nline two %s", URL)
    logging.getLogger("plain").error("with stack", stack_info=True)
    lines = lines_of(stream)
    assert len(lines) == 3
    assert all(line.startswith("timestamp=") for line in lines)
    assert_token_absent(stream.getvalue())


def test_event_lines_are_key_value_with_level_and_logger(configure: Configure) -> None:
    stream = configure("INFO")
    get_logger("closer.test").info("bot_started", username="closer_bot")
    (line,) = lines_of(stream)
    assert line.startswith("timestamp='")
    assert " level='info' logger='closer.test' event='bot_started' username='closer_bot'" in line


def test_level_filters_structlog_and_stdlib(configure: Configure) -> None:
    stream = configure("WARNING")
    get_logger("closer.test").info("quiet")
    logging.getLogger("plain").info("quiet too")
    get_logger("closer.test").warning("loud")
    (line,) = lines_of(stream)
    assert "event='loud'" in line


async def test_debug_level_logs_no_message_texts(configure: Configure) -> None:
    """python-telegram-bot logs whole API calls and updates at DEBUG: it must stay capped."""
    stream = configure("DEBUG")
    standin = TelegramStandIn(TOKEN)
    user = standin.user(42)
    bot = Bot(TOKEN, request=StandInRequest(standin), get_updates_request=StandInRequest(standin))
    async with bot:
        await user.send("my partner went quiet again zq-user-text")
        assert await bot.get_updates(timeout=0)
        await bot.send_message(42, "a tip only she should see zq-bot-text")
    get_logger("closer.test").debug("debug_is_on")
    output = stream.getvalue()
    assert "event='debug_is_on'" in output
    assert_token_absent(output)
    assert "zq-user-text" not in output
    assert "zq-bot-text" not in output


def test_apscheduler_idle_lines_are_quiet_at_info(configure: Configure) -> None:
    stream = configure("INFO")
    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        logging.getLogger(name).info("Running job %s (trigger: interval)", "tick")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    lines = lines_of(stream)
    assert len(lines) == 1
    assert "missed" in lines[0]


def test_python_telegram_bots_raw_update_dump_is_never_written(configure: Configure) -> None:
    stream = configure("DEBUG")
    raw = [{"update_id": 5, "message": {"text": "zq-private-words"}}]
    logging.getLogger("telegram.Bot").critical(
        "Error while parsing updates! Received data was %r", raw
    )
    logging.getLogger("telegram.Bot").critical("Something else went wrong")
    text = stream.getvalue()
    assert "zq-private-words" not in text
    assert "Something else went wrong" in text

"""The terminal phone of `closer try`: numbering of buttons and polls, formatting, documents."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bot.standin import TelegramStandIn
from bot.terminal import TerminalPhone, render_message_text


async def _send(standin: TelegramStandIn, method: str, **params: object) -> dict[str, object]:
    response = await standin.handle(method, standin.token, dict(params))
    body = response.body
    assert body["ok"], body
    result: dict[str, object] = body["result"]
    return result


def _phone(standin: TelegramStandIn, tmp_path: Path) -> tuple[TerminalPhone, io.StringIO]:
    screen = io.StringIO()
    phone = TerminalPhone(
        standin=standin,
        user=standin.user(user_id=1, first_name="You"),
        console=Console(file=screen, width=100, color_system=None),
        clock=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        downloads=tmp_path,
    )
    return phone, screen


async def test_each_open_poll_keeps_its_own_numbers(tmp_path: Path) -> None:
    standin = TelegramStandIn()
    phone, screen = _phone(standin, tmp_path)
    first = await _send(
        standin, "sendPoll", chat_id=1, question="Q1?", options='["a","b"]', is_anonymous=False
    )
    second = await _send(
        standin, "sendPoll", chat_id=1, question="Q2?", options='["c","d"]', is_anonymous=False
    )
    phone.refresh()
    output = screen.getvalue()
    assert "[1] a" in output and "[2] b" in output and "[3] c" in output and "[4] d" in output
    await phone.handle_line("4")  # answers the second poll, not the last-drawn list's 4th
    poll_two = standin.message(1, int(second["message_id"]))  # type: ignore[call-overload]
    poll_one = standin.message(1, int(first["message_id"]))  # type: ignore[call-overload]
    assert poll_two is not None and poll_two.poll is not None and poll_two.poll.counts == [0, 1]
    assert poll_one is not None and poll_one.poll is not None and poll_one.poll.counts == [0, 0]
    await phone.handle_line("1")
    assert poll_one.poll.counts == [1, 0]


async def test_a_number_that_is_no_choice_is_sent_as_text(tmp_path: Path) -> None:
    standin = TelegramStandIn()
    phone, _ = _phone(standin, tmp_path)
    await _send(
        standin,
        "sendMessage",
        chat_id=1,
        text="Pick",
        reply_markup='{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}',
    )
    phone.refresh()
    await phone.handle_line("0730")
    assert standin.user(user_id=1).chat.messages[-1].text == "0730"
    await phone.handle_line("1")
    assert standin.pending_updates[-1]["callback_query"]["data"] == "a"


def test_formatting_becomes_terminal_styles() -> None:
    text = render_message_text("Step 1 of 4 💛 bold", [{"type": "bold", "offset": 15, "length": 4}])
    assert text.plain == "Step 1 of 4 💛 bold"
    spans = [(span.start, span.end, str(span.style)) for span in text.spans]
    assert spans == [(14, 18, "bold")]  # UTF-16 offsets mapped past the emoji


async def test_documents_are_saved_to_a_printed_path(tmp_path: Path) -> None:
    standin = TelegramStandIn()
    phone, screen = _phone(standin, tmp_path)
    await standin.handle(
        "sendDocument",
        standin.token,
        {"chat_id": 1, "caption": "Here you go", "document": "attach://doc"},
        {"doc": ("export.json", b'{"ok": true}', "application/json")},
    )
    phone.refresh()
    saved = tmp_path / "export.json"
    assert saved.read_bytes() == b'{"ok": true}'
    assert str(saved) in screen.getvalue().replace("\n", "")


async def test_a_chart_is_saved_to_a_printed_path_with_its_caption(tmp_path: Path) -> None:
    standin = TelegramStandIn()
    phone, screen = _phone(standin, tmp_path)
    png = b"\x89PNG\r\n\x1a\n" + b"chart" * 10
    await standin.handle(
        "sendPhoto",
        standin.token,
        {"chat_id": 1, "caption": "Your last 2 weeks", "photo": "attach://chart"},
        {"chart": ("chart.png", png, "image/png")},
    )
    phone.refresh()
    saved = list(tmp_path.glob("closer-progress-*.png"))  # noqa: ASYNC240
    assert len(saved) == 1 and saved[0].read_bytes() == png
    shown = screen.getvalue().replace("\n", "")
    assert "Your last 2 weeks" in shown and str(saved[0]) in shown


async def test_numbers_never_change_under_her_fingers(tmp_path: Path) -> None:
    standin = TelegramStandIn()
    phone, screen = _phone(standin, tmp_path)
    keyboard = '{"inline_keyboard": [[{"text": "%s", "callback_data": "%s"}]]}'
    await _send(standin, "sendMessage", chat_id=1, text="Old", reply_markup=keyboard % ("A", "a"))
    phone.refresh()
    # While she reads "[1] A", a new message with buttons arrives: it gets a new number.
    await _send(standin, "sendMessage", chat_id=1, text="New", reply_markup=keyboard % ("B", "b"))
    phone.refresh()
    assert "[1] A" in screen.getvalue() and "[2] B" in screen.getvalue()
    await phone.handle_line("1")
    assert standin.pending_updates[-1]["callback_query"]["data"] == "a"
    await phone.handle_line("2")
    assert standin.pending_updates[-1]["callback_query"]["data"] == "b"


async def test_the_panels_show_her_local_time_once_she_has_a_zone(tmp_path: Path) -> None:
    standin = TelegramStandIn()
    phone, screen = _phone(standin, tmp_path)  # 09:00 UTC on Monday 2 March 2026
    await _send(standin, "sendMessage", chat_id=1, text="Before her zone")
    await phone.learn_zone()  # nobody to ask yet: UTC
    phone.refresh()
    assert "Mon 02 Mar 2026, 09:00 UTC" in screen.getvalue()

    async def toronto() -> str:
        return "America/Toronto"

    phone.her_zone = toronto
    await _send(standin, "sendMessage", chat_id=1, text="In Toronto")
    assert phone.has_news()
    await phone.learn_zone()
    phone.refresh()
    assert not phone.has_news()
    assert "Mon 02 Mar 2026, 04:00 EST" in screen.getvalue()

    async def kolkata() -> str:
        return "Asia/Kolkata"

    phone.her_zone = kolkata
    await _send(standin, "sendMessage", chat_id=1, text="In Kolkata")
    await phone.learn_zone()
    phone.refresh()
    assert "Mon 02 Mar 2026, 14:30 IST" in screen.getvalue()

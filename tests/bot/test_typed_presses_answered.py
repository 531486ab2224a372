"""A forged press is answered by the typed-press decorator the way its handler always answered
one, and the handler never runs: nothing is recorded."""

from __future__ import annotations

from bot.callbacks import NudgePress, parse
from bot.handlers.common import plain
from tests.bot.conftest import Closer


async def _answer(closer: Closer, user_id: int, message_id: int, data: str) -> str:
    user = closer.user(user_id)
    answer = await closer.answered(await user.press_data(message_id, data))
    await closer.settle()
    return str(answer.params.get("text") or "")


async def test_forged_presses_get_each_handlers_answer_and_change_nothing(closer: Closer) -> None:
    user = closer.user()
    nudge = await closer.onboard(user)
    library = closer.services.library
    stale = plain(library, "button_stale")
    tried = dict(pair for row in nudge.keyboard for pair in row)["✅ Tried it"]
    assert tried is not None
    press = parse(tried)
    assert isinstance(press, NudgePress)
    before = await closer.rows_of(user.user_id)
    on_nudge = {
        f"1:n:{press.outbox_id}:zz": stale,  # an opcode no button has
        f"1:n:{press.outbox_id}:w:w": stale,  # one argument too many
        f"1:n:{press.outbox_id}:w\x00": stale,  # fails the gate
        "1:lg:o:not_yet": stale,
        "1:pz:400": stale,
        "1:fg:maybe": stale,
        "1:now:dance": stale,
        "1:hd:k:fr": stale,
        "1:ca:zzzzzz": plain(library, "no_more_cards"),
        "1:set:tm:1440": plain(library, "setup_bad_button"),  # Closer's shape, no button's value
        "1:ask:xyz": plain(library, "setup_bad_button"),
        "1:set:tz:Europe/Zürich": plain(library, "setup_button_expired"),  # fails the gate
    }
    for data, expected in on_nudge.items():
        assert await _answer(closer, user.user_id, nudge.message_id, data) == expected, data
    assert await closer.rows_of(user.user_id) == before
    # The real button still works through the same decorator.
    assert await closer.press(user, "✅ Tried it", message_id=nudge.message_id) == ""
    assert await closer.press(user, "😊 Went well", message_id=nudge.message_id) == "Saved ✓"

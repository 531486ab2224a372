"""Each update takes effect once, by its ``update_id``.

Two people go through the same steps: every kind of update that writes or starts something
(/start of a new user, each onboarding press and the last one that sends the first nudge, a
press on the nudge, "Let's do it" that sends the baseline polls, a poll answer, /tip, /log and
its answers, a typed note, /export). The first gets each update once, through the poller. The
second gets each one three times: twice through ``Application.process_update`` (in a row, or at
once on two tasks), then once more through the poller, as a re-delivery after the first had
finished. Step by step, the second person's sends and rows grow exactly as the first one's,
nothing raises (the harness fails a test on any handler error), no outbox row is left
``sending``, and every extra delivery is counted as a duplicate.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial

import pytest
from sqlalchemy import func, select
from telegram import Update

from bot import metrics
from bot.standin import UserActor
from bot.storage.models import HandledUpdate, OutboxMessage
from tests.bot.conftest import Closer

SENDS = ("sendMessage", "sendDocument", "sendPoll", "sendPhoto")
Act = Callable[[UserActor], Awaitable[object]]


def _calls(closer: Closer, since: int, *, sends_only: bool) -> dict[str, int]:
    """The Bot API calls made since call ``since`` by method (polling aside, and the answers to
    presses: a press delivered again is answered, with nothing), every one or only the
    messages sent."""
    return dict(
        Counter(
            call.method
            for call in closer.standin.calls[since:]
            if call.method not in ("getUpdates", "answerCallbackQuery")
            and (call.method in SENDS or not sends_only)
        )
    )


async def _poll_message(user: UserActor) -> int:
    return next(m.message_id for m in reversed(user.messages) if m.poll is not None)


async def _answer_first_poll(user: UserActor) -> None:
    await user.answer_poll(await _poll_message(user), [0])


def _press(label: str) -> Act:
    async def act(user: UserActor) -> object:
        return await user.press(label)

    return act


def _say(text: str) -> Act:
    async def act(user: UserActor) -> object:
        return await user.send(text)

    return act


MENU = "a press that opens the nudge's menu"
"""The one step that only reads: its answer (a toast, the menu shown again) may come twice."""
STEPS: tuple[tuple[str, Act], ...] = (
    ("/start of a new user", _say("/start")),
    ("time zone press", _press("UTC")),
    ("time press", _press("09:00")),
    ("pace press: the first nudge", _press("Steady (about 4 a week)")),
    (MENU, _press("✅ Tried it")),
    ("a press on the nudge that records", _press("😊 Went well")),
    ("the baseline offer: the polls", _press("Let's do it")),
    ("a poll answer", _answer_first_poll),
    ("/tip", _say("/tip")),
    ("/log", _say("/log")),
    ("/log's outcome", _press("😊 Went well")),
    ("/log's step", _press("Skip")),
    ("a note", _say("We planned the weekend together")),
    ("/export", _say("/export")),
)


async def _once(closer: Closer, user: UserActor, act: Act) -> None:
    await act(user)
    await closer.settle()


async def _thrice(closer: Closer, user: UserActor, act: Act, *, at_once: bool) -> int:
    """``act``'s updates twice through process_update, then once more by the poller; how many
    updates it made."""
    await closer.hold_polling()
    before = len(closer.standin.pending_updates)
    await act(user)
    made = closer.standin.pending_updates[before:]
    assert made
    app = closer.app
    assert app is not None
    for raw in made:
        update = Update.de_json(dict(raw), app.bot)
        if at_once:
            await asyncio.gather(app.process_update(update), app.process_update(update))
        else:
            await app.process_update(update)
            await app.process_update(update)
    closer.resume_polling()
    await closer.settle()
    return len(made)


def _duplicates() -> float:
    return metrics.REGISTRY.get_sample_value("closer_duplicate_updates_total") or 0.0


async def _sending(closer: Closer) -> int:
    async with closer.db.transaction(write=False) as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "sending")
            )
            or 0
        )


Effect = tuple[dict[str, int], dict[str, int]]


async def _effect(
    closer: Closer, user: UserActor, step: Callable[[], Awaitable[object]], *, sends_only: bool
) -> Effect:
    """What ``step`` made the bot call (by method) and how her rows grew (by table)."""
    since, rows = len(closer.standin.calls), await closer.rows_of(user.user_id)
    await step()
    rows_after = await closer.rows_of(user.user_id)
    grown = {t: n - rows.get(t, 0) for t, n in rows_after.items() if n != rows.get(t, 0)}
    return _calls(closer, since, sends_only=sends_only), grown


async def _each_update_once(closer: Closer, *, at_once: bool) -> None:
    once, thrice = closer.user(1001, "Once"), closer.user(2002, "Thrice")
    effects: dict[str, Effect] = {}
    for name, act in STEPS:
        reads = name == MENU
        expected = await _effect(closer, once, partial(_once, closer, once, act), sends_only=reads)
        duplicates = _duplicates()

        async def again(act: Act = act) -> None:
            await _thrice(closer, thrice, act, at_once=at_once)

        got = await _effect(closer, thrice, again, sends_only=reads)
        assert got == expected, name
        assert await _sending(closer) == 0, name
        assert not closer.errors, name
        # The two extra deliveries were refused as such (none for the press that only reads).
        assert _duplicates() - duplicates == (0 if reads else 2), name
        effects[name] = expected
    # Every press was answered (a press delivered again with nothing: no toast, no edit).
    assert all(query["answered"] for query in closer.standin.callback_queries(thrice.user_id))
    # The comparison is not between two nothings: what a few steps do, once.
    assert effects["/start of a new user"][1] == {"users": 1, "user_settings": 1}
    assert effects["pace press: the first nudge"][0]["sendMessage"] == 2  # nudge, baseline offer
    assert effects["/tip"][1]["outbox"] == 1
    assert effects["the baseline offer: the polls"][0] == {"sendPoll": 3, "editMessageText": 1}
    assert effects["a poll answer"][1] == {"poll_answers": 1}
    assert effects["/export"][0] == {"sendDocument": 2}
    async with closer.db.transaction(write=False) as session:
        handled = int(await session.scalar(select(func.count(HandledUpdate.update_id))) or 0)
    assert handled == 2 * (len(STEPS) - 1)


@pytest.mark.parametrize("at_once", [False, True], ids=["in_a_row", "at_once"])
async def test_every_update_that_writes_takes_effect_once(closer: Closer, at_once: bool) -> None:
    await _each_update_once(closer, at_once=at_once)


@pytest.mark.parametrize("at_once", [False, True], ids=["in_a_row", "at_once"])
async def test_every_update_that_writes_takes_effect_once_on_postgres(
    closer_on_postgres: Closer, at_once: bool
) -> None:
    await _each_update_once(closer_on_postgres, at_once=at_once)

"""Forged presses through the real Application: no exception escapes, nothing changes.

``tests/hardening/test_callback_data.py`` fuzzes ``decode`` with hypothesis; this drives the
press handlers themselves with a few hundred forged callback data (seeded, so a failure
repeats): shaped like every action Closer has, with other users' ids, huge and negative
numbers, wrong arities, and noise. Every press is answered, no handler raises, and no row of
anyone changes.
"""

from __future__ import annotations

import random
import string

from sqlalchemy import select

from bot.callbacks import Action
from bot.storage.models import ConversationLog, OutboxMessage, User
from tests.bot.conftest import Closer

_NOISE = string.ascii_letters + string.digits + ":-_/+.é " + "\x00\ud800"
# Actions whose data, if well-formed, would be a legitimate change by the presser themselves
# (a setting, a pause, erasing their own data): forged here only with other users' or
# impossible values.
_NUMBERS = (0, 1, 2, 7, 99, 2**31 - 1, 2**31, 2**63, -1)


def _forged(rng: random.Random, others: list[int]) -> str:
    shape = rng.randrange(4)
    if shape == 0:  # noise
        return "".join(rng.choice(_NOISE) for _ in range(rng.randrange(1, 70)))
    action = rng.choice(list(Action))
    args: list[str] = []
    for _ in range(rng.randrange(0, 5)):
        pick = rng.randrange(4)
        if pick == 0:
            args.append(str(rng.choice(others)))  # somebody else's id
        elif pick == 1:
            args.append(str(rng.choice(_NUMBERS)))
        elif pick == 2:
            args.append(rng.choice(["w", "m", "h", "t", "y", "g", "l1", "o", "i", "n", "yes"]))
        else:
            args.append("".join(rng.choice(_NOISE) for _ in range(rng.randrange(0, 8))))
    if shape == 1:
        return ":".join(["1", action.value, *args])
    if shape == 2:
        return ":".join(["2", action.value, *args])  # another version
    return ":".join(["1", action.value, *args])[: rng.randrange(1, 80)]


async def test_forged_presses_are_answered_and_change_nothing(closer: Closer) -> None:
    alice, stranger = closer.user(1001, "Alice"), closer.user(3003, "Stranger")
    nudge = await closer.onboard(alice)
    await closer.press(alice, "✅ Tried it")
    await closer.press(alice, "😊 Went well")
    await closer.say(alice, "/log")
    await closer.press(alice, "😐 Mixed")
    await stranger.send("hello")  # a chat with the bot, but never /start
    reply = await stranger.next_message()
    bob = closer.user(2002, "Bob")
    bobs_nudge = await closer.onboard(bob)
    alice_before, bob_before = await closer.rows_of(1001), await closer.rows_of(2002)
    rng = random.Random(20261201)
    async with closer.db.transaction(write=False) as session:
        alices = (await session.execute(select(User.id).where(User.telegram_id == 1001))).scalar()
        others = [
            *await session.scalars(select(OutboxMessage.id).where(OutboxMessage.user_id == alices)),
            *await session.scalars(
                select(ConversationLog.id).where(ConversationLog.user_id == alices)
            ),
            nudge.message_id,
        ]
    for _ in range(300):
        data = _forged(rng, others)
        answer = await closer.answered(await stranger.press_data(reply.message_id, data))
        assert answer.params.get("callback_query_id"), data
    # Bob, a real user, pressing nudge and /log buttons that point at Alice's rows.
    for _ in range(150):
        action = rng.choice([Action.NUDGE, Action.LOG])
        data = _forged(rng, others)
        data = ":".join(["1", action.value, *data.split(":")[2:]])[:64]
        answer = await closer.answered(await bob.press_data(bobs_nudge.message_id, data))
        assert answer.params.get("callback_query_id"), data
    await closer.settle()
    assert not closer.errors
    assert await closer.rows_of(1001) == alice_before
    assert await closer.rows_of(3003) == {}
    after = await closer.rows_of(2002)
    # Bob may have opened a menu of his own nudge; nothing of his was recorded.
    assert after["conversation_logs"] == bob_before["conversation_logs"]
    assert after["item_progress"] == bob_before["item_progress"]

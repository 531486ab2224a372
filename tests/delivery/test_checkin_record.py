"""A dispatched check-in writes nothing between its sends: the intro and the polls that went out
come back on the send's receipt and are stored by the dispatcher's record of the batch, in the
one transaction that marks the row sent or puts it back to wait.

The real Application and dispatcher on the stand-in, on a SQLite file and on PostgreSQL. Each
call to her chat is noted with the database's count of write transactions when the stand-in
answered it; the third poll fails (``inject_fault``, once two have gone through) or is held
until the dispatcher, told to stop, cuts the send. The dispatcher's store is the real one,
watched: what the database holds of the check-in row just before and just after each record,
and how many write transactions the record took.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import pytest
from sqlalchemy import select

from bot.outreach import checkin_questions
from bot.standin import TelegramStandIn, faults
from bot.storage.db import Database
from bot.storage.dispatch_store import SqlDispatchStore
from bot.storage.models import OutboxMessage, Poll
from scheduler import dispatcher
from scheduler.ports import BatchOutcome, Recorded
from tests.delivery.conftest import MONDAY, Harness, days, onboard

CHAT = 42


@dataclass(frozen=True)
class Row:
    """What the database holds of the check-in row: the row and its polls."""

    status: str
    attempts: int
    payload: Any
    message_id: int | None
    polls: list[tuple[str, str, int | None]]  # (question id, Telegram poll id, message id)


NOTHING_YET: Final = Row("sending", 1, None, None, [])  # claimed, nothing of it stored


async def read_row(db: Database, outbox_id: int) -> Row:
    async with db.transaction(write=False) as session:
        status, attempts, payload, message_id = (
            await session.execute(
                select(
                    OutboxMessage.status,
                    OutboxMessage.attempts,
                    OutboxMessage.payload,
                    OutboxMessage.telegram_message_id,
                ).where(OutboxMessage.id == outbox_id)
            )
        ).one()
        polls = await session.execute(
            select(Poll.question_id, Poll.telegram_poll_id, Poll.telegram_message_id)
            .where(Poll.outbox_id == outbox_id)
            .order_by(Poll.id)
        )
        return Row(status, attempts, payload, message_id, [(q, p, m) for q, p, m in polls])


@dataclass(frozen=True)
class Record:
    before: Row
    writes: int  # write transactions the record took
    after: Row


class WatchedStore(SqlDispatchStore):
    """The dispatcher's own store, reading the check-in row around each record."""

    def __init__(self, db: Database, outbox_id: int) -> None:
        super().__init__(db)
        self.outbox_id = outbox_id
        self.records: list[Record] = []

    async def record(self, outcome: BatchOutcome) -> Recorded:
        before = await read_row(self.db, self.outbox_id)
        writes = self.db.transactions.write
        recorded = await super().record(outcome)
        writes = self.db.transactions.write - writes
        self.records.append(Record(before, writes, await read_row(self.db, self.outbox_id)))
        return recorded


@dataclass(frozen=True)
class Send:
    method: str  # "sendmessage" | "sendpoll"
    ok: bool
    writes: int  # the database's write transactions so far, when the stand-in answered
    result: Any


@dataclass
class HerChat:
    """Follows the stand-in's sends to her chat (a listener: called on every call); once
    ``fail_after`` polls went through, the next one fails as ``fault``."""

    standin: TelegramStandIn
    db: Database
    fault: faults.Fault | None = None
    fail_after: int = 2
    sends: list[Send] = field(default_factory=list)
    _seen: int = 0

    def __call__(self) -> None:
        calls = self.standin.calls
        for call in calls[self._seen :]:
            method = call.method.lower()
            if method not in ("sendmessage", "sendpoll") or call.params["chat_id"] != str(CHAT):
                continue
            self.sends.append(Send(method, call.ok, self.db.transactions.write, call.result))
            if self.fault is not None and len(self.polls()) == self.fail_after:
                self.standin.inject_fault("sendPoll", self.fault, chat_id=CHAT)
                self.fault = None
        self._seen = len(calls)

    def follow(self) -> None:
        """From now on."""
        self._seen = len(self.standin.calls)
        self.sends.clear()

    def polls(self) -> list[Send]:
        return [s for s in self.sends if s.ok and s.method == "sendpoll"]

    def written_between(self) -> bool:
        """Whether a write transaction ran between the first send and the last."""
        return len({s.writes for s in self.sends}) > 1


async def checkin_due(h: Harness) -> tuple[WatchedStore, HerChat]:
    """Her first week up to the moment her check-in falls due (the clock set to it), with the
    dispatcher's store watched and her chat followed from then on."""
    await onboard(h, h.standin.user(CHAT))
    (row,) = [r for r in await h.rows() if r.kind == "poll" and r.status == "pending"]
    await h.run_until(row.due_at - timedelta(seconds=1))
    (row,) = [r for r in await h.rows() if r.kind == "poll" and r.status == "pending"]
    assert row.due_at < MONDAY + days(7)
    h.clock.set(row.due_at)
    store = WatchedStore(h.db, row.id)
    h.dispatcher.store = store
    chat = HerChat(h.standin, h.db)
    chat.follow()
    h.standin.add_listener(chat)
    return store, chat


def intro_noted(chat: HerChat, row: Row) -> bool:
    """Whether the row's payload names the intro sent first, and the week its questions are of."""
    intro = chat.sends[0]
    assert intro.method == "sendmessage" and intro.ok
    return bool(row.payload == {"intro_message_id": intro.result["message_id"], "week": week(row)})


def week(row: Row) -> int:
    assert isinstance(row.payload, dict) and isinstance(row.payload["week"], int)
    return row.payload["week"]


def stored(polls: list[Send], question_ids: list[str]) -> list[tuple[str, str, int | None]]:
    """The poll rows the sends that went out should have left."""
    return [
        (question, poll.result["poll"]["id"], poll.result["message_id"])
        for question, poll in zip(question_ids, polls, strict=True)
    ]


async def test_a_checkin_is_stored_by_the_record_that_marks_its_row_sent(
    harness_on_any_db: Harness,
) -> None:
    h = harness_on_any_db
    store, chat = await checkin_due(h)

    report = await h.tick()

    assert report.sent == 1
    assert not chat.written_between()
    (record,) = store.records
    assert record.before == NOTHING_YET, "nothing stored before the record"
    assert record.writes == 1
    after = record.after
    assert after.status == "sent"
    assert intro_noted(chat, after)
    questions = checkin_questions(h.services, week(after))
    assert [p.result["poll"]["question"] for p in chat.polls()] == [q.question for q in questions]
    assert after.polls == stored(chat.polls(), [q.id for q in questions])
    assert after.message_id == after.polls[0][2], "the row names its first poll"


@pytest.mark.parametrize(
    ("fault", "waits_as", "attempts"),
    [
        pytest.param(faults.ServerError(502), "pending", 2, id="transient"),
        pytest.param(faults.Timeout(), "ambiguous", 2, id="ambiguous"),
        pytest.param(faults.RetryAfter(1), "pending", 1, id="flood-wait"),  # refunded
    ],
)
async def test_a_checkin_whose_third_poll_fails_is_stored_with_its_requeue_and_finished_later(
    harness_on_any_db: Harness, fault: faults.Fault, waits_as: str, attempts: int
) -> None:
    h = harness_on_any_db
    store, chat = await checkin_due(h)
    chat.fault = fault

    await h.tick()

    assert [(s.method, s.ok) for s in chat.sends] == [
        ("sendmessage", True),
        ("sendpoll", True),
        ("sendpoll", True),
        ("sendpoll", False),
    ]
    assert not chat.written_between()
    (record,) = store.records
    assert record.before == NOTHING_YET, "nothing stored before the record"
    assert record.writes == 1, "the polls and the requeue in one transaction"
    after = record.after
    assert after.status == waits_as
    assert intro_noted(chat, after)
    questions = checkin_questions(h.services, week(after))
    assert after.polls == stored(chat.polls(), [q.id for q in questions[:2]])

    # The retry sends the questions that did not go out, and nothing else.
    chat.follow()
    h.clock.advance(seconds=10)  # past the retry's backoff, or the flood wait
    report = await h.tick()

    assert report.sent == 1
    assert [s.method for s in chat.sends] == ["sendpoll"] * (len(questions) - 2), "no intro"
    assert [p.result["poll"]["question"] for p in chat.polls()] == [
        q.question for q in questions[2:]
    ]
    assert not chat.written_between()
    retried = store.records[-1]
    assert (retried.before.payload, retried.before.polls) == (after.payload, after.polls)
    assert retried.writes == 1
    done = retried.after
    assert done.status == "sent" and done.attempts == attempts
    assert done.polls == after.polls + stored(chat.polls(), [q.id for q in questions[2:]])
    assert done.payload == after.payload
    assert done.message_id == done.polls[0][2]


async def test_a_checkin_cut_at_stop_keeps_what_went_out_for_its_retry(
    harness_on_any_db: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher, "STOP_GRACE_SECONDS", 0.05)
    h = harness_on_any_db
    store, chat = await checkin_due(h)
    send_poll = h.standin._methods["sendpoll"]
    asked = 0
    held_up = asyncio.Event()

    async def third_poll_never_answered(params: Any, files: Any) -> Any:
        nonlocal asked
        asked += 1
        if asked == 3:
            held_up.set()
            await asyncio.Event().wait()  # until the dispatcher cuts the send
        return await send_poll(params, files)

    h.standin._methods["sendpoll"] = third_poll_never_answered
    ticking = asyncio.ensure_future(h.tick())
    await asyncio.wait_for(held_up.wait(), timeout=10)
    h.dispatcher.halt()
    report = await ticking

    assert report.ambiguous == 1 and h.dispatcher.stats.abandoned == 1
    assert not chat.written_between()
    (record,) = store.records
    assert record.before == NOTHING_YET
    assert record.writes == 1
    after = record.after
    assert after.status == "ambiguous"
    assert intro_noted(chat, after)
    questions = checkin_questions(h.services, week(after))
    assert after.polls == stored(chat.polls(), [q.id for q in questions[:2]])

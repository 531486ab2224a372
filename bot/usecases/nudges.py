"""Nudges she answers and asks for: a press on a nudge, /tip, an item sent right away.

A press is checked against the presser's own outbox row (callback data is untrusted) in a
read-only transaction; only a press that records something (an outcome, "Not yet", "Got it", a
snooze) opens a write one, so stale, foreign and replayed presses never take the write lock.
The answer is claimed there with a conditional UPDATE, so a press racing another records once.
A tap that ends the back-off changes a schedule input: her plan is brought in line in the same
transaction (``Tx.schedule_changed``). Both transactions are Core statements run whole: a press
is the commonest update.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from bot.callbacks import SNOOZE_RESPONSES, Op, Response
from bot.logs import get_logger
from bot.storage.journal import insert_log
from bot.storage.planning import record_item_delivery
from bot.storage.progress import (
    PressedNudge,
    add_nudge,
    claim_response,
    find_pressed,
    next_nudge_facts,
    read_state,
    save_state,
    set_payload,
)
from bot.storage.repositories import UserSnapshot, record_tap, settings_of, user_by_telegram_id
from bot.storage.uow import Transactions, Tx
from bot.usecases.common import Who, schedule_of, sender
from content import Item, Library
from scheduler.planner import LatestLog, Planee, not_yet_promise
from scheduler.policy import (
    ScheduleSettings,
    apply_outcome,
    choose_item,
    progress_item_id,
    record_sent,
    unlocked_steps,
)
from scheduler.promises import PAYLOAD_KEY, Promise, SnoozeChoice, snooze_options, snooze_promise

log = get_logger(__name__)

NOT_YET_KEY: Final = "not_yet"
"""The key of the "Not yet" record in the pressed row's ``payload``: ``{"at", "comeback",
"zone", "pressed_at"}`` (when her next nudge goes, and whether it brings the step back)."""

PREPARED_LEASE: Final = timedelta(minutes=2)
"""How long an item sent right away (/tip, the first nudge) is its handler's to send and record
before the dispatcher adopts it (on the schedule's clock, which is real time in production)."""

SNOOZE_CHOICES: Final[dict[Response, SnoozeChoice]] = {
    Response.LATER_HOUR: "hour",
    Response.LATER_EVENING: "evening",
    Response.LATER_TOMORROW: "tomorrow",
}
MENU_OPS: Final = (Op.TRIED, Op.LATER, Op.BACK)
"""Presses that only open a menu of the nudge (nothing is recorded)."""


@dataclass(frozen=True, slots=True)
class NudgePressed:
    """A button pressed under a nudge: whose, which row, what it does, on which message."""

    who: Who
    outbox_id: int
    op: Op
    message_id: int | None


class Refused(enum.Enum):
    """Why a press changed nothing."""

    UNKNOWN_USER = "unknown_user"
    NOT_OWN = "not_own_nudge"
    OTHER_MESSAGE = "other_message"
    WRONG_BUTTON = "wrong_button"


@dataclass(frozen=True, slots=True)
class PressResult:
    """What a press did, for the answer and the edit made after the commit.

    Exactly one of: ``refused``; ``superseded`` (a newer copy of the item was sent);
    ``already`` (it was answered before: ``response`` holds that answer); ``opened`` (a menu
    to show; for "Later", ``snoozes`` are the times it can come back, in ``zone``);
    ``recorded`` (the answer recorded now, ``response`` and ``payload`` what it promised).
    """

    refused: Refused | None = None
    item: Item | None = None
    outbox_id: int = 0
    response: str | None = None
    payload: Any = None
    superseded: bool = False
    already: bool = False
    opened: Op | None = None
    snoozes: tuple[Promise, ...] | None = None
    zone: str = "UTC"
    recorded: Response | None = None


@dataclass(frozen=True, slots=True)
class _Loaded:
    """What the read-only transaction of a press found (and, for the Later menu, her
    schedule: the buttons say when each choice comes back)."""

    user: UserSnapshot | None
    pressed: PressedNudge | None
    now: datetime
    schedule: ScheduleSettings | None = None


@dataclass(frozen=True, slots=True)
class _Checked:
    """A press that checked out and records something."""

    user: UserSnapshot
    outbox_id: int
    item: Item
    response: Response


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What the write transaction of a press did."""

    response: str | None  # recorded now; None: the nudge was answered meanwhile
    saved: str | None  # the answer that was already there, when ``response`` is None
    payload: Any = None  # what the answer promised, stored on the pressed row


async def press(runner: Transactions, library: Library, pressed: NudgePressed) -> PressResult:
    """A button under a nudge: checked read-only, recorded in a write only when it records."""
    loaded = await runner.read(
        _load, pressed.who.telegram_id, pressed.outbox_id, pressed.op is Op.LATER
    )
    checked = _check(library, loaded, pressed)
    if isinstance(checked, PressResult):
        return checked
    return await _record_checked(runner, library, checked)


def _load(tx: Tx, telegram_id: int, outbox_id: int, later: bool) -> _Loaded:
    conn = tx.conn
    user = user_by_telegram_id(conn, telegram_id)
    pressed = find_pressed(conn, outbox_id, user.id) if user is not None else None
    schedule = None
    if later and user is not None and pressed is not None:
        schedule = schedule_of(settings_of(conn, user.id), user)
    return _Loaded(user, pressed, tx.now, schedule)


def _check(library: Library, loaded: _Loaded, pressed: NudgePressed) -> PressResult | _Checked:
    user, found = loaded.user, loaded.pressed
    if user is None:
        return PressResult(Refused.UNKNOWN_USER)
    nudge = found.nudge if found is not None else None
    if found is None or nudge is None or nudge.item_id is None:
        return PressResult(Refused.NOT_OWN)
    if not library.has_item(nudge.item_id):
        return PressResult(Refused.NOT_OWN)
    if pressed.message_id is None or (
        nudge.telegram_message_id is not None and nudge.telegram_message_id != pressed.message_id
    ):
        return PressResult(Refused.OTHER_MESSAGE)
    item = library.item(nudge.item_id)
    if found.superseded:
        return PressResult(item=item, outbox_id=nudge.id, response="expired", superseded=True)
    if nudge.response is not None:
        return PressResult(
            item=item,
            outbox_id=nudge.id,
            response=nudge.response,
            payload=nudge.payload,
            already=True,
        )
    op = pressed.op
    if op in MENU_OPS:
        schedule = loaded.schedule
        if schedule is None:
            return PressResult(item=item, outbox_id=nudge.id, opened=op)
        return PressResult(
            item=item,
            outbox_id=nudge.id,
            opened=op,
            snoozes=tuple(snooze_options(loaded.now, schedule)),
            zone=schedule.timezone,
        )
    response = op.response
    if response is None or (item.kind == "insight") != (op is Op.GOT_IT):
        return PressResult(Refused.WRONG_BUTTON)
    return _Checked(user, nudge.id, item, response)


async def _record_checked(runner: Transactions, library: Library, checked: _Checked) -> PressResult:
    """Record a checked press in one write transaction."""
    recorded = await runner.write(_record, checked, library.all_items())
    if recorded.response is None:  # answered meanwhile (a double tap racing in)
        return PressResult(
            item=checked.item,
            outbox_id=checked.outbox_id,
            response=recorded.saved,
            payload=recorded.payload,
            already=True,
        )
    log.info(
        "nudge_answered",
        user_id=checked.user.id,
        outbox_id=checked.outbox_id,
        response=checked.response.value,
    )
    return PressResult(
        item=checked.item,
        outbox_id=checked.outbox_id,
        response=recorded.response,
        payload=recorded.payload,
        recorded=checked.response,
    )


def _record(tx: Tx, checked: _Checked, catalog: Sequence[Item]) -> _Recorded:
    """Claim the answer once, then end the back-off (replanned before commit), record the
    item's progress, the journal and a snooze's new row."""
    conn, now = tx.conn, tx.now
    user, outbox_id, item, response = (
        checked.user,
        checked.outbox_id,
        checked.item,
        checked.response,
    )
    if not claim_response(conn, outbox_id, user.id, response.value, now):
        again = find_pressed(conn, outbox_id, user.id)
        if again is None:
            return _Recorded(None, None)
        return _Recorded(None, again.nudge.response, again.nudge.payload)
    # Decided on her row as it is now (locked on PostgreSQL), not on the checked snapshot: the
    # dispatcher may have started a back-off since.
    ended_backoff = record_tap(conn, user.id)
    if ended_backoff:
        tx.schedule_changed(user.id)
    outcome = response.outcome
    if outcome is not None:
        # An answer on a step's variant counts for the step itself.
        progress_id = progress_item_id(catalog, item.id)
        state = read_state(conn, user.id, progress_id, lock=True)
        if state is None:
            state = record_sent(None, progress_id, now)
        save_state(conn, user.id, apply_outcome(state, outcome, now))
    if response.tried:
        insert_log(
            conn,
            user.id,
            outcome=response.value,
            source="nudge",
            item_id=item.id,
            outbox_id=outbox_id,
            now=now,
        )
    payload: dict[str, Any] | None = None
    if response is Response.NOT_YET:
        payload = _not_yet_said(tx, user, catalog, item, replanned=ended_backoff)
    if response in SNOOZE_RESPONSES:
        schedule = schedule_of(settings_of(conn, user.id), user)
        promise = snooze_promise(SNOOZE_CHOICES[response], now, schedule)
        payload = {PAYLOAD_KEY: promise.record(schedule.timezone, now)}
        add_nudge(conn, user.id, kind="item", item_id=item.id, due_at=promise.due, payload=payload)
    if payload is not None:
        set_payload(conn, outbox_id, payload)
    return _Recorded(response.value, None, payload)


def _not_yet_said(
    tx: Tx, user: UserSnapshot, catalog: Sequence[Item], item: Item, *, replanned: bool
) -> dict[str, Any] | None:
    """What "Not yet" can say: when her next nudge goes and whether it brings this step back
    (``planner.not_yet_promise``, over the states just saved); None if she gets no nudges.
    ``replanned``: the tap ended the back-off, so her planned row moves before the commit."""
    conn, now = tx.conn, tx.now
    settings = settings_of(conn, user.id)
    if replanned:
        user = replace(user, backoff_active=False)
    schedule = schedule_of(settings, user)
    facts = next_nudge_facts(conn, user.id)
    if replanned:
        facts = replace(facts, planned_due=None)
    planee = Planee(
        id=user.id,
        chat_id=user.chat_id,
        blocked=user.blocked_at is not None,
        onboarded=user.onboarded,
        ignored_streak=user.ignored_streak,
        backoff_active=user.backoff_active,
        schedule=schedule,
    )
    latest = LatestLog(*facts.latest_log) if facts.latest_log is not None else None
    nxt = not_yet_promise(
        planee,
        now,
        catalog,
        facts.states,
        item.id,
        planned_due=facts.planned_due,
        last_nudge_at=facts.last_nudge_at,
        snoozes=facts.snoozes,
        latest_log=latest,
    )
    if nxt is None:
        return None
    return {
        NOT_YET_KEY: {
            "at": nxt.at.astimezone(UTC).isoformat(),
            "comeback": nxt.comeback,
            "zone": schedule.timezone,
            "pressed_at": now.astimezone(UTC).isoformat(),
        }
    }


# -- an item sent right away: the first nudge, /tip ------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedNudge:
    """An item nudge whose outbox row exists (status ``sending``): send it after the commit,
    then ``delivered``."""

    user_id: int
    chat_id: int
    outbox_id: int
    item: Item


def prepare_item_nudge(tx: Tx, user_id: int, chat_id: int, item: Item) -> PreparedNudge:
    """In the caller's transaction: the outbox row of an item sent right away.

    The row is leased for :data:`PREPARED_LEASE`: if the process dies (or the send fails)
    before the row is recorded sent, the update that made it is not handled again (it was
    recorded with the row), so the dispatcher adopts the row when the lease runs out and
    sends it, as it does a row of its own whose outcome is unknown (at most twice in all).
    """
    outbox_id = tx.nudges.add(
        user_id,
        item_id=item.id,
        due_at=tx.now,
        status="sending",
        lease_until=tx.now + PREPARED_LEASE,
    )
    return PreparedNudge(user_id, chat_id, outbox_id, item)


async def send_now(runner: Transactions, user: UserSnapshot, item: Item) -> PreparedNudge:
    """The outbox row of ``item`` sent to her right away."""
    return await runner.write(prepare_item_nudge, user.id, user.chat_id, item)


async def delivered(runner: Transactions, nudge: PreparedNudge, message_id: int) -> None:
    """After a prepared nudge went out: the dispatcher's own bookkeeping (row sent, progress,
    her next slot)."""

    def record(tx: Tx) -> None:
        record_item_delivery(
            tx.conn,
            user_id=nudge.user_id,
            outbox_id=nudge.outbox_id,
            item_id=nudge.item.id,
            message_id=message_id,
            now=tx.now,
        )

    await runner.write(record)
    log.info(
        "nudge_sent",
        user_id=nudge.user_id,
        outbox_id=nudge.outbox_id,
        item_id=nudge.item.id,
        via="chat",
    )


async def tip(runner: Transactions, library: Library, who: Who) -> PreparedNudge | None:
    """/tip: one tip now, for the step she is on, preferring ones not seen lately (None before
    onboarding is finished)."""

    def choose(tx: Tx) -> PreparedNudge | None:
        user = sender(tx, who)
        if user is None or not user.onboarded:
            return None
        states = tx.progress.states(user.id)
        now = tx.now
        unlocked = unlocked_steps(library.all_items(), states, now)
        tips = [tip for tip in library.tips if tip.step in unlocked]
        chosen = choose_item(tips, states, now, owed_support_step=None)
        if chosen is None:
            # Everything was shown recently: the least recently shown tip still helps.
            def last_shown(tip: Item) -> datetime:
                state = states.get(tip.id)
                if state is not None and state.last_sent_at is not None:
                    return state.last_sent_at
                return datetime.min.replace(tzinfo=now.tzinfo)

            chosen = min(tips, key=last_shown).id
        return prepare_item_nudge(tx, user.id, user.chat_id, library.item(chosen))

    return await runner.write(choose)

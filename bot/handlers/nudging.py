"""Nudges in the chat: the first one after onboarding, /tip, and every press on a nudge.

A press is checked against the presser's own outbox row (callback data is untrusted), answered
at once, and recorded at most once: a second tap, a replayed update or a press on an old message
changes nothing and says so. The outcome goes into the item's progress for the spacing policy.
Each press is one unit of work: read-only unless it records something.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from bot.callbacks import SNOOZE_RESPONSES, NudgePress, Op, Response
from bot.context import CloserContext, wake_dispatcher
from bot.handlers.common import (
    answer,
    edit_or_send,
    plain,
    reply,
    schedule_of,
    typed_press,
    work,
)
from bot.logs import get_logger
from bot.nudges import (
    NOT_YET_KEY,
    SNOOZE_CHOICE_OPS,
    Menu,
    answered_keyboard,
    render_nudge,
    response_line,
    snooze_label,
)
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
from bot.storage.repositories import (
    UserSnapshot,
    record_tap,
    settings_of,
    user_by_telegram_id,
)
from bot.storage.uow import UnitOfWork, unit_of_work
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
from scheduler.promises import (
    PAYLOAD_KEY,
    SnoozeChoice,
    snooze_options,
    snooze_promise,
)

log = get_logger(__name__)

SNOOZE_CHOICES: dict[Response, SnoozeChoice] = {
    Response.LATER_HOUR: "hour",
    Response.LATER_EVENING: "evening",
    Response.LATER_TOMORROW: "tomorrow",
}


@dataclass(frozen=True, slots=True)
class PreparedNudge:
    """An item nudge whose outbox row exists (status ``sending``): send it after the commit."""

    user_id: int
    chat_id: int
    outbox_id: int
    item: Item


async def prepare_item_nudge(
    uow: UnitOfWork, user_id: int, chat_id: int, item: Item
) -> PreparedNudge:
    """In the caller's unit of work: the outbox row of an item sent right away."""
    outbox_id = await uow.nudges.add(user_id, item_id=item.id, due_at=uow.now, status="sending")
    return PreparedNudge(user_id, chat_id, outbox_id, item)


async def send_prepared(context: CloserContext, nudge: PreparedNudge) -> int:
    """Send a prepared nudge, then record it as the dispatcher would; its message id."""
    text, markup = render_nudge(nudge.item, nudge.outbox_id)
    message = await context.bot.send_message(nudge.chat_id, text, reply_markup=markup)
    services = context.services
    # The dispatcher's own bookkeeping: row sent, progress, and the user's next slot.
    await services.db.run(
        lambda conn: record_item_delivery(
            conn,
            user_id=nudge.user_id,
            outbox_id=nudge.outbox_id,
            item_id=nudge.item.id,
            message_id=message.message_id,
            now=services.clock(),
        )
    )
    log.info(
        "nudge_sent",
        user_id=nudge.user_id,
        outbox_id=nudge.outbox_id,
        item_id=nudge.item.id,
        via="chat",
    )
    return message.message_id


async def tip_command(update: Update, context: CloserContext) -> None:
    """/tip: one tip now, for the step the user is on, preferring ones not seen lately."""
    library = context.services.library
    async with work(update, context, write=True) as uow:
        user = uow.user
        prepared = None
        if user is not None and user.onboarded:
            states = await uow.progress.states(user.id)
            now = uow.now
            unlocked = unlocked_steps(library.all_items(), states, now)
            tips = [tip for tip in library.tips if tip.step in unlocked]
            chosen = choose_item(tips, states, now, owed_support_step=None)
            if chosen is None:
                # Everything was shown recently: the least recently shown tip still helps.
                def last_shown(tip: Item) -> datetime:
                    state = states.get(tip.id)
                    return (
                        state.last_sent_at
                        if state and state.last_sent_at
                        else datetime.min.replace(tzinfo=now.tzinfo)
                    )

                chosen = min(tips, key=last_shown).id
            prepared = await prepare_item_nudge(uow, user.id, user.chat_id, library.item(chosen))
    if prepared is None:
        await reply(update, library.render_text("setup_first"))
        return
    await send_prepared(context, prepared)


@dataclass(frozen=True, slots=True)
class _PressResult:
    """What a press did, for the answer and the edit made after the commit."""

    toast: str | None
    item: Item | None = None
    outbox_id: int = 0
    response: str | None = None  # show the nudge as answered with this
    menu: Menu | None = None  # show the nudge open on this menu
    refused: str | None = None  # why it changed nothing (for the log)
    later: tuple[tuple[Op, str], ...] | None = None  # the snooze buttons, on the Later menu
    payload: Any = None  # what the answer promised (``response_line``)


@dataclass(frozen=True, slots=True)
class _ToRecord:
    """A press that checked out and records something: done in a write transaction."""

    user: UserSnapshot
    outbox_id: int
    item: Item


@dataclass(frozen=True, slots=True)
class _Loaded:
    """What the read-only transaction of a press found: the presser and the nudge pressed
    (and, for the Later menu, her schedule: the buttons say when each choice comes back)."""

    user: UserSnapshot | None
    pressed: PressedNudge | None
    schedule: ScheduleSettings | None = None


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What the write transaction of a press did."""

    response: str | None  # recorded now; None: the nudge was answered meanwhile
    saved: str | None  # the answer that was already there, when ``response`` is None
    plan_affected: bool  # the tap ended the back-off, a schedule input
    payload: Any = None  # what the answer promised, stored on the pressed row


@typed_press(NudgePress)
async def on_press(update: Update, context: CloserContext, press: NudgePress) -> None:
    """A button under a nudge (an invalid or foreign press is answered as stale).

    Checked in a read-only transaction; only a press that records something (an outcome,
    "Not yet", "Got it", a snooze) opens a write one, so stale, foreign and replayed presses
    never take the write lock. The answer itself is claimed there with a conditional UPDATE,
    so a press racing another still records once. Each transaction runs whole
    (``Database.run``): a press is the commonest update, and the per-statement round trips of
    the async session were most of its cost.
    """
    query = update.callback_query
    assert query is not None
    outbox_id, op = press.outbox_id, press.op
    services = context.services
    library = services.library
    message_id = query.message.message_id if query.message is not None else None
    loaded = await services.db.run_read(_load, query.from_user.id, outbox_id, op is Op.LATER)
    result = _check(library, loaded, op, message_id, services.clock())
    if isinstance(result, _ToRecord):
        result = await _record_press(context, result, op)
    if result.refused is not None:
        log.info("press_refused", reason=result.refused)
    await answer(query, result.toast)
    if result.item is not None:
        if result.menu is not None:
            text, markup = render_nudge(
                result.item, result.outbox_id, menu=result.menu, later=result.later
            )
            await edit_or_send(query, text, markup)
        elif result.response is not None:
            await _show(
                query, library, result.item, result.outbox_id, result.response, result.payload
            )


def _load(connection: Connection, telegram_id: int, outbox_id: int, later: bool) -> _Loaded:
    """The read-only transaction of a press (runs whole)."""
    user = user_by_telegram_id(connection, telegram_id)
    pressed = find_pressed(connection, outbox_id, user.id) if user is not None else None
    schedule = None
    if later and user is not None and pressed is not None:
        schedule = schedule_of(settings_of(connection, user.id), user)
    return _Loaded(user, pressed, schedule)


def snooze_buttons(schedule: ScheduleSettings, now: datetime) -> tuple[tuple[Op, str], ...]:
    """The snooze buttons offered at ``now``: one per time it can really come back, labelled
    with it (``promises.snooze_options``, the rule the press records by)."""
    return tuple(
        (SNOOZE_CHOICE_OPS[promise.choice], snooze_label(promise, schedule.timezone, now))
        for promise in snooze_options(now, schedule)
    )


def _check(
    library: Library, loaded: _Loaded, op: Op, message_id: int | None, now: datetime
) -> _PressResult | _ToRecord:
    user, pressed = loaded.user, loaded.pressed
    if user is None:
        return _PressResult(plain(library, "button_stale"), refused="unknown_user")
    nudge = pressed.nudge if pressed is not None else None
    if nudge is None or nudge.item_id is None or not library.has_item(nudge.item_id):
        return _PressResult(plain(library, "press_not_yours"), refused="not_own_nudge")
    assert pressed is not None
    if message_id is None or (
        nudge.telegram_message_id is not None and nudge.telegram_message_id != message_id
    ):
        return _PressResult(plain(library, "press_other_message"), refused="other_message")
    item = library.item(nudge.item_id)
    if pressed.superseded:
        return _PressResult(
            plain(library, "press_superseded"),
            item,
            nudge.id,
            response="expired",
        )
    if nudge.response is not None:
        return _PressResult(
            plain(library, "already_saved"),
            item,
            nudge.id,
            nudge.response,
            payload=nudge.payload,
        )
    if op in (Op.TRIED, Op.LATER, Op.BACK):
        menu = {Op.TRIED: Menu.TRIED, Op.LATER: Menu.LATER, Op.BACK: Menu.MAIN}[op]
        later = snooze_buttons(loaded.schedule, now) if loaded.schedule is not None else None
        return _PressResult(None, item, nudge.id, menu=menu, later=later)
    if (item.kind == "insight") != (op is Op.GOT_IT):
        return _PressResult(plain(library, "press_wrong_button"))
    return _ToRecord(user, nudge.id, item)


async def _record_press(context: CloserContext, press: _ToRecord, op: Op) -> _PressResult:
    """Record a checked press in one write transaction; what to answer."""
    services = context.services
    library = services.library
    user = press.user
    response = op.response
    assert response is not None  # _check records only a press that answers
    now = services.clock()
    args = (user, library.all_items(), press.outbox_id, press.item, response, now)
    recorded = None
    if not user.backoff_active:
        with contextlib.suppress(_PlanMustMove):  # a back-off began since the check
            recorded = await services.db.run(_record, *args, replan=False)
    if recorded is None:
        # The tap ends the back-off, a schedule input: the unit of work replans her outbox rows
        # in the same transaction (a synchronous run cannot call the async planner).
        async with unit_of_work(services.db, now, write=True) as uow:
            recorded = await uow.run(_record, *args, replan=True)
            if recorded.plan_affected:
                uow.schedule_changed(user.id)
    if recorded.response is None:  # answered meanwhile (a double tap racing in)
        return _PressResult(
            plain(library, "already_saved"),
            press.item,
            press.outbox_id,
            recorded.saved,
            payload=recorded.payload,
        )
    log.info("nudge_answered", user_id=user.id, outbox_id=press.outbox_id, response=response.value)
    if response in SNOOZE_CHOICES:
        wake_dispatcher(context.application)  # the snooze's row is new: on a sped-up clock,
        # the next tick may be an hour of hers away
    return _PressResult(
        plain(library, "saved"),
        press.item,
        press.outbox_id,
        recorded.response,
        payload=recorded.payload,
    )


class _PlanMustMove(Exception):
    """The press ends the back-off but its transaction cannot replan: run it where it can."""


async def _show(
    query: CallbackQuery,
    library: Library,
    item: Item,
    outbox_id: int,
    response: str,
    payload: Any = None,
) -> None:
    text, _ = render_nudge(item, outbox_id, response_line(library, response, payload))
    try:
        await edit_or_send(query, text, answered_keyboard(response))
    except BadRequest:
        log.info("press_edit_failed", outbox_id=outbox_id)


def _record(
    connection: Connection,
    user: UserSnapshot,
    catalog: Sequence[Item],
    outbox_id: int,
    item: Item,
    response: Response,
    now: datetime,
    *,
    replan: bool,
) -> _Recorded:
    """The write transaction of a press (runs whole): claim the answer once, then end the
    back-off, record the item's progress, the journal and a snooze's new row.

    ``replan=False``: the caller cannot bring the plan in line, so a press that ends the
    back-off raises _PlanMustMove, which rolls this transaction back."""
    if not claim_response(connection, outbox_id, user.id, response.value, now):
        again = find_pressed(connection, outbox_id, user.id)
        if again is None:
            return _Recorded(None, None, False)
        return _Recorded(None, again.nudge.response, False, again.nudge.payload)
    affected = record_tap(connection, user.id)
    if affected and not replan:
        raise _PlanMustMove
    outcome = response.outcome
    if outcome is not None:
        # An answer on a step's variant counts for the step itself.
        progress_id = progress_item_id(catalog, item.id)
        state = read_state(connection, user.id, progress_id, lock=True)
        if state is None:
            state = record_sent(None, progress_id, now)
        save_state(connection, user.id, apply_outcome(state, outcome, now))
    if response.tried:
        insert_log(
            connection,
            user.id,
            outcome=response.value,
            source="nudge",
            item_id=item.id,
            outbox_id=outbox_id,
            now=now,
        )
    payload: dict[str, Any] | None = None
    if response is Response.NOT_YET:
        payload = _not_yet_said(connection, user, catalog, item, now, replanned=affected)
    if response in SNOOZE_RESPONSES:
        settings = settings_of(connection, user.id)
        schedule = schedule_of(settings, user)
        promise = snooze_promise(SNOOZE_CHOICES[response], now, schedule)
        payload = {PAYLOAD_KEY: promise.record(schedule.timezone, now)}
        add_nudge(
            connection, user.id, kind="item", item_id=item.id, due_at=promise.due, payload=payload
        )
    if payload is not None:
        set_payload(connection, outbox_id, payload)
    return _Recorded(response.value, None, affected, payload)


def _not_yet_said(
    connection: Connection,
    user: UserSnapshot,
    catalog: Sequence[Item],
    item: Item,
    now: datetime,
    *,
    replanned: bool,
) -> dict[str, Any] | None:
    """What "Not yet" can say: when her next nudge goes and whether it brings this step back
    (``planner.not_yet_promise``, over the states just saved); None if she gets no nudges.
    ``replanned``: the tap ended the back-off, so her planned row moves before the commit."""
    settings = settings_of(connection, user.id)
    if replanned:
        user = replace(user, backoff_active=False)
    schedule = schedule_of(settings, user)
    facts = next_nudge_facts(connection, user.id)
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


async def send_item_now(context: CloserContext, user: UserSnapshot, item: Item) -> int:
    """Send one content item as a nudge right away (its own unit of work); its message id."""
    services = context.services
    async with unit_of_work(services.db, services.clock(), write=True) as uow:
        prepared = await prepare_item_nudge(uow, user.id, user.chat_id, item)
    return await send_prepared(context, prepared)

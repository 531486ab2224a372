"""Nudges in the chat: the first one after onboarding, /tip, and every press on a nudge.

A press is checked against the presser's own outbox row (callback data is untrusted), answered
at once, and recorded at most once: a second tap, a replayed update or a press on an old message
changes nothing and says so. The outcome goes into the item's progress for the spacing policy.
Each press is one unit of work: read-only unless it records something.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from bot.callbacks import decode
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, plain, reply, work
from bot.logs import get_logger
from bot.nudges import OUTCOME_OPS, Menu, Op, render_nudge, response_line
from bot.storage.planning import record_item_delivery
from bot.storage.repositories import SettingsSnapshot, UserSnapshot
from bot.storage.uow import UnitOfWork, unit_of_work
from content import Item, Library
from scheduler.policy import (
    TRIED_OUTCOMES,
    Outcome,
    apply_outcome,
    choose_item,
    progress_item_id,
    record_sent,
    register_tap,
    unlocked_steps,
)

log = get_logger(__name__)

SNOOZES = {
    Op.LATER_HOUR: "later_hour",
    Op.LATER_EVENING: "later_evening",
    Op.LATER_TOMORROW: "later_tomorrow",
}
EVENING_MINUTE = 19 * 60


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
    async with services.db.transaction() as session:
        # The dispatcher's own bookkeeping: row sent, progress, and the user's next slot.
        await record_item_delivery(
            session,
            user_id=nudge.user_id,
            outbox_id=nudge.outbox_id,
            item_id=nudge.item.id,
            message_id=message.message_id,
            now=services.clock(),
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


@dataclass(frozen=True, slots=True)
class _ToRecord:
    """A press that checked out and records something: done in a write unit of work."""

    user: UserSnapshot
    outbox_id: int
    item: Item


async def on_press(update: Update, context: CloserContext) -> None:
    """A button under a nudge.

    Checked in a read-only unit of work; only a press that records something (an outcome,
    "Not yet", "Got it", a snooze) opens a write one, so stale, foreign and replayed presses
    never take the write lock. The answer itself is claimed there with a conditional UPDATE,
    so a press racing another still records once.
    """
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    outbox_id = press.int_arg(0) if press else None
    op_value = press.arg(1) if press else None
    op = Op(op_value) if op_value is not None and op_value in Op._value2member_map_ else None
    library = context.services.library
    if outbox_id is None or op is None:
        await answer(query, plain(library, "button_stale"))
        return
    message_id = query.message.message_id if query.message is not None else None
    async with work(update, context, write=False) as uow:
        checked = await _check(context, uow, outbox_id, op, message_id)
    if isinstance(checked, _ToRecord):
        services = context.services
        async with unit_of_work(services.db, services.clock(), write=True) as uow:
            uow.user = checked.user
            catalog = services.library.all_items()
            response = await _record(uow, catalog, checked.outbox_id, checked.item, op)
            if response is None:  # answered meanwhile (a double tap racing in)
                again = await uow.nudges.pressed(checked.outbox_id, checked.user.id)
                saved = again.nudge.response if again is not None else None
                checked = _PressResult(
                    plain(library, "already_saved"), checked.item, checked.outbox_id, saved
                )
            else:
                checked = _PressResult("Saved ✓", checked.item, checked.outbox_id, response)
    result = checked
    if result.refused is not None:
        log.info("press_refused", reason=result.refused)
    await answer(query, result.toast)
    if result.item is not None:
        if result.menu is not None:
            text, markup = render_nudge(result.item, result.outbox_id, menu=result.menu)
            await edit_or_send(query, text, markup)
        elif result.response is not None:
            await _show(query, library, result.item, result.outbox_id, result.response)


async def _check(
    context: CloserContext, uow: UnitOfWork, outbox_id: int, op: Op, message_id: int | None
) -> _PressResult | _ToRecord:
    user = uow.user
    library = context.services.library
    if user is None:
        return _PressResult(plain(library, "button_stale"), refused="unknown_user")
    pressed = await uow.nudges.pressed(outbox_id, user.id)
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
        return _PressResult(plain(library, "already_saved"), item, nudge.id, nudge.response)
    if op in (Op.TRIED, Op.LATER, Op.BACK):
        menu = {Op.TRIED: Menu.TRIED, Op.LATER: Menu.LATER, Op.BACK: Menu.MAIN}[op]
        return _PressResult(None, item, nudge.id, menu=menu)
    if (item.kind == "insight") != (op is Op.GOT_IT):
        return _PressResult(plain(library, "press_wrong_button"))
    return _ToRecord(user, nudge.id, item)


async def _show(
    query: CallbackQuery, library: Library, item: Item, outbox_id: int, response: str
) -> None:
    text, markup = render_nudge(item, outbox_id, response_line(library, response))
    try:
        await edit_or_send(query, text, markup)
    except BadRequest:
        log.info("press_edit_failed", outbox_id=outbox_id)


async def _record(
    uow: UnitOfWork, catalog: Sequence[Item], outbox_id: int, item: Item, op: Op
) -> str | None:
    """Apply the press in the unit of work; the response recorded, or None if already answered."""
    user = uow.user
    assert user is not None
    now = uow.now
    if op in OUTCOME_OPS:
        response = OUTCOME_OPS[op]
    elif op is Op.NOT_YET:
        response = "not_yet"
    elif op is Op.GOT_IT:
        response = "got_it"
    else:
        response = SNOOZES[op]
    if not await uow.nudges.claim_response(outbox_id, user.id, response, now):
        return None
    streak, backoff = register_tap(user.ignored_streak)
    await uow.users.set_schedule_state(user, ignored_streak=streak, backoff_active=backoff)
    if response in TRIED_OUTCOMES or response == "not_yet":
        # An answer on a step's variant counts for the step itself.
        progress_id = progress_item_id(catalog, item.id)
        state = await uow.progress.state(user.id, progress_id, lock=True)
        if state is None:
            state = record_sent(None, progress_id, now)
        outcome: Outcome = response  # type: ignore[assignment]
        await uow.progress.save(user.id, apply_outcome(state, outcome, now))
    if response in TRIED_OUTCOMES:
        await uow.journal.add(
            user.id, outcome=response, source="nudge", item_id=item.id, outbox_id=outbox_id, now=now
        )
    if response in SNOOZES.values():
        settings = await uow.users.get_settings(user.id)
        due = snooze_request(response, now, settings)
        await uow.nudges.add(user.id, item_id=item.id, due_at=due)
    log.info("nudge_answered", user_id=user.id, outbox_id=outbox_id, response=response)
    return response


def snooze_request(response: str, now: datetime, settings: SettingsSnapshot) -> datetime:
    """When she asked to see a snoozed nudge again: in an hour, this evening, or tomorrow at her
    time. Only the request: when it may really go (never in quiet hours, one nudge a local
    day) is decided at send time by one rule, ``scheduler.planner.snoozed_send_time``."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    if response == "later_hour":
        return now + timedelta(hours=1)
    if response == "later_evening":
        evening = local.replace(
            hour=EVENING_MINUTE // 60, minute=EVENING_MINUTE % 60, second=0, microsecond=0
        )
        due = evening if evening > local + timedelta(minutes=30) else local + timedelta(hours=1)
        return due.astimezone(now.tzinfo)
    tomorrow = (local + timedelta(days=1)).date()
    minute = settings.nudge_minute
    due = datetime.combine(tomorrow, time(minute // 60, minute % 60), tzinfo=zone)
    return due.astimezone(now.tzinfo)


async def send_item_now(context: CloserContext, user: UserSnapshot, item: Item) -> int:
    """Send one content item as a nudge right away (its own unit of work); its message id."""
    services = context.services
    async with unit_of_work(services.db, services.clock(), write=True) as uow:
        prepared = await prepare_item_nudge(uow, user.id, user.chat_id, item)
    return await send_prepared(context, prepared)

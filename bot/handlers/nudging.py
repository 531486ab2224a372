"""Nudges in the chat: the first one after onboarding, /tip, and every press on a nudge.

A press is checked against the presser's own outbox row (callback data is untrusted), answered
at once, and recorded at most once: a second tap, a replayed update or a press on an old message
changes nothing and says so. The outcome goes into the item's progress for the spacing policy.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from bot.callbacks import decode
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, known_user, reply
from bot.logs import get_logger
from bot.nudges import OUTCOME_OPS, Menu, Op, render_nudge
from bot.storage.models import OutboxMessage
from bot.storage.planning import record_item_delivery
from bot.storage.progress import (
    add_log,
    add_nudge,
    claim_response,
    load_states,
    own_nudge,
    save_state,
)
from bot.storage.repositories import (
    SettingsSnapshot,
    UserRepository,
    UserSnapshot,
    set_schedule_state,
)
from content import Item
from scheduler.policy import (
    Outcome,
    apply_outcome,
    choose_item,
    record_sent,
    register_tap,
    unlocked_steps,
)
from scheduler.slots import is_quiet

log = get_logger(__name__)

SNOOZES = {
    Op.LATER_HOUR: "later_hour",
    Op.LATER_EVENING: "later_evening",
    Op.LATER_TOMORROW: "later_tomorrow",
}
EVENING_MINUTE = 19 * 60


async def send_item_now(context: CloserContext, user: UserSnapshot, item: Item) -> int | None:
    """Send one content item as a nudge right away, through an outbox row; its message id."""
    services = context.services
    now = services.clock()
    async with services.db.transaction() as session:
        outbox_id = await add_nudge(
            session, user.id, kind="item", item_id=item.id, due_at=now, status="sending"
        )
    text, markup = render_nudge(item, outbox_id)
    message = await context.bot.send_message(user.chat_id, text, reply_markup=markup)
    async with services.db.transaction() as session:
        # The dispatcher's own bookkeeping: row sent, progress, and the user's next slot.
        await record_item_delivery(
            session,
            user_id=user.id,
            outbox_id=outbox_id,
            item_id=item.id,
            message_id=message.message_id,
            now=now,
        )
    log.info("nudge_sent", user_id=user.id, outbox_id=outbox_id, item_id=item.id, via="chat")
    return message.message_id


async def send_first_nudge(context: CloserContext, user: UserSnapshot) -> None:
    """Right after onboarding: step 1."""
    await send_item_now(context, user, context.services.library.steps[0])


async def tip_command(update: Update, context: CloserContext) -> None:
    """/tip: one tip now, for the step the user is on, preferring ones not seen lately."""
    user = await known_user(update, context)
    if user is None or user.onboarding_step is not None:
        await reply(update, "Let's get you set up first: send /start.")
        return
    library = context.services.library
    now = context.services.clock()
    async with context.services.db.transaction(write=False) as session:
        states = await load_states(session, user.id)
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
    await send_item_now(context, user, library.item(chosen))


async def on_press(update: Update, context: CloserContext) -> None:
    """A button under a nudge."""
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    outbox_id = press.int_arg(0) if press else None
    op_value = press.arg(1) if press else None
    user = await known_user(update, context)
    if (
        press is None
        or outbox_id is None
        or user is None
        or op_value is None
        or op_value not in Op._value2member_map_
    ):
        await answer(query, "Sorry, that button doesn't work any more.")
        return
    op = Op(op_value)
    services = context.services
    async with services.db.transaction(write=False) as session:
        nudge = await own_nudge(session, outbox_id, user.id)
    message = query.message
    if nudge is None or nudge.item_id is None or not services.library.has_item(nudge.item_id):
        log.info("press_refused", user_id=user.id, reason="not_own_nudge")
        await answer(
            query, "Sorry, that button isn't one of yours, so I've left everything as it was."
        )
        return
    if message is None or (
        nudge.telegram_message_id is not None and nudge.telegram_message_id != message.message_id
    ):
        log.info("press_refused", user_id=user.id, reason="other_message")
        await answer(query, "Sorry, that button doesn't match this message, so nothing changed.")
        return
    item = services.library.item(nudge.item_id)
    if nudge.response is None and await _superseded(context, nudge.id, user.id, nudge.item_id):
        await answer(query, "This one has been replaced by a newer message: use that one. 💛")
        await _show(query, item, nudge.id, "expired")
        return
    if nudge.response is not None:
        await answer(query, "Already saved. Nothing changed. 💛")
        await _show(query, item, nudge.id, nudge.response)
        return
    if op in (Op.TRIED, Op.LATER, Op.BACK):
        menu = {Op.TRIED: Menu.TRIED, Op.LATER: Menu.LATER, Op.BACK: Menu.MAIN}[op]
        await answer(query)
        text, markup = render_nudge(item, nudge.id, menu=menu)
        await edit_or_send(query, text, markup)
        return
    if (item.kind == "insight") != (op is Op.GOT_IT):
        await answer(query, "Sorry, that button doesn't fit this message.")
        return
    response = await _record(context, user, nudge.id, item, op)
    if response is None:
        await answer(query, "Already saved. Nothing changed. 💛")
        async with services.db.transaction(write=False) as session:
            again = await own_nudge(session, outbox_id, user.id)
        if again is not None and again.response is not None:
            await _show(query, item, nudge.id, again.response)
        return
    await answer(query, "Saved ✓")
    await _show(query, item, nudge.id, response)


async def _superseded(context: CloserContext, outbox_id: int, user_id: int, item_id: str) -> bool:
    """True when the same item was sent again after this nudge: only the newest copy counts."""
    async with context.services.db.transaction(write=False) as session:
        newer = await session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.item_id == item_id,
                OutboxMessage.id > outbox_id,
                OutboxMessage.sent_at.is_not(None),
            )
            .limit(1)
        )
    return newer is not None


async def _show(query: CallbackQuery, item: Item, outbox_id: int, response: str) -> None:
    text, markup = render_nudge(item, outbox_id, response)
    try:
        await edit_or_send(query, text, markup)
    except BadRequest:
        log.info("press_edit_failed", outbox_id=outbox_id)


async def _record(
    context: CloserContext, user: UserSnapshot, outbox_id: int, item: Item, op: Op
) -> str | None:
    """Apply the press in one transaction; the response recorded, or None if already answered."""
    services = context.services
    now = services.clock()
    if op in OUTCOME_OPS:
        response = OUTCOME_OPS[op]
    elif op is Op.NOT_YET:
        response = "not_yet"
    elif op is Op.GOT_IT:
        response = "got_it"
    else:
        response = SNOOZES[op]
    async with services.db.transaction() as session:
        if not await claim_response(session, outbox_id, user.id, response, now):
            return None
        users = UserRepository(session)
        streak, backoff = register_tap(user.ignored_streak)
        await set_schedule_state(session, user.id, ignored_streak=streak, backoff_active=backoff)
        states = await load_states(session, user.id, lock=True)
        state = states.get(item.id)
        if state is None:
            state = record_sent(None, item.id, now)
        if response in ("went_well", "mixed", "hard", "not_yet"):
            outcome: Outcome = response  # type: ignore[assignment]
            await save_state(session, user.id, apply_outcome(state, outcome, now))
        if response in ("went_well", "mixed", "hard"):
            await add_log(
                session,
                user.id,
                outcome=response,
                source="nudge",
                item_id=item.id,
                outbox_id=outbox_id,
                now=now,
            )
        if response in SNOOZES.values():
            settings = await users.get_settings(user.id)
            due = snooze_until(response, now, settings)
            await add_nudge(session, user.id, kind="item", item_id=item.id, due_at=due)
    log.info("nudge_answered", user_id=user.id, outbox_id=outbox_id, response=response)
    return response


def snooze_until(response: str, now: datetime, settings: SettingsSnapshot) -> datetime:
    """When a snoozed nudge comes back: in an hour, this evening, or tomorrow at the user's time;
    never inside quiet hours (moved to their end instead)."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    if response == "later_hour":
        due = now + timedelta(hours=1)
    elif response == "later_evening":
        evening = local.replace(
            hour=EVENING_MINUTE // 60, minute=EVENING_MINUTE % 60, second=0, microsecond=0
        )
        due = evening if evening > local + timedelta(minutes=30) else local + timedelta(hours=1)
    else:
        tomorrow = (local + timedelta(days=1)).date()
        minute = settings.nudge_minute
        due = datetime.combine(tomorrow, time(minute // 60, minute % 60), tzinfo=zone)
    return _outside_quiet_hours(due.astimezone(UTC), settings)


def _outside_quiet_hours(moment: datetime, settings: SettingsSnapshot) -> datetime:
    zone = ZoneInfo(settings.timezone)
    local = moment.astimezone(zone)
    start, end = settings.quiet_start_minute, settings.quiet_end_minute
    if not is_quiet(local.hour * 60 + local.minute, start, end):
        return moment
    wake = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if wake <= local:
        wake = datetime.combine(local.date() + timedelta(days=1), wake.timetz())
    return wake.astimezone(UTC)

"""For the moment itself: /now ("Talking now"), the five-minute listening timer, and /safety.

/now asks what is happening (he just shut down, he said "I'm fine", he's opening up, it went
badly) and answers with that moment's card: what to do in the next five minutes and a line to
say. "He's opening up" can start a listening timer: one message, edited as the minutes pass,
then a short debrief whose outcome buttons log the conversation like /log. The minutes are
outbox rows (``scheduler.timers``, sent by ``bot.delivery``): on the schedule's clock, like
everything else, and kept across a restart. /safety is the safety card, with her country's
crisis and domestic abuse lines (from her time zone) and an international directory.
"""

from __future__ import annotations

from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import NowLog, NowMenu, NowMoment, NowPress, NowTimer, SafetyPress
from bot.context import CloserContext, wake_dispatcher
from bot.handlers.common import answer, plain, reply, typed_press, who
from bot.keyboards import outcome_keyboard
from bot.logs import get_logger
from bot.usecases import info, moments
from content import MOMENTS, Library, Moment, TextKey

log = get_logger(__name__)

MOMENT_LABELS: Final[dict[Moment, TextKey]] = {
    "shut-down": "moment_shut_down",
    "says-fine": "moment_says_fine",
    "opening-up": "moment_opening_up",
    "went-badly": "moment_went_badly",
}


def moments_keyboard(library: Library) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    library.label(MOMENT_LABELS[key]), callback_data=NowMoment(key).encode()
                )
            ]
            for key in MOMENTS
        ]
    )


async def now_command(update: Update, context: CloserContext) -> None:
    """/now: what is happening right now?"""
    await info.seen(context.services.tx, who(update))
    await reply(
        update, context.library.render_text("talking_now_intro"), moments_keyboard(context.library)
    )


@typed_press(NowPress)
async def on_press(update: Update, context: CloserContext, press: NowPress) -> None:
    """A "Talking now" button: the moment menu, a moment's card, or the listening timer."""
    query = update.callback_query
    assert query is not None
    library = context.library
    if isinstance(press, NowMenu):  # "Talking now" under a nudge or /help: a new message
        await answer(query)
        message = query.message
        if message is not None:
            await context.bot.send_message(
                message.chat.id,
                library.render_text("talking_now_intro"),
                reply_markup=moments_keyboard(context.library),
            )
        return
    if isinstance(press, NowTimer):
        await _start_timer(update, context)
        return
    if isinstance(press, NowLog):
        await on_log_press(update, context)
        return
    if not isinstance(press, NowMoment):
        await answer(query, plain(library, "button_stale"))
        return
    choice = press.moment
    await answer(query)
    card = library.moment(choice)
    rows = []
    if choice == "opening-up":
        rows.append(
            [InlineKeyboardButton(library.label("label_timer"), callback_data=NowTimer().encode())]
        )
    rows.append(
        [
            InlineKeyboardButton(
                library.label("label_log_how_it_went"), callback_data=NowLog().encode()
            )
        ]
    )
    if query.message is not None:
        await context.bot.send_message(
            query.message.chat.id,
            context.library.render_item(card),
            reply_markup=InlineKeyboardMarkup(rows),
        )
    log.info("moment_card_sent", moment=choice)


async def on_log_press(update: Update, context: CloserContext) -> None:
    """ "Log how it went" under a moment's card: the /log question."""
    query = update.callback_query
    assert query is not None
    await answer(query)
    if query.message is not None:
        await context.bot.send_message(
            query.message.chat.id,
            context.library.render_text("log_question"),
            reply_markup=outcome_keyboard(context.library),
        )


async def _start_timer(update: Update, context: CloserContext) -> None:
    """Start her listening timer: a message now, then one outbox row a minute
    (``scheduler.timers``) that the dispatcher sends as edits of it, on the schedule's clock."""
    query = update.callback_query
    assert query is not None
    message = query.message
    runner, library = context.services.tx, context.library
    if message is None or not await moments.can_time(runner, who(update)):
        await answer(query, plain(library, "timer_unavailable"))
        return
    await answer(query, context.library.label("toast_timer_started"))
    timer = await context.bot.send_message(
        message.chat.id, library.render_text("listening_timer_start")
    )
    if await moments.start_timer(runner, who(update), timer.message_id) is not None:
        wake_dispatcher(context.application)


async def safety_command(update: Update, context: CloserContext) -> None:
    """/safety: control versus withdrawal, self-harm (get help now), phone privacy, her
    country's helplines."""
    await reply(update, await safety_text(update, context))


@typed_press(SafetyPress)
async def on_safety_press(update: Update, context: CloserContext, press: SafetyPress) -> None:
    """The "Safety" button: the same card as /safety, as a new message."""
    query = update.callback_query
    assert query is not None
    await answer(query)
    if query.message is not None:
        await context.bot.send_message(query.message.chat.id, await safety_text(update, context))


async def safety_text(update: Update, context: CloserContext) -> str:
    """The /safety card for this user: her country's helplines where her zone tells it."""
    country = await moments.safety_country(context.services.tx, who(update))
    return context.library.render_safety(country)

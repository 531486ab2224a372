"""/progress (her story as a caption, and a chart once there are two weeks), the look back after
each weekly check-in, and the baseline asked at the end of onboarding.

What is shown is about her: her tries, how they went, how connected and confident she feels,
how she is doing. The numbers come from ``bot.reports`` (pure functions of her records); the
chart is rendered off the event loop.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from bot.callbacks import Action, decode, encode
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, local_time_label, plain, reply, work
from bot.logs import get_logger
from bot.reports import (
    baseline_questions,
    look_back,
    look_back_input,
    progress_report,
    summarize_weeks,
)
from bot.services import Services
from bot.storage.repositories import UserSnapshot
from bot.storage.uow import UnitOfWork
from content.report_texts import CAPTION_LIMIT, default_report_texts
from scheduler.policy import unlocked_steps

log = get_logger(__name__)


async def progress_command(update: Update, context: CloserContext) -> None:
    """/progress: her story so far in words, with a chart once two weeks have data."""
    services = context.services
    async with work(update, context, write=False) as uow:
        user = uow.user
        if user is not None:
            settings = await uow.users.get_settings(user.id)
            logs = await uow.reports.logs(user.id)
            answers = await uow.reports.answers(user.id)
            states = await uow.progress.states(user.id)
            counts = await uow.progress.counts(user.id)
    if user is None:
        await reply(update, services.library.render_text("progress_nothing"))
        return
    now = services.clock()
    zone = ZoneInfo(settings.timezone)
    weeks = summarize_weeks(
        logs, answers, services.library.polls, zone, until=now.astimezone(zone).date()
    )
    report = await asyncio.to_thread(progress_report, weeks)
    library = services.library
    unlocked = unlocked_steps(library.all_items(), states, now)
    text_of = library.render_text
    extra = [
        text_of("progress_steps_open", open=len(unlocked), total=len(library.steps)),
        text_of("progress_nudges_answered", answered=counts.answered, sent=counts.sent),
    ]
    if counts.checkins_sent:
        extra.append(
            text_of(
                "progress_checkins_answered",
                answered=counts.checkins_answered,
                sent=counts.checkins_sent,
            )
        )
    next_due = counts.next_due
    if settings.paused_until is not None and settings.paused_until > now:
        until = local_time_label(settings.paused_until, settings.timezone)
        extra.append(text_of("progress_paused_until", until=until))
    elif next_due is not None:
        when = local_time_label(next_due, settings.timezone)
        extra.append(text_of("progress_next_nudge", when=when))
    if not logs:
        extra.append(text_of("progress_log_hint"))
    text = report.caption + "\n\n" + "\n".join(extra)
    if report.png is None:
        await reply(update, text)
        return
    if len(text) > CAPTION_LIMIT:
        text = report.caption
    assert update.effective_chat is not None
    await context.bot.send_photo(
        update.effective_chat.id,
        InputFile(report.png, filename=f"closer-progress-{now.astimezone(zone):%Y-%m-%d}.png"),
        caption=text,
    )
    log.info("progress_chart_sent", user_id=user.id, weeks=len(weeks), bytes=len(report.png))


# ---------------------------------------------------------------- the look back


async def look_back_after_checkin(
    uow: UnitOfWork, services: Services, user_id: int, poll_id: int
) -> str | None:
    """In the poll answer's unit of work: once every poll of a check-in is answered, the look
    back to send (claimed once per check-in), else None."""
    outbox_id = await uow.reports.checkin_of_poll(user_id, poll_id)
    if outbox_id is None or not await uow.reports.checkin_complete(user_id, outbox_id):
        return None
    if not await uow.reports.claim_look_back(outbox_id, uow.now):
        return None
    settings = await uow.users.get_settings(user_id)
    zone = ZoneInfo(settings.timezone)
    logs = await uow.reports.logs(user_id)
    answers = await uow.reports.answers(user_id)
    # The week it was sent in, on her calendar: answers that run past her midnight still look
    # back on that week (``func.min`` of a check-in with polls is never None here).
    sent_at = await uow.reports.checkin_sent_at(user_id, outbox_id) or uow.now
    week_of = sent_at.astimezone(zone).date()
    return look_back(look_back_input(logs, answers, services.library.polls, zone, week_of))


# ---------------------------------------------------------------- the baseline


def baseline_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Let's do it", callback_data=encode(Action.BASELINE, "go")),
                InlineKeyboardButton(
                    default_report_texts().plain("baseline_skip"),
                    callback_data=encode(Action.BASELINE, "skip"),
                ),
            ]
        ]
    )


async def offer_baseline(context: CloserContext, chat_id: int) -> None:
    """At the end of onboarding: three starting-point questions, skippable."""
    await context.bot.send_message(
        chat_id, default_report_texts().render("baseline_intro"), reply_markup=baseline_keyboard()
    )


async def on_baseline_press(update: Update, context: CloserContext) -> None:
    """ "Let's do it" sends the baseline polls (once); "Skip these" just says fine."""
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    choice = press.arg(0) if press else None
    async with work(update, context, write=False) as uow:
        user = uow.user
        asked = False
        if user is not None and choice == "go":
            questions = baseline_questions(context.services.library.polls)
            asked = await uow.reports.has_polls(user.id, [q.id for q in questions])
    library = context.services.library
    if user is None or choice not in ("go", "skip"):
        await answer(query, plain(library, "button_stale"))
        return
    await answer(query)
    if choice == "skip":
        await edit_or_send(query, library.render_text("baseline_skipped"))
        return
    await edit_or_send(query, library.render_text("baseline_started"))
    if not asked:
        await send_baseline(context, user)


async def send_baseline(context: CloserContext, user: UserSnapshot) -> None:
    from bot.handlers.checkins import send_polls

    await send_polls(
        context.bot, context.services, user, baseline_questions(context.services.library.polls)
    )

"""/progress (her story as a caption, and a chart once there are two weeks), and the baseline
asked at the end of onboarding.

What is shown is about her: her tries, how they went, how connected and confident she feels,
how she is doing. The facts come from ``bot.usecases.progress``, the screens from
``bot.render.progress``.
"""

from __future__ import annotations

from telegram import InputFile, Update

from bot.callbacks import BaselinePress
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, plain, reply, typed_press, who
from bot.logs import get_logger
from bot.outreach import ask_polls
from bot.render.progress import progress_screen
from bot.reports import baseline_questions
from bot.storage.repositories import UserSnapshot
from bot.usecases import progress
from bot.usecases.progress import BaselineChoice, BaselineOutcome

log = get_logger(__name__)


async def progress_command(update: Update, context: CloserContext) -> None:
    """/progress: her story so far in words, with a chart once two weeks have data."""
    services = context.services
    facts = await progress.report(services.tx, who(update))
    if facts is None:
        await reply(update, context.library.render_text("progress_nothing"))
        return
    screen = await progress_screen(facts, context.library, services.clock())
    if screen.png is None:
        await reply(update, screen.text)
        return
    assert update.effective_chat is not None
    await context.bot.send_photo(
        update.effective_chat.id,
        InputFile(screen.png, filename=screen.filename),
        caption=screen.text,
    )
    log.info(
        "progress_chart_sent", user_id=facts.user_id, weeks=screen.weeks, bytes=len(screen.png)
    )


# ---------------------------------------------------------------- the baseline


_CHOICES = {choice.value: choice for choice in BaselineChoice}


@typed_press(BaselinePress)
async def on_baseline_press(update: Update, context: CloserContext, press: BaselinePress) -> None:
    """ "Let's do it" sends the baseline polls (once); "Skip these" just says fine."""
    query = update.callback_query
    assert query is not None
    picked = _CHOICES[press.choice.value]
    library = context.library
    questions = baseline_questions(library.polls)
    pressed = await progress.press_baseline(
        context.services.tx, who(update), picked, [q.id for q in questions]
    )
    if pressed.outcome is BaselineOutcome.UNKNOWN:
        await answer(query, plain(library, "button_stale"))
        return
    await answer(query)
    if pressed.outcome is BaselineOutcome.SKIPPED:
        await edit_or_send(query, library.render_text("baseline_skipped"))
        return
    await edit_or_send(query, library.render_text("baseline_started"))
    if pressed.outcome is BaselineOutcome.STARTED and pressed.user is not None:
        await send_baseline(context, pressed.user)


async def send_baseline(context: CloserContext, user: UserSnapshot) -> None:
    await ask_polls(context.bot, context.services, user, baseline_questions(context.library.polls))

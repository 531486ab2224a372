"""/help, /about, /checklist and /progress: reading, no changes."""

from __future__ import annotations

from telegram import Update

from bot.context import CloserContext
from bot.handlers.common import reply, who
from bot.keyboards import help_keyboard
from bot.nudges import local_time_label
from bot.usecases import info
from content import TextKey
from scheduler.policy import STEP_AUTO_UNLOCK, unlocked_steps

OUTCOME_WORDS: dict[str, TextKey] = {
    "went_well": "outcome_word_went_well",
    "mixed": "outcome_word_mixed",
    "hard": "outcome_word_hard",
}


async def help_command(update: Update, context: CloserContext) -> None:
    """/help, with the way into "Talking now" and /safety."""
    await info.seen(context.services.tx, who(update))
    await reply(update, context.library.render_text("help"), help_keyboard(context.library))


async def about_command(update: Update, context: CloserContext) -> None:
    """/about: sources and credits."""
    await info.seen(context.services.tx, who(update))
    await reply(update, context.library.render_text("about"))


async def checklist_command(update: Update, context: CloserContext) -> None:
    """/checklist: the four steps and where the user stands on each."""
    library = context.library
    found = await info.checklist(context.services.tx, who(update))
    states, zone, now = found.states, found.timezone, found.now
    unlocked = unlocked_steps(library.all_items(), states, now)
    text = library.render_text
    lines = [text("checklist_title"), ""]
    for step in library.steps:
        state = states.get(step.id)
        number, title = step.step, step.title
        if state is not None and state.tries > 0:
            last = library.label(OUTCOME_WORDS.get(state.last_outcome or "", "outcome_word_tried"))
            if state.tries == 1:
                lines.append(text("checklist_tried_once", number=number, title=title, last=last))
            else:
                lines.append(
                    text(
                        "checklist_tried_times",
                        number=number,
                        title=title,
                        count=state.tries,
                        last=last,
                    )
                )
        elif step.step in unlocked:
            lines.append(text("checklist_open", number=number, title=title))
        else:
            before = library.step(step.step - 1)
            prev_state = states.get(before.id)
            if prev_state is not None and prev_state.first_sent_at is not None:
                when = local_time_label(prev_state.first_sent_at + STEP_AUTO_UNLOCK, zone, library)
                lines.append(
                    text(
                        "checklist_locked_until",
                        number=number,
                        title=title,
                        before=before.step,
                        when=when,
                    )
                )
            else:
                lines.append(
                    text("checklist_locked", number=number, title=title, before=before.step)
                )
    lines += ["", text("checklist_footer")]
    await reply(update, "\n".join(lines))

"""/help, /about, /checklist and /progress: reading, no changes."""

from __future__ import annotations

from html import escape

from telegram import Update

from bot.context import CloserContext
from bot.handlers.common import local_time_label, reply, work
from bot.handlers.moments import help_keyboard
from scheduler.policy import STEP_AUTO_UNLOCK, ItemState, unlocked_steps

OUTCOME_WORDS = {"went_well": "went well", "mixed": "mixed", "hard": "hard"}


async def help_command(update: Update, context: CloserContext) -> None:
    """/help, with the way into "Talking now" and /safety."""
    async with work(update, context, write=False):
        pass  # only ends a typed question left open
    await reply(update, context.services.library.render_text("help"), help_keyboard())


async def about_command(update: Update, context: CloserContext) -> None:
    """/about: sources and credits."""
    async with work(update, context, write=False):
        pass  # only ends a typed question left open
    await reply(update, context.services.library.render_text("about"))


async def checklist_command(update: Update, context: CloserContext) -> None:
    """/checklist: the four steps and where the user stands on each."""
    services = context.services
    states: dict[str, ItemState] = {}
    zone = "UTC"
    async with work(update, context, write=False) as uow:
        if uow.user is not None:
            states = await uow.progress.states(uow.user.id)
            zone = (await uow.users.get_settings(uow.user.id)).timezone
    now = services.clock()
    library = services.library
    unlocked = unlocked_steps(library.all_items(), states, now)
    lines = ["<b>Your checklist</b>", ""]
    for step in library.steps:
        state = states.get(step.id)
        title = escape(step.title, quote=False)
        if state is not None and state.tries > 0:
            last = OUTCOME_WORDS.get(state.last_outcome or "", "tried")
            times = "once" if state.tries == 1 else f"{state.tries} times"
            lines.append(f"✅ {step.step}. {title}: tried {times} (last: {last})")
        elif step.step in unlocked:
            lines.append(f"▶️ {step.step}. {title}: open now")
        else:
            before = library.step(step.step - 1)
            prev_state = states.get(before.id)
            when = ""
            if prev_state is not None and prev_state.first_sent_at is not None:
                when = (
                    f", or on {local_time_label(prev_state.first_sent_at + STEP_AUTO_UNLOCK, zone)}"
                )
            lines.append(f"🔒 {step.step}. {title}: opens once you try step {before.step}{when}")
    lines += ["", "Log a real conversation any time with /log."]
    await reply(update, "\n".join(lines))

"""/help, /about, /checklist and /progress: reading, no changes."""

from __future__ import annotations

from html import escape

from telegram import Update

from bot.context import CloserContext
from bot.handlers.common import local_time_label, reply, work
from scheduler.policy import STEP_AUTO_UNLOCK, ItemState, unlocked_steps

OUTCOME_WORDS = {"went_well": "went well", "mixed": "mixed", "hard": "hard"}


async def help_command(update: Update, context: CloserContext) -> None:
    """/help."""
    async with work(update, context, write=False):
        pass  # only ends a typed question left open
    await reply(update, context.services.library.render_text("help"))


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


async def progress_command(update: Update, context: CloserContext) -> None:
    """/progress: what the user has tried and logged so far."""
    services = context.services
    async with work(update, context, write=False) as uow:
        user = uow.user
        if user is not None:
            settings = await uow.users.get_settings(user.id)
            states = await uow.progress.states(user.id)
            counts = await uow.progress.counts(user.id)
    if user is None:
        await reply(update, "Nothing logged yet. Send /start to begin.")
        return
    outcomes = counts.outcomes
    answered, sent, checkins, next_due = (
        counts.answered,
        counts.sent,
        counts.checkin_answers,
        counts.next_due,
    )
    library = services.library
    now = services.clock()
    unlocked = unlocked_steps(library.all_items(), states, now)
    total = sum(outcomes.values())
    lines = [
        "<b>Your progress</b>",
        "",
        f"With Closer since {local_time_label(user.created_at, settings.timezone).split(',')[0]}.",
        f"Conversations logged: {total}"
        + (
            f" (😊 {outcomes.get('went_well', 0)} went well · "
            f"😐 {outcomes.get('mixed', 0)} mixed · 😣 {outcomes.get('hard', 0)} hard)"
            if total
            else ""
        ),
        f"Steps open: {len(unlocked)} of {len(library.steps)}",
        f"Nudges answered: {answered or 0} of {sent or 0}",
        f"Check-in answers: {checkins or 0}",
    ]
    tried = [library.step(n) for n in sorted(unlocked) if states.get(library.step(n).id)]
    tried = [s for s in tried if (st := states.get(s.id)) is not None and st.tries > 0]
    if tried:
        lines.append(
            "Steps you've tried: " + ", ".join(escape(s.title, quote=False) for s in tried)
        )
    if settings.paused_until is not None and settings.paused_until > now:
        lines.append(f"Paused until {local_time_label(settings.paused_until, settings.timezone)}.")
    elif next_due is not None:
        lines.append(f"Next nudge: {local_time_label(next_due, settings.timezone)}.")
    if total == 0:
        lines += ["", "When you've had a real conversation, tell me with /log."]
    await reply(update, "\n".join(lines))

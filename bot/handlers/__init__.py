"""One module per feature; `register_handlers` wires them all, in one place."""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    PollAnswerHandler,
    filters,
)

from bot.callbacks import Action, pattern
from bot.context import CloserApplication

# The phone's command menu, in the order people need them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("log", "Log how a conversation went"),
    ("tip", "A tip right now"),
    ("checklist", "The four steps and where you are"),
    ("progress", "What you've tried so far"),
    ("settings", "Time zone, time of day, pace"),
    ("pause", "Take a break from messages"),
    ("resume", "Start messages again"),
    ("export", "Download everything I store about you"),
    ("forget", "Erase everything I store about you"),
    ("now", "In a conversation right now? Help for the moment"),
    ("safety", "If things feel unsafe, or he talks of self-harm"),
    ("about", "Where the ideas come from"),
    ("help", "What Closer can do"),
    ("start", "Start or restart"),
)


def register_handlers(application: CloserApplication) -> None:
    """Wire every handler. Order matters only within a group: the first match wins."""
    from bot.handlers import (
        checkins,
        fallback,
        freetext,
        hearing,
        info,
        journal,
        moments,
        nudging,
        operators,
        pausing,
        privacy,
        progress,
        routing,
        setup,
    )

    private = filters.ChatType.PRIVATE
    commands = {
        "start": setup.start,
        "settings": setup.settings_command,
        "help": info.help_command,
        "about": info.about_command,
        "checklist": info.checklist_command,
        "progress": progress.progress_command,
        "tip": nudging.tip_command,
        "log": journal.log_command,
        "pause": pausing.pause_command,
        "resume": pausing.resume_command,
        "export": privacy.export_command,
        "forget": privacy.forget_command,
        "now": moments.now_command,
        "safety": moments.safety_command,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=private))
    application.add_handler(CommandHandler("stats", operators.stats_command))  # not in COMMANDS

    buttons = (
        (Action.SET, setup.on_press),
        (Action.ASK, setup.on_press),
        (Action.BACK, setup.on_press),
        (Action.NUDGE, nudging.on_press),
        (Action.LOG, journal.on_press),
        (Action.FORGET, privacy.on_press),
        (Action.PAUSE, pausing.on_press),
        (Action.PAUSE_OFFER, pausing.on_pause_offer),
        (Action.BASELINE, progress.on_baseline_press),
        (Action.NOW, moments.on_press),
        (Action.SAFETY, moments.on_safety_press),
        (Action.CARD, freetext.on_another_card),
        (Action.CLEAR, hearing.on_clear_press),
        (Action.HOLD, hearing.on_hold_press),
    )
    for action, on_button in buttons:
        application.add_handler(CallbackQueryHandler(on_button, pattern=pattern(action)))
    application.add_handler(CallbackQueryHandler(fallback.on_stale_button))

    application.add_handler(PollAnswerHandler(checkins.on_poll_answer))
    application.add_handler(
        ChatMemberHandler(privacy.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    # Danger in anything she types is heard first, whatever else answers the update after it.
    spoken = (filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE) & (
        filters.TEXT | filters.CAPTION
    )
    application.add_handler(MessageHandler(private & spoken, hearing.on_any_text), group=-1)
    application.add_handler(MessageHandler(private & filters.LOCATION, setup.on_location))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, routing.on_text
        )
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, fallback.on_unknown_command)
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & private, fallback.on_other_message)
    )

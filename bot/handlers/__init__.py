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
from content import TextKey

# The phone's command menu, in the order people need them: each command and the key of its
# description (content/data/texts.yaml, in every language).
COMMANDS: tuple[tuple[str, TextKey], ...] = (
    ("log", "command_log"),
    ("tip", "command_tip"),
    ("checklist", "command_checklist"),
    ("progress", "command_progress"),
    ("settings", "command_settings"),
    ("language", "command_language"),
    ("pause", "command_pause"),
    ("resume", "command_resume"),
    ("export", "command_export"),
    ("forget", "command_forget"),
    ("now", "command_now"),
    ("safety", "command_safety"),
    ("about", "command_about"),
    ("help", "command_help"),
    ("start", "command_start"),
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
        languages,
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
        "language": languages.language_command,
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
        (Action.LANGUAGE, languages.on_press),
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

"""/log: how a real conversation went, which step or tip helped, and an optional note.

Each answer is saved the moment it is given, so nothing is lost if the user stops half-way. The
note is stored for the user (it appears in /export) and is never written to a log.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import LogItem, LogOutcome, LogPress, LogSkipNote, Response
from bot.context import CloserContext
from bot.handlers.common import Screen, answer, edit_or_send, plain, reply, typed_press, who
from bot.keyboards import outcome_keyboard
from bot.nudges import safety_button
from bot.usecases import journal
from content import Library, TextKey

LOGGED: dict[Response, TextKey] = {
    Response.WENT_WELL: "log_logged_went_well",
    Response.MIXED: "log_logged_mixed",
    Response.HARD: "log_logged_hard",
}


async def log_command(update: Update, context: CloserContext) -> None:
    """/log: ask how it went."""
    library = context.library
    if not await journal.may_log(context.services.tx, who(update)):
        await reply(update, library.render_text("setup_first"))
        return
    await reply(update, library.render_text("log_question"), outcome_keyboard(library))


_REFUSED: dict[journal.Refused, TextKey] = {
    journal.Refused.GONE: "button_stale",
    journal.Refused.ALREADY_SAVED: "already_saved",
    journal.Refused.NOT_YOURS: "log_not_yours",
    journal.Refused.UNKNOWN_ITEM: "log_unknown_item",
}


@typed_press(LogPress)
async def on_press(update: Update, context: CloserContext, press: LogPress) -> None:
    """A button of the /log flow."""
    query = update.callback_query
    assert query is not None
    services = context.services
    library = context.library
    if query.message is None:
        await answer(query, plain(library, "button_stale"))
        return
    message_id = query.message.message_id
    done: journal.Logged | journal.NoteAsked | journal.Refused | None
    if isinstance(press, LogOutcome):
        done = await journal.log_outcome(
            services.tx, library, who(update), press.outcome, message_id
        )
    elif isinstance(press, LogItem):
        done = await journal.log_item(
            services.tx, library, who(update), press.log_id, press.item_id, message_id
        )
    elif isinstance(press, LogSkipNote):
        done = await journal.skip_note(services.tx, who(update), press.log_id, message_id)
    else:
        done = journal.Refused.GONE
    if isinstance(done, journal.Refused):
        await answer(query, plain(library, _REFUSED[done]))
        return
    await answer(query, plain(library, "saved"))
    await edit_or_send(query, *_screen(library, done))


def _screen(library: Library, done: journal.Logged | journal.NoteAsked | None) -> Screen:
    """What follows a saved answer: which step it leaned on, the note, or done."""
    if isinstance(done, journal.Logged):
        keyboard = _item_keyboard(library, done)
        if done.outcome is Response.HARD:  # the text first asks whether she felt safe
            keyboard = InlineKeyboardMarkup([[safety_button(library)], *keyboard.inline_keyboard])
        return library.render_text(LOGGED[done.outcome]), keyboard
    if isinstance(done, journal.NoteAsked):
        if done.item is not None:
            text = library.render_text("log_note_question_leaned", title=done.item.title)
        else:
            text = library.render_text("log_note_question")
        return text, _note_keyboard(library, done.log_id)
    return library.render_text("log_done"), None


def _item_keyboard(library: Library, logged: journal.Logged) -> InlineKeyboardMarkup:
    log_id = logged.log_id
    rows = [
        [
            InlineKeyboardButton(
                f"{step.step}. {step.title}"[:60],
                callback_data=LogItem(log_id, step.id).encode(),
            )
        ]
        for step in library.steps
    ]
    for tip in logged.tips:
        rows.append(
            [
                InlineKeyboardButton(
                    f"💡 {tip.title}"[:60], callback_data=LogItem(log_id, tip.id).encode()
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                library.label("label_skip"), callback_data=LogItem(log_id, None).encode()
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


def _note_keyboard(library: Library, log_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    library.label("label_skip_note"), callback_data=LogSkipNote(log_id).encode()
                )
            ]
        ]
    )


async def on_note(update: Update, context: CloserContext, log_id: int) -> None:
    """The typed note for a log (never logged, only stored)."""
    message = update.effective_message
    assert message is not None
    library = context.library
    noted = await journal.save_note(context.services.tx, who(update), log_id, message.text or "")
    if noted is journal.Noted.NOT_ASKED:
        return  # answered meanwhile
    if noted is journal.Noted.TOO_LATE:
        # The note question is long gone: this text is not an answer to it.
        too_late = library.render_text("log_note_too_late")
        await reply(update, too_late + "\n\n" + library.render_text("free_text_reply"))
    elif noted is journal.Noted.EMPTY:
        await reply(update, library.render_text("log_note_empty"))
    elif noted is journal.Noted.TRIMMED:
        trimmed = library.render_text("log_note_trimmed")
        await reply(update, trimmed + "\n\n" + library.render_text("log_done"))
    else:
        await reply(update, library.render_text("log_done"))

"""/log: how a real conversation went, which step or tip helped, and an optional note.

Each answer is saved the moment it is given, so nothing is lost if the user stops half-way. The
note is stored for the user (it appears in /export) and is never written to a log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import (
    Awaiting,
    LogItem,
    LogOutcome,
    LogPress,
    LogSkipNote,
    Response,
)
from bot.context import CloserContext
from bot.handlers.common import Screen, answer, edit_or_send, plain, reply, typed_press, work
from bot.keyboards import outcome_keyboard
from bot.logs import get_logger
from bot.nudges import safety_button
from bot.storage.uow import UnitOfWork
from content import Library, TextKey
from scheduler.policy import ItemState, apply_outcome, progress_item_id

log = get_logger(__name__)

LOGGED: dict[Response, TextKey] = {
    Response.WENT_WELL: "log_logged_went_well",
    Response.MIXED: "log_logged_mixed",
    Response.HARD: "log_logged_hard",
}
NOTE_LIMIT = 500
NOTE_WINDOW = timedelta(hours=1)  # a typed note must follow its question


async def log_command(update: Update, context: CloserContext) -> None:
    """/log: ask how it went."""
    async with work(update, context, write=False) as uow:
        user = uow.user
    library = context.services.library
    if user is None or user.onboarding_step is not None:
        await reply(update, library.render_text("setup_first"))
        return
    await reply(update, library.render_text("log_question"), outcome_keyboard())


@typed_press(LogPress)
async def on_press(update: Update, context: CloserContext, press: LogPress) -> None:
    """A button of the /log flow."""
    query = update.callback_query
    assert query is not None
    library = context.services.library
    if query.message is None:
        await answer(query, plain(library, "button_stale"))
        return
    message_id = query.message.message_id
    toast: str | None = plain(library, "button_stale")
    screen: Screen | None = None
    async with work(update, context, write=True) as uow:
        if uow.user is not None:
            if isinstance(press, LogOutcome):
                toast, screen = await _on_outcome(uow, library, press.outcome, message_id)
            elif isinstance(press, LogItem):
                toast, screen = await _on_item(
                    uow, library, press.log_id, press.item_id, message_id
                )
            elif isinstance(press, LogSkipNote):
                toast, screen = await _on_skip_note(uow, library, press.log_id, message_id)
    await answer(query, toast)
    if screen is not None:
        await edit_or_send(query, *screen)


async def _on_outcome(
    uow: UnitOfWork, library: Library, outcome: Response, message_id: int
) -> tuple[str, Screen | None]:
    user = uow.user
    assert user is not None
    log_id = await uow.journal.add(
        user.id, outcome=outcome.value, source="log", now=uow.now, request_message_id=message_id
    )
    if log_id is None:
        return plain(library, "already_saved"), None
    log.info("conversation_logged", user_id=user.id, log_id=log_id, outcome=outcome.value)
    text = library.render_text(LOGGED[outcome])
    keyboard = await _item_keyboard(uow, library, log_id)
    if outcome is Response.HARD:  # the text first asks whether she felt safe: /safety one tap
        keyboard = InlineKeyboardMarkup([[safety_button()], *keyboard.inline_keyboard])
    return plain(library, "saved"), (text, keyboard)


async def _item_keyboard(uow: UnitOfWork, library: Library, log_id: int) -> InlineKeyboardMarkup:
    assert uow.user is not None
    rows = [
        [
            InlineKeyboardButton(
                f"{step.step}. {step.title}"[:60],
                callback_data=LogItem(log_id, step.id).encode(),
            )
        ]
        for step in library.steps
    ]
    recent = await uow.journal.recently_sent_items(uow.user.id, 6)
    tips = [library.item(i) for i in recent if library.has_item(i)]
    for tip in [t for t in tips if t.kind == "tip"][:3]:
        rows.append(
            [
                InlineKeyboardButton(
                    f"Tip: {tip.title}"[:60], callback_data=LogItem(log_id, tip.id).encode()
                )
            ]
        )
    rows.append([InlineKeyboardButton("Skip", callback_data=LogItem(log_id, None).encode())])
    return InlineKeyboardMarkup(rows)


def _note_keyboard(log_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Skip the note", callback_data=LogSkipNote(log_id).encode())]]
    )


async def _on_item(
    uow: UnitOfWork, library: Library, log_id: int, item_id: str | None, message_id: int
) -> tuple[str, Screen | None]:
    user = uow.user
    assert user is not None
    if item_id is not None and not library.has_item(item_id):
        return plain(library, "log_unknown_item"), None
    owned = await uow.journal.own(log_id, user.id, message_id)
    if owned is None:
        return plain(library, "log_not_yours"), None
    if item_id is not None:
        if not await uow.journal.set_item(log_id, user.id, item_id):
            return plain(library, "already_saved"), None
        # A logged conversation that leaned on a step or tip is a try of it (it unlocks the
        # next step and moves the item's box, as the same answer on a nudge would).
        # Leaning on a step's variant is a try of the step itself.
        progress_id = progress_item_id(library.all_items(), item_id)
        state = await uow.progress.state(user.id, progress_id, lock=True) or ItemState(
            item_id=progress_id
        )
        logged = Response.parse(owned.outcome)  # a tried outcome (the journal's constraint)
        outcome = logged.outcome if logged is not None and logged.tried else None
        if outcome is not None:
            await uow.progress.save(user.id, apply_outcome(state, outcome, uow.now))
    await uow.users.set_awaiting(user.id, Awaiting.note(log_id).code)
    if item_id is not None:
        text = library.render_text("log_note_question_leaned", title=library.item(item_id).title)
    else:
        text = library.render_text("log_note_question")
    return plain(library, "saved"), (text, _note_keyboard(log_id))


async def _on_skip_note(
    uow: UnitOfWork, library: Library, log_id: int, message_id: int
) -> tuple[str, Screen | None]:
    user = uow.user
    assert user is not None
    if await uow.journal.own(log_id, user.id, message_id) is None:
        return plain(library, "log_not_yours"), None
    if user.awaiting is not None:
        await uow.users.set_awaiting(user.id, None)
    return plain(library, "saved"), (library.render_text("log_done"), None)


def storable(text: str) -> tuple[str, bool]:
    """``text`` without what a database cannot store (NUL, which PostgreSQL refuses in text,
    and lone surrogates, which are not UTF-8); and whether anything was taken out."""
    cleaned = text.replace("\x00", "")
    cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")
    return cleaned, cleaned != text


def real_elapsed(context: CloserContext, since: datetime) -> timedelta:
    """Real time since ``since`` (a schedule time), also when the schedule clock runs fast
    (``CLOSER_CLOCK_SPEED``, ``closer try``): a person types at the speed of a person."""
    clock = context.services.clock
    elapsed = clock() - since
    real_seconds = getattr(clock, "real_seconds", None)
    if real_seconds is None:
        return elapsed
    return timedelta(seconds=float(real_seconds(elapsed.total_seconds())))


async def on_note(update: Update, context: CloserContext, log_id: int) -> None:
    """The typed note for a log (never logged, only stored)."""
    message = update.effective_message
    assert message is not None
    note, cleaned = storable(" ".join((message.text or "").split())[:NOTE_LIMIT])
    reply_text: str
    library = context.services.library
    async with work(update, context, write=True) as uow:
        user = uow.user
        if user is None or user.awaiting != Awaiting.note(log_id):
            return  # answered meanwhile
        entry = await uow.journal.get(log_id, user.id)
        if entry is None or real_elapsed(context, entry.created_at) > NOTE_WINDOW:
            # The note question is long gone: this text is not an answer to it.
            await uow.users.set_awaiting(user.id, None)
            reply_text = (
                library.render_text("log_note_too_late")
                + "\n\n"
                + library.render_text("free_text_reply")
            )
        elif not note:
            reply_text = library.render_text("log_note_empty")
        else:
            await uow.journal.set_note(log_id, user.id, note)
            await uow.users.set_awaiting(user.id, None)
            log.info("conversation_note_saved", user_id=user.id, log_id=log_id, length=len(note))
            reply_text = library.render_text("log_done")
            if cleaned:
                reply_text = library.render_text("log_note_trimmed") + "\n\n" + reply_text
    await reply(update, reply_text)

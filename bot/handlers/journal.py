"""/log: how a real conversation went, which step or tip helped, and an optional note.

Each answer is saved the moment it is given, so nothing is lost if the user stops half-way. The
note is stored for the user (it appears in /export) and is never written to a log.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import decode, encode
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, known_user, reply
from bot.logs import get_logger
from bot.storage.models import ConversationLog, ItemProgress
from bot.storage.progress import add_log, load_states, save_state
from bot.storage.repositories import UserSnapshot, set_awaiting
from scheduler.policy import ItemState, Outcome, apply_outcome

log = get_logger(__name__)

LOG = "lg"
OUTCOME_LABELS = {"went_well": "😊 Went well", "mixed": "😐 Mixed", "hard": "😣 Hard"}
LOGGED_AS = {"went_well": "it went well", "mixed": "mixed", "hard": "it was hard"}
NOTE_LIMIT = 500
NOTE_WINDOW = timedelta(hours=1)  # a typed note must follow its question
AWAIT_NOTE = "note"


def outcome_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=encode(LOG, "o", outcome))
                for outcome, label in OUTCOME_LABELS.items()
            ]
        ]
    )


async def log_command(update: Update, context: CloserContext) -> None:
    """/log: ask how it went."""
    user = await known_user(update, context)
    if user is None or user.onboarding_step is not None:
        await reply(update, "Let's get you set up first: send /start.")
        return
    await reply(
        update,
        "<b>How did the conversation go?</b>\n\nEvery try counts, whatever the outcome.",
        outcome_keyboard(),
    )


async def on_press(update: Update, context: CloserContext) -> None:
    """A button of the /log flow."""
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    user = await known_user(update, context)
    if press is None or user is None or query.message is None:
        await answer(query, "Sorry, that button doesn't work any more.")
        return
    step = press.arg(0)
    if step == "o" and press.arg(1) in OUTCOME_LABELS:
        await _on_outcome(update, context, user, str(press.arg(1)), query.message.message_id)
        return
    log_id = press.int_arg(1)
    if log_id is None or step not in ("i", "n"):
        await answer(query, "Sorry, that button doesn't work any more.")
        return
    message_id = query.message.message_id
    if step == "i":
        await _on_item(update, context, user, log_id, press.arg(2) or "-", message_id)
    else:
        await _on_skip_note(update, context, user, log_id, message_id)


async def _on_outcome(
    update: Update, context: CloserContext, user: UserSnapshot, outcome: str, message_id: int
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    async with services.db.transaction() as session:
        existing = await session.scalar(
            select(ConversationLog.id).where(
                ConversationLog.user_id == user.id,
                ConversationLog.request_message_id == message_id,
            )
        )
        if existing is not None:
            log_id = None
        else:
            log_id = await add_log(
                session, user.id, outcome=outcome, source="log", now=services.clock()
            )
            await session.execute(update_log(log_id, user.id).values(request_message_id=message_id))
    if log_id is None:
        await answer(query, "Already saved. Nothing changed. 💛")
        return
    log.info("conversation_logged", user_id=user.id, log_id=log_id, outcome=outcome)
    await answer(query, "Saved ✓")
    await edit_or_send(
        query,
        f"✅ Logged: {LOGGED_AS[outcome]}.\n\n<b>Which step or tip did you lean on?</b> (optional)",
        await _item_keyboard(context, user, log_id),
    )


async def _own_log(
    session: AsyncSession, log_id: int, user_id: int, message_id: int
) -> ConversationLog | None:
    """The log a /log button belongs to: this user's, asked in this very message."""
    row: ConversationLog | None = await session.scalar(
        select(ConversationLog).where(
            ConversationLog.id == log_id,
            ConversationLog.user_id == user_id,
            ConversationLog.request_message_id == message_id,
        )
    )
    return row


def update_log(log_id: int, user_id: int) -> Any:
    return update(ConversationLog).where(
        ConversationLog.id == log_id, ConversationLog.user_id == user_id
    )


async def _item_keyboard(
    context: CloserContext, user: UserSnapshot, log_id: int
) -> InlineKeyboardMarkup:
    library = context.services.library
    rows = [
        [
            InlineKeyboardButton(
                f"{step.step}. {step.title}"[:60], callback_data=encode(LOG, "i", log_id, step.id)
            )
        ]
        for step in library.steps
    ]
    async with context.services.db.transaction(write=False) as session:
        recent = (
            await session.scalars(
                select(ItemProgress.item_id)
                .where(ItemProgress.user_id == user.id, ItemProgress.last_sent_at.is_not(None))
                .order_by(ItemProgress.last_sent_at.desc())
                .limit(6)
            )
        ).all()
    tips = [library.item(i) for i in recent if library.has_item(i)]
    for tip in [t for t in tips if t.kind == "tip"][:3]:
        rows.append(
            [
                InlineKeyboardButton(
                    f"Tip: {tip.title}"[:60], callback_data=encode(LOG, "i", log_id, tip.id)
                )
            ]
        )
    rows.append([InlineKeyboardButton("Skip", callback_data=encode(LOG, "i", log_id, "-"))])
    return InlineKeyboardMarkup(rows)


def _note_keyboard(log_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Skip the note", callback_data=encode(LOG, "n", log_id))]]
    )


async def _on_item(
    update: Update,
    context: CloserContext,
    user: UserSnapshot,
    log_id: int,
    item_id: str,
    message_id: int,
) -> None:
    query = update.callback_query
    assert query is not None
    library = context.services.library
    if item_id != "-" and not library.has_item(item_id):
        await answer(query, "Sorry, I don't know that one. Please pick again.")
        return
    async with context.services.db.transaction() as session:
        owned = await _own_log(session, log_id, user.id, message_id)
        if owned is None:
            await answer(query, "Sorry, that button isn't one of yours, so nothing changed.")
            return
        if item_id != "-":
            result = await session.execute(
                update_log(log_id, user.id)
                .where(ConversationLog.item_id.is_(None))
                .values(item_id=item_id)
            )
            if cast(CursorResult[Any], result).rowcount == 0:
                await answer(query, "Already saved. Nothing changed. 💛")
                return
            # A logged conversation that leaned on a step or tip is a try of it (it unlocks
            # the next step and moves the item's box, as the same answer on a nudge would).
            states = await load_states(session, user.id, lock=True)
            state = states.get(item_id) or ItemState(item_id=item_id)
            outcome = cast(Outcome, owned.outcome)
            await save_state(
                session, user.id, apply_outcome(state, outcome, context.services.clock())
            )
        await set_awaiting(session, user.id, f"{AWAIT_NOTE}:{log_id}")
    await answer(query, "Saved ✓")
    chosen = f" You leaned on: {library.item(item_id).title}." if item_id != "-" else ""
    await edit_or_send(
        query,
        f"✅ Logged.{_escape(chosen)}\n\n<b>Add a one-line note?</b> Type it now: it's kept "
        "for you (you'll see it in /export) and nobody else reads it. Or skip it.",
        _note_keyboard(log_id),
    )


def _escape(text: str) -> str:
    return escape(text, quote=False)


async def _on_skip_note(
    update: Update, context: CloserContext, user: UserSnapshot, log_id: int, message_id: int
) -> None:
    query = update.callback_query
    assert query is not None
    async with context.services.db.transaction() as session:
        owned = await _own_log(session, log_id, user.id, message_id)
        if owned is None:
            await answer(query, "Sorry, that button isn't one of yours, so nothing changed.")
            return
        await set_awaiting(session, user.id, None)
    await answer(query, "Saved ✓")
    await edit_or_send(query, _done_text())


def _done_text() -> str:
    return (
        "✅ Saved. Thank you for trying: every conversation is practice, whatever the outcome.\n\n"
        "See everything so far with /progress."
    )


async def on_note(update: Update, context: CloserContext, user: UserSnapshot, log_id: int) -> None:
    """The typed note for a log (never logged, only stored)."""
    message = update.effective_message
    assert message is not None
    async with context.services.db.transaction(write=False) as session:
        asked_at = await session.scalar(
            select(ConversationLog.created_at).where(
                ConversationLog.id == log_id, ConversationLog.user_id == user.id
            )
        )
    if asked_at is None or context.services.clock() - asked_at > NOTE_WINDOW:
        # The note question is long gone: this text is not an answer to it.
        async with context.services.db.transaction() as session:
            await set_awaiting(session, user.id, None)
        await reply(update, context.services.library.render_text("free_text_reply"))
        return
    note = " ".join((message.text or "").split())[:NOTE_LIMIT]
    if not note:
        await reply(update, "That note looks empty. Type a line, or tap “Skip the note”.")
        return
    async with context.services.db.transaction() as session:
        result = await session.execute(update_log(log_id, user.id).values(note=note))
        await set_awaiting(session, user.id, None)
    if cast(CursorResult[Any], result).rowcount == 0:
        await reply(update, "I couldn't find that log any more, so I didn't keep the note.")
        return
    log.info("conversation_note_saved", user_id=user.id, log_id=log_id, length=len(note))
    await reply(update, _done_text())

"""/log: how a real conversation went, which step or tip helped, and an optional note.

Each answer is saved the moment it is given, so nothing is lost if she stops half-way. The note
is stored for her (it appears in /export) and is never written to a log.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bot.callbacks import Awaiting, Response
from bot.logs import get_logger
from bot.storage.repositories import UserSnapshot
from bot.storage.uow import Transactions, Tx
from bot.usecases.common import Who, end_question, sender
from content import Item, Library
from scheduler.policy import ItemState, apply_outcome, progress_item_id

log = get_logger(__name__)

NOTE_LIMIT: Final = 500
NOTE_WINDOW: Final = timedelta(hours=1)  # a typed note must follow its question
RECENT_ITEMS: Final = 6  # the items sent lately that a logged conversation may have leaned on
TIPS_OFFERED: Final = 3


class Refused(enum.Enum):
    """Why a /log answer changed nothing."""

    GONE = "gone"  # Closer keeps nothing of hers
    ALREADY_SAVED = "already_saved"  # this question was answered before
    NOT_YOURS = "not_yours"  # not her log, or not asked in this message
    UNKNOWN_ITEM = "unknown_item"  # no step or tip of that id


async def may_log(runner: Transactions, who: Who) -> bool:
    """/log: whether she can log a conversation (onboarded)."""
    user = await runner.read_once(sender, who)  # the question is asked once
    await end_question(runner, who, user)
    return user is not None and user.onboarding_step is None


@dataclass(frozen=True, slots=True)
class Logged:
    """A conversation logged with its outcome; the tips sent lately it may have leaned on."""

    log_id: int
    outcome: Response
    tips: tuple[Item, ...]


async def log_outcome(
    runner: Transactions, library: Library, who: Who, outcome: Response, message_id: int
) -> Logged | Refused:
    """How it went, pressed under the /log question ``message_id`` (once per question)."""

    def write(tx: Tx) -> Logged | Refused:
        user = sender(tx, who)
        if user is None:
            return Refused.GONE
        log_id = tx.journal.add(
            user.id, outcome=outcome.value, source="log", now=tx.now, request_message_id=message_id
        )
        if log_id is None:
            return Refused.ALREADY_SAVED
        log.info("conversation_logged", user_id=user.id, log_id=log_id, outcome=outcome.value)
        recent = tx.journal.recently_sent_items(user.id, RECENT_ITEMS)
        tips = [library.item(i) for i in recent if library.has_item(i)]
        return Logged(log_id, outcome, tuple(t for t in tips if t.kind == "tip")[:TIPS_OFFERED])

    return await runner.write(write)


@dataclass(frozen=True, slots=True)
class NoteAsked:
    """The step or tip saved (``item``; None: skipped); a typed note is now awaited."""

    log_id: int
    item: Item | None


async def log_item(
    runner: Transactions,
    library: Library,
    who: Who,
    log_id: int,
    item_id: str | None,
    message_id: int,
) -> NoteAsked | Refused:
    """The step or tip the conversation leaned on (None: skipped); then the note is asked."""

    def write(tx: Tx) -> NoteAsked | Refused:
        user = sender(tx, who)
        if user is None:
            return Refused.GONE
        if item_id is not None and not library.has_item(item_id):
            return Refused.UNKNOWN_ITEM
        owned = tx.journal.own(log_id, user.id, message_id)
        if owned is None:
            return Refused.NOT_YOURS
        if item_id is not None:
            if not tx.journal.set_item(log_id, user.id, item_id):
                return Refused.ALREADY_SAVED
            _count_as_a_try(tx, library, user, item_id, Response.parse(owned.outcome))
        tx.users.set_awaiting(user.id, Awaiting.note(log_id).code)
        return NoteAsked(log_id, library.item(item_id) if item_id is not None else None)

    return await runner.write(write)


def _count_as_a_try(
    tx: Tx, library: Library, user: UserSnapshot, item_id: str, logged: Response | None
) -> None:
    """A logged conversation that leaned on a step or tip is a try of it (it unlocks the next
    step and moves the item's box, as the same answer on a nudge would). Leaning on a step's
    variant is a try of the step itself."""
    progress_id = progress_item_id(library.all_items(), item_id)
    state = tx.progress.state(user.id, progress_id, lock=True) or ItemState(item_id=progress_id)
    # A tried outcome (the journal's constraint).
    outcome = logged.outcome if logged is not None and logged.tried else None
    if outcome is not None:
        tx.progress.save(user.id, apply_outcome(state, outcome, tx.now))


async def skip_note(runner: Transactions, who: Who, log_id: int, message_id: int) -> Refused | None:
    """ "Skip the note": the question ends; None when done."""

    def write(tx: Tx) -> Refused | None:
        user = sender(tx, who)
        if user is None:
            return Refused.GONE
        if tx.journal.own(log_id, user.id, message_id) is None:
            return Refused.NOT_YOURS
        if user.awaiting is not None:
            tx.users.set_awaiting(user.id, None)
        return None

    return await runner.write(write)


class Noted(enum.Enum):
    """What became of a typed note."""

    SAVED = "saved"
    TRIMMED = "trimmed"  # saved without what a database cannot store
    EMPTY = "empty"  # nothing to save: still asked
    TOO_LATE = "too_late"  # the question is long gone: not a note (the question ends)
    NOT_ASKED = "not_asked"  # answered meanwhile: nothing to do


def storable(text: str) -> tuple[str, bool]:
    """``text`` without what a database cannot store (NUL, which PostgreSQL refuses in text,
    and lone surrogates, which are not UTF-8); and whether anything was taken out."""
    cleaned = text.replace("\x00", "")
    cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")
    return cleaned, cleaned != text


def real_elapsed(clock: Callable[[], datetime], now: datetime, since: datetime) -> timedelta:
    """Real time from ``since`` to ``now`` (schedule times), also when the schedule clock runs
    fast (``CLOSER_CLOCK_SPEED``, ``closer try``): a person types at the speed of a person."""
    elapsed = now - since
    real_seconds = getattr(clock, "real_seconds", None)
    if real_seconds is None:
        return elapsed
    return timedelta(seconds=float(real_seconds(elapsed.total_seconds())))


async def save_note(runner: Transactions, who: Who, log_id: int, text: str) -> Noted:
    """The typed note of log ``log_id`` (whitespace folded, at most ``NOTE_LIMIT`` long)."""
    note, cleaned = storable(" ".join(text.split())[:NOTE_LIMIT])

    def write(tx: Tx) -> Noted:
        user = sender(tx, who)
        if user is None or user.awaiting != Awaiting.note(log_id):
            return Noted.NOT_ASKED
        entry = tx.journal.get(log_id, user.id)
        if entry is None or real_elapsed(runner.clock, tx.now, entry.created_at) > NOTE_WINDOW:
            tx.users.set_awaiting(user.id, None)
            return Noted.TOO_LATE
        if not note:
            return Noted.EMPTY
        tx.journal.set_note(log_id, user.id, note)
        tx.users.set_awaiting(user.id, None)
        log.info("conversation_note_saved", user_id=user.id, log_id=log_id, length=len(note))
        return Noted.TRIMMED if cleaned else Noted.SAVED

    return await runner.write(write)

"""Her progress: /progress, a check-in poll answered (and the look back it may bring), and the
baseline questions offered after onboarding.

What is returned are plain records; the numbers and words are made from them by
``bot.render.progress`` (pure functions of the records and the content).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.logs import get_logger
from bot.reports import LogRecord, PollAnswerRecord
from bot.storage.progress import ProgressCounts
from bot.storage.repositories import SettingsSnapshot, UserSnapshot
from bot.storage.uow import Transactions, Tx
from bot.usecases.common import Who, end_question, sender
from scheduler.policy import ItemState

log = get_logger(__name__)


# ---------------------------------------------------------------- /progress


@dataclass(frozen=True, slots=True)
class ProgressFacts:
    """What /progress is made of: her settings, her history and what was sent."""

    user_id: int
    settings: SettingsSnapshot
    logs: Sequence[LogRecord]
    answers: Sequence[PollAnswerRecord]
    states: Mapping[str, ItemState]
    counts: ProgressCounts


async def report(runner: Transactions, who: Who) -> ProgressFacts | None:
    """/progress: her records, or None when Closer keeps nothing of hers."""

    def read(tx: Tx) -> tuple[UserSnapshot | None, ProgressFacts | None]:
        user = sender(tx, who)
        if user is None:
            return None, None
        facts = ProgressFacts(
            user_id=user.id,
            settings=tx.users.get_settings(user.id),
            logs=tx.reports.logs(user.id),
            answers=tx.reports.answers(user.id),
            states=tx.progress.states(user.id),
            counts=tx.progress.counts(user.id),
        )
        return user, facts

    user, facts = await runner.read(read)
    await end_question(runner, who, user)
    return facts


# ---------------------------------------------------------------- a poll answered


@dataclass(frozen=True, slots=True)
class LookBackRecords:
    """What the look back after a completed check-in is made of: her history, and the week
    it looks back on (the week the check-in was sent in, on her calendar)."""

    logs: Sequence[LogRecord]
    answers: Sequence[PollAnswerRecord]
    timezone: str
    week_of: date


@dataclass(frozen=True, slots=True)
class PollAnswered:
    """A stored answer to one of her polls; ``look_back`` when it completed a weekly check-in
    (claimed once per check-in: only this answer brings it)."""

    user_id: int
    poll_id: int
    chat_id: int | None
    look_back: LookBackRecords | None = None


async def answer_poll(
    runner: Transactions, who: Who, telegram_poll_id: str, option_ids: Sequence[int]
) -> PollAnswered | None:
    """Store her answer to one of her own polls; None (nothing stored) for someone else's poll
    or one Closer does not know. A vote (not a retraction) that answers the last open poll of a
    weekly check-in claims the check-in's look back, in the same transaction."""

    def store(tx: Tx) -> PollAnswered | None:
        user = sender(tx, who)
        stored = tx.checkins.add_answer(telegram_poll_id, who.telegram_id, option_ids, tx.now)
        if stored is None:
            return None
        user_id, poll_id = stored
        looking_back = _claim_look_back(tx, user_id, poll_id) if option_ids else None
        chat_id = user.chat_id if user is not None else None
        return PollAnswered(user_id, poll_id, chat_id, looking_back)

    return await runner.write(store)


def _claim_look_back(tx: Tx, user_id: int, poll_id: int) -> LookBackRecords | None:
    """Once every poll of its check-in is answered, the look back's facts (claimed once per
    check-in), else None."""
    outbox_id = tx.reports.checkin_of_poll(user_id, poll_id)
    if outbox_id is None or not tx.reports.checkin_complete(user_id, outbox_id):
        return None
    if not tx.reports.claim_look_back(outbox_id, tx.now):
        return None
    timezone = tx.users.get_settings(user_id).timezone
    # The week it was sent in, on her calendar: answers that run past her midnight still look
    # back on that week (``func.min`` of a check-in with polls is never None here).
    sent_at: datetime = tx.reports.checkin_sent_at(user_id, outbox_id) or tx.now
    return LookBackRecords(
        logs=tx.reports.logs(user_id),
        answers=tx.reports.answers(user_id),
        timezone=timezone,
        week_of=sent_at.astimezone(ZoneInfo(timezone)).date(),
    )


# ---------------------------------------------------------------- the baseline


class BaselineChoice(enum.Enum):
    """Her answer to the baseline offer."""

    GO = "go"
    SKIP = "skip"


class BaselineOutcome(enum.Enum):
    """What a press on the baseline offer did."""

    STARTED = "started"  # the questions are to be sent now
    ALREADY_ASKED = "already_asked"  # "go" again: they were sent before, nothing more goes out
    SKIPPED = "skipped"
    UNKNOWN = "unknown"  # Closer keeps nothing of hers (the press is stale)


@dataclass(frozen=True, slots=True)
class BaselinePressed:
    """The outcome, and her (to send the questions to) when they are to be sent."""

    outcome: BaselineOutcome
    user: UserSnapshot | None = None


async def press_baseline(
    runner: Transactions, who: Who, choice: BaselineChoice, question_ids: Collection[str]
) -> BaselinePressed:
    """ "Let's do it" (the baseline questions ``question_ids`` go out once) or "Skip these"."""

    def read(tx: Tx) -> BaselinePressed:
        user = sender(tx, who)
        if user is None:
            return BaselinePressed(BaselineOutcome.UNKNOWN)
        if choice is BaselineChoice.SKIP:
            return BaselinePressed(BaselineOutcome.SKIPPED, user)
        if tx.reports.has_polls(user.id, list(question_ids)):
            return BaselinePressed(BaselineOutcome.ALREADY_ASKED, user)
        return BaselinePressed(BaselineOutcome.STARTED, user)

    return await runner.read_once(read)  # the questions go out once

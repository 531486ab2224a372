"""Her progress: /progress, and the baseline questions offered after onboarding.

What is returned are plain records; the numbers and words are made from them by
``bot.render.progress`` (pure functions of the records and the content).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

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

    return await runner.read(read)

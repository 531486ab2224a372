"""Her data: /export, /forget, and the bot blocked or unblocked."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.logs import get_logger
from bot.reports import UserRecord
from bot.storage import set_aside
from bot.storage.outbox import cancel_waiting_rows
from bot.storage.repositories import UserSnapshot, erase_user
from bot.storage.uow import Transactions, Tx
from bot.usecases.common import Who, end_question, sender

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Exported:
    """Everything stored about her, and her zone (the files show her times)."""

    record: UserRecord
    timezone: str


async def export(runner: Transactions, who: Who) -> Exported | None:
    """/export: her record, or None when Closer keeps nothing of hers."""

    def read(tx: Tx) -> tuple[UserSnapshot | None, Exported | None]:
        user = sender(tx, who)
        if user is None:
            return None, None
        settings = tx.users.get_settings(user.id)
        return user, Exported(tx.reports.user_record(user, settings), settings.timezone)

    user, found = await runner.read_once(read)  # the files go out once
    await end_question(runner, who, user)
    return found


async def known(runner: Transactions, who: Who) -> bool:
    """Whether Closer keeps anything of hers (/forget asks to confirm only then)."""
    user = await runner.read(sender, who)
    await end_question(runner, who, user)
    return user is not None


class Erasure(enum.Enum):
    """What a confirmed /forget did."""

    ERASED = "erased"
    ALREADY_GONE = "already_gone"  # nothing of hers was left
    OUTDATED = "outdated"  # confirmed for an account erased since; the new one is kept


async def forget(runner: Transactions, who: Who, asked_at: datetime | None) -> Erasure:
    """Erase every row of hers, if the confirmation was asked after her account began."""

    def erase(tx: Tx) -> Erasure:
        user = sender(tx, who)
        if user is None:
            return Erasure.ALREADY_GONE
        # An old confirmation must not erase a newer account.
        if asked_at is None or user.created_at > asked_at + timedelta(seconds=1):
            return Erasure.OUTDATED
        counts = erase_user(tx.session, user.id)
        set_aside.forget_chat(tx.conn, who.telegram_id)  # her chat's id is her Telegram id
        log.info("user_erased", rows=sum(counts.values()))
        return Erasure.ERASED

    return await runner.write(erase)


async def chat_blocked(runner: Transactions, who: Who, blocked: bool) -> None:
    """She blocked the bot (stop sending, cancel what waits) or unblocked it (resume)."""

    def record(tx: Tx) -> None:
        user = sender(tx, who)
        if user is None:
            return
        if blocked:
            tx.users.set_blocked(user.id, tx.now)
            cancel_waiting_rows(tx.conn, user.id, "blocked")
            log.info("user_blocked_bot", user_id=user.id)
        else:
            tx.users.set_blocked(user.id, None)
            log.info("user_unblocked_bot", user_id=user.id)

    await runner.write(record)

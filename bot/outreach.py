"""What Closer sends on its own initiative, apart from the handlers that answer her: an item
nudge prepared by a use case (the first nudge after onboarding, /tip, a test's), sent and then
recorded as the dispatcher records its own; the weekly check-in and the baseline polls.

Nothing is written between two sends. The check-in writes nothing at all: each part is noted
on the dispatcher's ``Receipt`` as it goes out, and the dispatcher stores it when it records
the row (also when a send fails part-way, so that a retry sends only what is missing). The
baseline polls a handler sends are stored in one transaction after them (``ask_polls``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from html import escape

from telegram import Bot

from bot import language
from bot.logs import get_logger
from bot.nudges import render_nudge
from bot.reports.questions import weekly_questions
from bot.services import Services
from bot.storage.repositories import UserSnapshot
from bot.usecases import checkins, nudges
from bot.usecases.nudges import PreparedNudge
from content import Item, Library, PollQuestion
from scheduler.sending import IntroSent, PollSent, Receipt

log = get_logger(__name__)


async def send_prepared(bot: Bot, services: Services, nudge: PreparedNudge) -> int:
    """Send a prepared nudge (in the language of the update that prepared it), then record it
    as the dispatcher would; its message id."""
    library = services.library_in(language.CURRENT.get())
    text, markup = render_nudge(nudge.item, nudge.outbox_id, library=library)
    message = await bot.send_message(nudge.chat_id, text, reply_markup=markup)
    await nudges.delivered(services.tx, nudge, message.message_id)
    return message.message_id


async def send_item_now(bot: Bot, services: Services, user: UserSnapshot, item: Item) -> int:
    """Send one content item to her as a nudge right away, in her language; its message id."""
    prepared = await nudges.send_now(services.tx, user, item)
    language.CURRENT.set(language.stored(user.language))
    return await send_prepared(bot, services, prepared)


def words_for(services: Services, user: UserSnapshot) -> Library:
    """The content in her language."""
    return services.library_in(language.stored(user.language))


def checkin_questions(
    services: Services, week_number: int, library: Library | None = None
) -> list[PollQuestion]:
    """This week's questions: the weekly measures, then one rotating question."""
    return weekly_questions((library or services.library).polls, week_number)


async def send_checkin(
    bot: Bot,
    services: Services,
    user: UserSnapshot,
    receipt: Receipt,
    *,
    week: int | None = None,
    skip: Collection[str] = frozenset(),
    intro: bool = True,
) -> list[int]:
    """Send the intro and the week's polls to one user, each noted on ``receipt`` as it goes
    out; returns the poll message ids. Writes nothing: the dispatcher stores the receipt
    (``week`` with the intro, the ISO week on her calendar) when it records the row.

    A retry after a failure part-way passes ``intro=False``, the first attempt's ``week`` and
    the question ids already sent as ``skip``: then only what is missing goes out.
    """
    library = words_for(services, user)
    week = week or await checkins.week_of(services.tx, user.id, services.clock())
    if intro:
        message = await bot.send_message(user.chat_id, library.render_text("checkin_intro"))
        receipt.intro = IntroSent(message.message_id, week)
    questions = [q for q in checkin_questions(services, week, library) if q.id not in skip]
    message_ids = await send_polls(bot, user.chat_id, questions, receipt)
    log.info("checkin_sent", user_id=user.id, polls=len(message_ids))
    return message_ids


async def send_polls(
    bot: Bot, chat_id: int, questions: Sequence[PollQuestion], receipt: Receipt
) -> list[int]:
    """Send native, non-anonymous polls, each noted on ``receipt`` as it goes out; their
    message ids. Writes nothing."""
    message_ids: list[int] = []
    for question in questions:
        # Polls go out with the bot's default parse mode (HTML): escape the texts.
        message = await bot.send_poll(
            chat_id,
            escape(question.question, quote=False),
            [escape(option, quote=False) for option in question.options],
            is_anonymous=False,
            allows_multiple_answers=False,
        )
        assert message.poll is not None
        receipt.polls.append(PollSent(question.id, message.poll.id, message.message_id))
        message_ids.append(message.message_id)
    return message_ids


async def ask_polls(
    bot: Bot, services: Services, user: UserSnapshot, questions: Sequence[PollQuestion]
) -> list[int]:
    """Polls a handler sends (the baseline): sent, then stored in one transaction, also when
    one of them fails; their message ids."""
    now = services.clock()
    receipt = Receipt()
    try:
        return await send_polls(bot, user.chat_id, questions, receipt)
    finally:
        await checkins.sent(services.tx, user.id, receipt, sent_at=now)

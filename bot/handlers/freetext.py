"""An answer to free text: the card that fits what she wrote, a warm word, or /safety.

``bot.cards.match_text`` decides (offline, deterministic); this module answers. A card comes
with two buttons: log a conversation, or see another card. The other cards travel in the
button's data as short codes of their ids (the message text itself is never kept), so "another
card" needs no stored state and works after a restart.
"""

from __future__ import annotations

import hashlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import CARD_CODE_LENGTH, CardPress, NowLog
from bot.cards import card_for, match_text
from bot.context import CloserContext
from bot.handlers.common import answer, plain, reply, typed_press, who
from bot.hearing.danger import Danger
from bot.logs import get_logger
from bot.usecases import moments
from content import Library
from content.translations import LANGUAGES

log = get_logger(__name__)

_CODE_LENGTH = CARD_CODE_LENGTH


def item_code(item_id: str) -> str:
    """A short, stable code for a content item (a few hex digits of a hash of its id)."""
    return hashlib.sha1(item_id.encode("utf-8")).hexdigest()[:_CODE_LENGTH]


def _codes(library: Library) -> dict[str, str]:
    """Item ids by code (a press is rare: computed when needed, no cache to own)."""
    codes = {item_code(item.id): item.id for item in library.all_items()}
    if len(codes) != len(library.all_items()):  # a collision: a content check would see it
        raise ValueError("item code collision")  # lengthen _CODE_LENGTH
    return codes


def _card_keyboard(library: Library, others: list[str]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                library.label("label_log_conversation"), callback_data=NowLog().encode()
            )
        ]
    ]
    another = CardPress.fitting(tuple(item_code(item_id) for item_id in others))
    if another is not None:
        label = library.render_text("another_card")
        rows.insert(0, [InlineKeyboardButton(label, callback_data=another.encode())])
    return InlineKeyboardMarkup(rows)


async def answer_free_text(
    update: Update, context: CloserContext, danger: Danger, language: str
) -> None:
    """A message that is not a command and answers no question, nor is a request in words
    (``bot.handlers.routing`` met those first): the reply that fits it.

    Danger was answered before this (``bot.handlers.hearing``). A message in a language Closer
    speaks is matched and answered in that language (hers, or the one she wrote in); one in
    another ``language`` gets a short note in hers on the languages Closer speaks, /language
    and /safety; a worry that may be control gets a line to
    /safety beside the answer.
    """
    message = update.effective_message
    assert message is not None
    library = context.library
    text = message.text or ""
    if language != library.language:
        if language not in LANGUAGES:
            log.info("free_text_answered", kind="other_language")
            note = context.services.locales.get(library.language).text("not_english_note")
            await reply(update, note)
            return
        library = context.services.library_in(language)  # answered in the language she wrote
    found = match_text(text, library)
    log.info("free_text_answered", kind=found.kind, worry=danger.level == "worry")
    worry = (
        "\n\n" + context.services.locales.get(library.language).text("worry_line")
        if danger.level == "worry"
        else ""
    )
    if found.kind == "safety":
        # The old keyword list: danger is heard before this; a worry gets the card and a line.
        found = card_for(text, library)
    if found.kind == "safety":
        country = await moments.safety_country(context.services.tx, who(update))
        await reply(update, library.render_safety(country))
    elif found.kind == "greeting":
        await reply(update, library.render_text("free_text_greeting"))
    elif found.kind == "thanks":
        await reply(update, library.render_text("free_text_thanks"))
    elif found.kind == "card" and found.item_id is not None:
        withdrawal = library.withdrawal_safety_line(found.item_id)
        card = (
            library.render_text("free_text_card_intro")
            + "\n\n"
            + library.render_item(library.item(found.item_id))
            + (worry or ("\n\n" + withdrawal if withdrawal else ""))
        )
        await reply(update, card, _card_keyboard(library, list(found.alternatives)))
    else:
        await reply(update, library.render_text("free_text_reply") + worry)


@typed_press(CardPress, stale="no_more_cards")
async def on_another_card(update: Update, context: CloserContext, press: CardPress) -> None:
    """ "Show me another card": the next card of the ones offered, with the rest behind it."""
    query = update.callback_query
    assert query is not None
    library = context.library
    codes = _codes(library)
    wanted = [codes[c] for c in press.codes if c in codes]
    if not wanted:
        await answer(query, plain(library, "no_more_cards"))
        return
    await answer(query)
    first, *rest = wanted
    if query.message is not None:
        await context.bot.send_message(
            query.message.chat.id,
            library.render_item(library.item(first)),
            reply_markup=_card_keyboard(library, rest),
        )

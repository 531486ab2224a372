"""Danger in what she types, heard before anything else answers: the safety reply.

``on_any_text`` runs first (handler group -1) on every text she sends in a private chat: a
message, an edited message, a photo's caption, the words after a command (``/log he hit me``).
It needs nothing from storage to answer: when her country is known (her zone), the reply gives
its lines; otherwise, or when the database is down, the local emergency number and the
international directory. An update that met a storage outage comes again once storage is back
(``bot.context``); its safety reply went out the first time and is not sent again (only the
hold's offer, if the hold took effect only then). The reply opens on what she said
(``content/data/locales/<lang>/safety.yaml``), in the language she wrote in, then gives the
lines, the rest of /safety one tap away, and a button that clears the exchange from the chat
(a bot may delete both sides of a private chat for 48 hours). The coaching nudges stop until
she chooses: they are paused (best effort: a storage failure does not hold the reply back) and
the same message offers to keep them paused or carry on.

What it reads and writes (her country, the hold, "carry on") is ``bot.usecases.hearing``.
Texts are never logged; the log says which category was heard, never a word of it.
"""

from __future__ import annotations

from typing import Final

from babel import Locale as BabelLocale
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot.callbacks import ClearPress, Hold, HoldPress, SafetyPress
from bot.context import CloserContext
from bot.handlers.common import answer, is_private, plain, typed_press, who
from bot.hearing.danger import Danger
from bot.hearing.language import detect
from bot.logs import get_logger
from bot.usecases import hearing
from content import Library
from content.locales import Locale, LocaleCode
from content.models import Helpline
from content.render import placeholders, visible_text

log = get_logger(__name__)

_DV_CATEGORIES: Final = frozenset({"violence", "sexual", "fear", "control"})
_SELF_HARM: Final = frozenset({"self_harm_her", "self_harm_his"})
_PLANNING: Final = frozenset({"violence", "fear"})


def spoken_text(message: Message) -> str:
    """What she wrote: the text (the words after a command included) or a caption."""
    text = message.text or message.caption or ""
    if text.startswith("/"):
        _, _, text = text.partition(" ")
    return text


def reply_language(text: str, update: Update, danger: Danger) -> LocaleCode:
    """The language to answer in: what she wrote in, else the lexicon that heard it."""
    hint = update.effective_user.language_code if update.effective_user else None
    detected = detect(text, hint)
    if detected in ("en", "es", "ru"):
        return detected
    return danger.langs[0] if danger.langs else "en"


async def on_any_text(update: Update, context: CloserContext) -> None:
    """Every text she sends, first: on danger, the safety reply (nothing else waits for it)."""
    message = update.effective_message
    if message is None or not is_private(update):
        return
    text = spoken_text(message)
    if not text.strip():
        return
    danger = context.danger_in(text)
    if not danger.gives_help:
        return
    sure = danger.level == "danger"
    log.info("danger_heard", category=danger.first if sure else "maybe")
    lang = reply_language(text, update, danger)
    locale = context.services.locales.get(lang)
    heard = await hearing.danger_heard(context.services.tx, who(update), hold=sure)
    watch = context.services.db.watch
    if update.update_id in watch.answered:  # it came again after an outage: answered then,
        if heard.held:  # without the hold, which only now took effect: offer its choice
            markup = _keyboard(locale, message.message_id, held=True)
            await message.reply_text(locale.text("hold_offer"), reply_markup=markup)
        return
    body = safety_reply(context.library, locale, danger, heard.country, held=heard.held)
    markup = _keyboard(locale, message.message_id, heard.held)
    await message.reply_text(body, reply_markup=markup)
    if watch.outage is not None:  # this update may come again once storage is back
        watch.answered.add(update.update_id)


def safety_reply(
    library: Library, locale: Locale, danger: Danger, country: str | None, *, held: bool
) -> str:
    """The reply to a danger message, as Telegram HTML; see the module docstring.

    A message only the learned backstop heard (``maybe``) gets a gentler opening and both
    lines, a crisis line first: which danger it is, nothing says.
    """
    maybe = danger.level == "maybe"
    categories = {"self_harm_her", "violence"} if maybe else set(danger.categories)
    found = library.helplines(country)
    emergency = found.emergency or visible_text(locale.text("emergency_local"))
    opening = "reply_maybe" if maybe else f"reply_{danger.first or 'violence'}"
    wanted = placeholders(locale.texts[opening])
    parts = [locale.text(opening, **({"emergency": emergency} if "emergency" in wanted else {}))]
    lines: list[str] = []
    name = _country_name(locale.code, found.country_code)
    crisis_line = _line(locale, "line_crisis", found.crisis, name)
    dv_wanted = bool(categories & _DV_CATEGORIES)
    if crisis_line and (categories & _SELF_HARM or not dv_wanted):
        lines.append(crisis_line)
    if dv_wanted:
        dv_line = _line(locale, "line_dv", found.dv, name)
        if dv_line:
            lines.append(dv_line)
        elif found.dv_unverified:
            lines.append(locale.text("line_dv_unverified", country=name))
        if crisis_line and not categories & _SELF_HARM:
            lines.append(crisis_line)  # never drop a crisis line for want of a DV line
    directory = found.directory
    if directory is not None:
        lines.append(locale.text("line_directory", name=directory.name, url=directory.url))
    parts.append("\n".join(lines))
    if categories & _PLANNING:
        parts.append(locale.text("planning_note"))
    parts.append(locale.text("privacy_note"))
    if held:
        parts.append(locale.text("hold_offer"))
    return "\n\n".join(p for p in parts if p)


def _line(locale: Locale, key: str, line: Helpline | None, country: str) -> str | None:
    if line is None:
        return None
    text = locale.text(
        key, name=line.name_in(locale.code), country=country, contact=_contact(locale, line)
    )
    note = line.note_in(locale.code)
    if note:
        text += f" {visible_text(note)}"
    return text


def _contact(locale: Locale, line: Helpline) -> str:
    """How to reach a line, as plain text (the line's template escapes it)."""
    phone, text, word = line.phone, line.text, line.text_word
    if phone and text and word:
        html = locale.text("contact_call_or_text_word", phone=phone, text=text, word=word)
    elif text and word:
        html = locale.text("contact_text_word", text=text, word=word)
    elif phone and text:
        html = locale.text("contact_call_or_text", phone=phone, text=text)
    elif phone:
        html = locale.text("contact_call", phone=phone)
    else:
        html = locale.text("contact_text", text=text or "")
    return visible_text(html)


def _country_name(lang: str, country: str | None) -> str:
    if country is None:
        return ""
    name = BabelLocale.parse(lang).territories.get(country)
    return str(name) if name else country


def _keyboard(locale: Locale, message_id: int, held: bool) -> InlineKeyboardMarkup:
    def label(key: str) -> str:
        return visible_text(locale.text(key))

    rows = [
        [InlineKeyboardButton(label("button_more_safety"), callback_data=SafetyPress().encode())],
        [
            InlineKeyboardButton(
                label("button_clear_chat"),
                callback_data=ClearPress(message_id, locale.code).encode(),
            )
        ],
    ]
    if held:
        rows.append(
            [
                InlineKeyboardButton(
                    label("button_hold_pause"),
                    callback_data=HoldPress(Hold.KEEP, locale.code).encode(),
                ),
                InlineKeyboardButton(
                    label("button_hold_carry_on"),
                    callback_data=HoldPress(Hold.CARRY_ON, locale.code).encode(),
                ),
            ]
        )
    return InlineKeyboardMarkup(rows)


def _on_the_message(query: CallbackQuery) -> bool:
    """Whether the pressed data is a button of the message it came from (a forged press that
    is not, say a "clear" on a nudge, changes nothing)."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    if markup is None:
        return False
    return any(b.callback_data == query.data for row in markup.inline_keyboard for b in row)


async def _checked_press(
    update: Update, context: CloserContext, press: ClearPress | HoldPress
) -> tuple[CallbackQuery, Locale] | None:
    """A press on a safety reply and the reply's language; None (answered as stale) when the
    data is not a button of the pressed message."""
    query = update.callback_query
    assert query is not None
    if not _on_the_message(query):
        await answer(query, plain(context.library, "button_stale"))
        return None
    return query, context.services.locales.get(press.lang)


@typed_press(ClearPress)
async def on_clear_press(update: Update, context: CloserContext, press: ClearPress) -> None:
    """ "Clear this conversation": delete her message and the reply from the chat."""
    checked = await _checked_press(update, context, press)
    if checked is None:
        return
    query, locale = checked
    message = query.message
    if message is None:
        await answer(query)
        return
    ids = [message.message_id, press.message_id]
    cleared = True
    for message_id in ids:
        try:
            await context.bot.delete_message(message.chat.id, message_id)
        except TelegramError:
            cleared = False
    key = "chat_cleared" if cleared else "chat_not_cleared"
    await answer(query, visible_text(locale.text(key)))


@typed_press(HoldPress)
async def on_hold_press(update: Update, context: CloserContext, press: HoldPress) -> None:
    """Keep the nudges paused, or carry on as before."""
    checked = await _checked_press(update, context, press)
    if checked is None:
        return
    query, locale = checked
    carry_on = press.choice is Hold.CARRY_ON
    if carry_on:
        await hearing.release_hold(context.services.tx, who(update))
    await answer(query, visible_text(locale.text("hold_carried_on" if carry_on else "hold_paused")))
    log.info("hold_chosen", carry_on=carry_on)

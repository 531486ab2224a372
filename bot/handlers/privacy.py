"""/export, /forget, and being blocked or unblocked (my_chat_member)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import ChatMember, InputFile, Update

from bot.callbacks import ForgetPress, ForgetYes
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, plain, reply, typed_press, who
from bot.keyboards import forget_keyboard
from bot.logs import get_logger
from bot.reports import export_csv, export_json
from bot.usecases import privacy
from bot.usecases.common import Who
from content import TextKey
from content.translations import report_texts_in

log = get_logger(__name__)


async def export_command(update: Update, context: CloserContext) -> None:
    """/export: everything Closer keeps about her as JSON (readable without the schema: the
    questions beside the answers, times in her zone), and her logged conversations as CSV."""
    services = context.services
    found = await privacy.export(services.tx, who(update))
    if found is None:
        await reply(update, context.library.render_text("nothing_stored"))
        return
    now = services.clock()
    zone = ZoneInfo(found.timezone)
    document = export_json(
        found.record,
        context.library,
        exported_at=now,
        texts=report_texts_in(context.library.language),
    )
    table = export_csv(
        found.record.logs, context.library, zone, texts=report_texts_in(context.library.language)
    )
    assert update.effective_chat is not None
    day = f"{now.astimezone(zone):%Y-%m-%d}"
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(document, filename=f"closer-export-{day}.json"),
        caption=context.library.render_text("export_caption"),
    )
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(table, filename=f"closer-conversations-{day}.csv"),
        caption=context.library.render_text("export_csv_caption"),
    )
    log.info("export_sent", bytes=len(document) + len(table))


async def forget_command(update: Update, context: CloserContext) -> None:
    """/forget: ask for confirmation first."""
    services = context.services
    if not await privacy.known(services.tx, who(update)):
        await reply(update, context.library.render_text("nothing_to_erase"))
        return
    markup = forget_keyboard(services.clock(), context.library)
    await reply(update, context.library.render_text("forget_confirm"), markup)


@typed_press(ForgetPress)
async def on_press(update: Update, context: CloserContext, press: ForgetPress) -> None:
    """The confirm or cancel button of /forget."""
    query = update.callback_query
    assert query is not None
    library = context.library
    if not isinstance(press, ForgetYes):
        await answer(query)
        await edit_or_send(query, library.render_text("forget_kept"))
        return
    asked = press.asked
    erasure = await privacy.forget(context.services.tx, who(update), asked)
    toast, text = _ERASURE_WORDS[erasure]
    await answer(query, plain(library, toast))
    await edit_or_send(query, library.render_text(text))


_ERASURE_WORDS: dict[privacy.Erasure, tuple[TextKey, TextKey]] = {
    privacy.Erasure.ERASED: ("forget_erased_toast", "forget_done"),
    privacy.Erasure.ALREADY_GONE: ("forget_gone_toast", "forget_done"),
    privacy.Erasure.OUTDATED: ("forget_outdated_toast", "forget_outdated"),
}


async def on_my_chat_member(update: Update, context: CloserContext) -> None:
    """The user blocked or unblocked the bot: stop or resume sending."""
    change = update.my_chat_member
    if change is None or change.chat.type != change.chat.PRIVATE:
        return
    status = change.new_chat_member.status
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        await privacy.chat_blocked(context.services.tx, Who(change.from_user.id), blocked=True)
    elif status == ChatMember.MEMBER:
        await privacy.chat_blocked(context.services.tx, Who(change.from_user.id), blocked=False)

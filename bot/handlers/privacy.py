"""/export, /forget, and being blocked or unblocked (my_chat_member)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from bot.callbacks import ForgetNo, ForgetPress, ForgetYes
from bot.context import CloserContext
from bot.handlers.common import answer, edit_or_send, plain, reply, typed_press, work
from bot.logs import get_logger
from bot.reports import export_csv, export_json
from bot.storage.outbox import cancel_waiting_rows
from bot.storage.repositories import erase_user

log = get_logger(__name__)


async def export_command(update: Update, context: CloserContext) -> None:
    """/export: everything Closer keeps about her as JSON (readable without the schema: the
    questions beside the answers, times in her zone), and her logged conversations as CSV."""
    services = context.services
    async with work(update, context, write=False) as uow:
        user = uow.user
        if user is not None:
            settings = await uow.users.get_settings(user.id)
            record = await uow.reports.user_record(user, settings)
    if user is None:
        await reply(update, services.library.render_text("nothing_stored"))
        return
    now = services.clock()
    document = export_json(record, services.library, exported_at=now)
    table = export_csv(record.logs, services.library, ZoneInfo(settings.timezone))
    assert update.effective_chat is not None
    day = f"{now.astimezone(ZoneInfo(settings.timezone)):%Y-%m-%d}"
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(document, filename=f"closer-export-{day}.json"),
        caption=services.library.render_text("export_caption"),
    )
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(table, filename=f"closer-conversations-{day}.csv"),
        caption=services.library.render_text("export_csv_caption"),
    )
    log.info("export_sent", user_id=user.id, bytes=len(document) + len(table))


async def forget_command(update: Update, context: CloserContext) -> None:
    """/forget: ask for confirmation first."""
    async with work(update, context, write=False) as uow:
        user = uow.user
    if user is None:
        await reply(update, context.services.library.render_text("nothing_to_erase"))
        return
    markup = forget_keyboard(context.services.clock())
    await reply(update, context.services.library.render_text("forget_confirm"), markup)


def forget_keyboard(now: datetime) -> InlineKeyboardMarkup:
    """The confirm and cancel buttons of /forget (also under a request in words to erase)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "Yes, erase everything",
                    # When it was asked: an old confirmation must not erase a newer account.
                    callback_data=ForgetYes(now).encode(),
                )
            ],
            [InlineKeyboardButton("No, keep it", callback_data=ForgetNo().encode())],
        ]
    )


@typed_press(ForgetPress)
async def on_press(update: Update, context: CloserContext, press: ForgetPress) -> None:
    """The confirm or cancel button of /forget."""
    query = update.callback_query
    assert query is not None
    library = context.services.library
    if not isinstance(press, ForgetYes):
        await answer(query)
        await edit_or_send(query, library.render_text("forget_kept"))
        return
    asked = press.asked
    async with work(update, context, write=True) as uow:
        user = uow.user
        outdated = user is not None and (
            asked is None or user.created_at > asked + timedelta(seconds=1)
        )
        if user is not None and not outdated:
            counts = await erase_user(uow.session, user.id)
            log.info("user_erased", rows=sum(counts.values()))
    if user is None:
        await answer(query, "Already erased.")
        await edit_or_send(query, context.services.library.render_text("forget_done"))
        return
    if outdated:
        await answer(query, plain(library, "forget_outdated_toast"))
        await edit_or_send(query, library.render_text("forget_outdated"))
        return
    await answer(query, "Erased.")
    await edit_or_send(query, context.services.library.render_text("forget_done"))


async def on_my_chat_member(update: Update, context: CloserContext) -> None:
    """The user blocked or unblocked the bot: stop or resume sending."""
    change = update.my_chat_member
    if change is None or change.chat.type != change.chat.PRIVATE:
        return
    status = change.new_chat_member.status
    async with work(update, context, write=True) as uow:
        user = uow.user
        if user is None:
            return
        if status in (ChatMember.BANNED, ChatMember.LEFT):
            await uow.users.set_blocked(user.id, uow.now)
            await cancel_waiting_rows(uow.session, user.id, "blocked")
            log.info("user_blocked_bot", user_id=user.id)
        elif status == ChatMember.MEMBER:
            await uow.users.set_blocked(user.id, None)
            log.info("user_unblocked_bot", user_id=user.id)

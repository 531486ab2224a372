"""Onboarding (/start) and /settings: the questions and the menu on screen
(``bot.usecases.setup`` decides and saves; this module decodes the update and shows the result).
"""

from __future__ import annotations

from babel.dates import get_timezone_location
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import language
from bot.callbacks import (
    AskPress,
    BackPress,
    Field,
    SetCheckinDay,
    SetNudgeTime,
    SetPace,
    SetPress,
    SetQuietHours,
    SetTimezone,
    SettingsPress,
    SettingsView,
)
from bot.context import CloserContext
from bot.handlers.common import (
    PACE_LABELS,
    Screen,
    answer,
    edit_or_send,
    hhmm,
    is_private,
    plain,
    reply,
    settings_summary,
    typed_press,
    weekday_name,
    who,
)
from bot.keyboards import settings_menu
from bot.language import from_telegram
from bot.outreach import send_prepared
from bot.render.progress import baseline_offer
from bot.storage.repositories import SettingsSnapshot, UserSnapshot
from bot.timezones import COMMON_ZONES
from bot.usecases import setup
from bot.usecases.nudges import PreparedNudge
from content import Library, TextKey, visible_text

# Outside the default quiet hours (21:30-08:00), so every button works for a new user.
TIME_CHOICES = (8 * 60 + 30, 9 * 60, 12 * 60 + 30, 17 * 60, 18 * 60 + 30, 20 * 60)
QUIET_CHOICES = ((21 * 60 + 30, 8 * 60), (22 * 60, 7 * 60), (20 * 60, 9 * 60), (23 * 60, 6 * 60))


# ---------------------------------------------------------------- questions


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _footer(
    library: Library, onboarding: bool, can_go_back: bool
) -> list[list[InlineKeyboardButton]]:
    if onboarding:
        back = BackPress().encode()
        label = library.label("label_back")
        return [[InlineKeyboardButton(label, callback_data=back)]] if can_go_back else []
    menu = AskPress(SettingsView.MENU).encode()
    return [[InlineKeyboardButton(library.label("label_settings_menu"), callback_data=menu)]]


def _city(library: Library, label: str, zone: str) -> str:
    """A zone's button, named by its city in her language (CLDR through Babel)."""
    if library.language == "en" or "/" not in zone:
        return label
    return str(get_timezone_location(zone, locale=library.language, return_city=True))


def timezone_question(library: Library, onboarding: bool) -> tuple[str, InlineKeyboardMarkup]:
    head = library.render_text(
        "onboarding_timezone_title" if onboarding else "settings_timezone_title"
    )
    text = f"{head}\n\n{library.render_text('timezone_question')}"
    buttons = [
        InlineKeyboardButton(_city(library, label, zone), callback_data=SetTimezone(zone).encode())
        for label, zone in COMMON_ZONES
    ]
    return text, InlineKeyboardMarkup(_rows(buttons, 3) + _footer(library, onboarding, False))


def time_question(
    library: Library, onboarding: bool, quiet: tuple[int, int]
) -> tuple[str, InlineKeyboardMarkup]:
    head = library.render_text("onboarding_time_title" if onboarding else "settings_time_title")
    body = library.render_text(
        "time_question", quiet_start=hhmm(quiet[0]), quiet_end=hhmm(quiet[1])
    )
    text = f"{head}\n\n{body}"
    buttons = [
        InlineKeyboardButton(hhmm(minute), callback_data=SetNudgeTime(minute).encode())
        for minute in TIME_CHOICES
    ]
    return text, InlineKeyboardMarkup(_rows(buttons, 3) + _footer(library, onboarding, True))


def pace_question(library: Library, onboarding: bool) -> tuple[str, InlineKeyboardMarkup]:
    head = library.render_text("onboarding_pace_title" if onboarding else "settings_pace_title")
    text = f"{head}\n\n{library.render_text('pace_question')}"
    buttons = [
        [InlineKeyboardButton(label, callback_data=SetPace(pace).encode())]
        for pace, label in ((pace, library.label(key)) for pace, key in PACE_LABELS.items())
    ]
    return text, InlineKeyboardMarkup(buttons + _footer(library, onboarding, True))


def quiet_question(library: Library) -> tuple[str, InlineKeyboardMarkup]:
    text = library.render_text("quiet_question")
    buttons = [
        InlineKeyboardButton(
            f"{hhmm(start)}–{hhmm(end)}", callback_data=SetQuietHours(start, end).encode()
        )
        for start, end in QUIET_CHOICES
    ]
    return text, InlineKeyboardMarkup(_rows(buttons, 2) + _footer(library, False, False))


def checkin_question(library: Library) -> tuple[str, InlineKeyboardMarkup]:
    text = library.render_text("checkin_day_question")
    buttons = [
        InlineKeyboardButton(
            weekday_name(library, index, "abbreviated"),
            callback_data=SetCheckinDay(index).encode(),
        )
        for index in range(7)
    ]
    return text, InlineKeyboardMarkup(_rows(buttons, 4) + _footer(library, False, False))


def question_screen(library: Library, question: setup.Question) -> Screen:
    """The text and buttons of a question."""
    field, onboarding = question.field, question.onboarding
    if field is Field.TIMEZONE:
        return timezone_question(library, onboarding)
    if field is Field.PACE:
        return pace_question(library, onboarding)
    if field is Field.QUIET_HOURS:
        return quiet_question(library)
    if field is Field.CHECKIN_DAY:
        return checkin_question(library)
    settings = question.settings
    quiet = (settings.quiet_start_minute, settings.quiet_end_minute)
    return time_question(library, onboarding, quiet)


def _screen(library: Library, shown: setup.Changed | setup.Closed) -> Screen:
    """What a question, the menu, "Done" or the end of onboarding shows."""
    if isinstance(shown, setup.Question):
        return question_screen(library, shown)
    summary = settings_summary(shown.settings, library)
    if isinstance(shown, setup.Menu):
        return settings_menu(library, summary)
    if isinstance(shown, setup.Closed):
        return library.render_text("settings_saved", summary=summary), None
    return library.render_text("all_set", summary=summary), None


def _quiet_clash(library: Library, clash: setup.QuietClash) -> str:
    return library.render_text(
        "time_in_quiet_hours",
        time=hhmm(clash.minute),
        quiet_start=hhmm(clash.quiet_start),
        quiet_end=hhmm(clash.quiet_end),
    )


_REFUSED: dict[setup.Refused, TextKey] = {
    setup.Refused.GONE: "setup_button_expired",
    setup.Refused.NOTHING_BACK: "setup_nothing_back",
    setup.Refused.FINISH_ONBOARDING: "setup_finish_latest",
    setup.Refused.MOVED_ON: "setup_moved_on",
}


# ---------------------------------------------------------------- /start


async def start(update: Update, context: CloserContext) -> None:
    """Greet and onboard a new user; a returning one keeps their data and is offered /settings."""
    if not is_private(update) or update.effective_user is None or update.effective_chat is None:
        return
    spoken = from_telegram(update.effective_user.language_code)
    started = await setup.start(context.services.tx, who(update), update.effective_chat.id, spoken)
    language.CURRENT.set(started.language)  # a new user's is stored now; a returning one keeps hers
    library = context.library
    if started.question is None:
        summary = settings_summary(started.settings, library)
        await reply(update, library.render_text("welcome_back", summary=summary))
        return
    await reply(update, library.render_text("welcome"))
    await reply(update, *question_screen(library, started.question))


async def settings_command(update: Update, context: CloserContext) -> None:
    """Show the settings with a button for each."""
    library = context.library
    found = await setup.open_settings(context.services.tx, who(update))
    if found is setup.NotReady.UNKNOWN:
        await reply(update, library.render_text("setup_first"))
    elif found is setup.NotReady.ONBOARDING:
        await reply(update, library.render_text("setup_finish_first"))
    elif isinstance(found, SettingsSnapshot):
        await reply(update, *settings_menu(library, settings_summary(found, library)))


# ---------------------------------------------------------------- answers


@typed_press(SettingsPress, stale="setup_button_expired", invalid="setup_bad_button")
async def on_press(update: Update, context: CloserContext, press: SettingsPress) -> None:
    """A settings or onboarding button: set a value, go back, or open a question (data that is
    not a button's: "expired"; a value no button carries: "couldn't use that button")."""
    query = update.callback_query
    assert query is not None
    services = context.services
    library = context.library
    done: setup.Changed | setup.Closed | setup.QuietClash | setup.Refused
    if isinstance(press, BackPress):
        done = await setup.go_back(services.tx, who(update))
    elif isinstance(press, AskPress):
        done = await setup.ask(services.tx, who(update), press.target)
    else:
        change = _change_from_press(press) if isinstance(press, SetPress) else None
        if change is None:
            await answer(query, plain(library, "setup_bad_button"))
            return
        done = await setup.choose(services.tx, library, who(update), change)
    if isinstance(done, setup.Refused):
        await answer(query, plain(library, _REFUSED[done]))
        return
    if isinstance(done, setup.QuietClash):
        await answer(query, visible_text(_quiet_clash(library, done)), show_alert=True)
        return
    await answer(query, plain(library, "saved") if isinstance(press, SetPress) else None)
    await edit_or_send(query, *_screen(library, done))
    if isinstance(done, setup.AllSet):
        await _first_nudge(context, done.first_nudge)


async def _first_nudge(context: CloserContext, nudge: PreparedNudge) -> None:
    """Onboarding is done: the first step, then the (skippable) baseline questions."""
    await send_prepared(context.bot, context.services, nudge)
    text, markup = baseline_offer(context.library)
    await context.bot.send_message(nudge.chat_id, text, reply_markup=markup)


def _change_from_press(press: SetPress) -> setup.Change | None:
    """The settings change a pressed value makes (validated by ``bot.callbacks.parse``)."""
    match press:
        case SetTimezone(zone=zone):
            return setup.Change(press.field, {"timezone": zone})
        case SetNudgeTime(minute=minute):
            return setup.Change(press.field, {"nudge_minute": minute})
        case SetPace(pace=pace):
            return setup.Change(press.field, {"pace": pace})
        case SetQuietHours(start=start, end=end):
            return setup.Change(press.field, {"quiet_start_minute": start, "quiet_end_minute": end})
        case SetCheckinDay(weekday=weekday):
            return setup.Change(press.field, {"checkin_weekday": weekday})
    return None


# ---------------------------------------------------------------- typed answers

_UNPARSED: dict[setup.Unparsed, TextKey] = {
    setup.Unparsed.TIMEZONE: "timezone_not_found",
    setup.Unparsed.TIME: "time_invalid",
    setup.Unparsed.QUIET_HOURS: "quiet_hours_invalid",
    setup.Unparsed.BUTTONS_ONLY: "use_the_buttons",
}


async def on_typed_answer(
    update: Update, context: CloserContext, user: UserSnapshot, field: Field
) -> None:
    """A typed time zone, time of day or quiet-hours window (``user``: as read when the text
    was routed here; the answer is checked again against the question still open)."""
    message = update.effective_message
    assert message is not None
    services = context.services
    library = context.library
    done = await setup.answer_typed(services.tx, library, who(update), field, message.text or "")
    if isinstance(done, setup.Unparsed):
        await reply(update, library.render_text(_UNPARSED[done]))
        return
    if isinstance(done, setup.WhichZone):
        buttons = [
            [InlineKeyboardButton(c.label[:60], callback_data=SetTimezone(c.zone).encode())]
            for c in done.choices
        ]
        await reply(update, library.render_text("timezone_which"), InlineKeyboardMarkup(buttons))
        return
    await _show_saved(update, context, done)


async def _show_saved(
    update: Update,
    context: CloserContext,
    done: setup.Changed | setup.QuietClash | setup.Refused,
) -> None:
    """What a typed answer or a shared location did."""
    library = context.library
    if isinstance(done, setup.Refused):  # answered meanwhile (two messages racing)
        return
    if isinstance(done, setup.QuietClash):
        await reply(update, _quiet_clash(library, done))
        return
    await reply(update, *_screen(library, done))
    if isinstance(done, setup.AllSet):
        await _first_nudge(context, done.first_nudge)


_NO_ZONE: dict[setup.NoZone, TextKey] = {
    setup.NoZone.NOT_ASKED: "location_not_asked",
    setup.NoZone.NOT_FOUND: "location_no_zone",
}


async def on_location(update: Update, context: CloserContext) -> None:
    """A shared location while the time zone is being asked."""
    message = update.effective_message
    if message is None or message.location is None or not is_private(update):
        return
    services = context.services
    where = message.location
    done = await setup.share_location(
        services.tx, context.library, who(update), where.latitude, where.longitude
    )
    if isinstance(done, setup.NoZone):
        await reply(update, context.library.render_text(_NO_ZONE[done]))
        return
    await _show_saved(update, context, done)

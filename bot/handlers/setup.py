"""Onboarding (/start) and /settings: one set of questions, asked in order or one at a time.

A user who is onboarding has `onboarding_step` set ("timezone" -> "time" -> "pace"); a press or a
typed answer for that step moves them on, and "Back" goes one step back. An onboarded user reaches
the same questions from /settings. A press on a question that has moved on changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import timezones
from bot.callbacks import (
    AskPress,
    Awaiting,
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
    WEEKDAYS,
    Screen,
    answer,
    edit_or_send,
    hhmm,
    is_private,
    plain,
    reply,
    settings_summary,
    typed_press,
    work,
)
from bot.handlers.progress import offer_baseline
from bot.logs import get_logger
from bot.outreach import send_prepared
from bot.storage.repositories import SettingsChanges, UserSnapshot
from bot.storage.uow import UnitOfWork
from bot.timezones import COMMON_ZONES
from bot.usecases.nudges import PreparedNudge
from content import Library, visible_text
from scheduler.slots import is_quiet

log = get_logger(__name__)

STEPS = ("timezone", "time", "pace")
FIELD_OF_STEP = {"timezone": Field.TIMEZONE, "time": Field.TIME, "pace": Field.PACE}
STEP_OF_FIELD = {v: k for k, v in FIELD_OF_STEP.items()}
# Outside the default quiet hours (21:30-08:00), so every button works for a new user.
TIME_CHOICES = (8 * 60 + 30, 9 * 60, 12 * 60 + 30, 17 * 60, 18 * 60 + 30, 20 * 60)
QUIET_CHOICES = ((21 * 60 + 30, 8 * 60), (22 * 60, 7 * 60), (20 * 60, 9 * 60), (23 * 60, 6 * 60))
_HHMM = re.compile(r"^\s*(\d{1,2})(?:[:.h ](\d{2}))?\s*(am|pm)?\s*$", re.IGNORECASE)


def parse_time_of_day(text: str) -> int | None:
    """'18:30', '6:30 pm', '7pm', '0730'... -> minutes after midnight, or None."""
    text = text.strip().lower()
    if re.fullmatch(r"\d{4}", text):
        text = f"{text[:2]}:{text[2:]}"
    match = _HHMM.match(text)
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return hour * 60 + minute


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """'22:00-07:00' or '22:00 to 7:00' -> (start, end) minutes, or None."""
    parts = re.split(r"\s*(?:-|–|—|to|until)\s*", text.strip().lower(), maxsplit=1)
    if len(parts) != 2:
        return None
    start, end = parse_time_of_day(parts[0]), parse_time_of_day(parts[1])
    if start is None or end is None or start == end:
        return None
    return start, end


# ---------------------------------------------------------------- questions


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _footer(onboarding: bool, can_go_back: bool) -> list[list[InlineKeyboardButton]]:
    if onboarding:
        back = BackPress().encode()
        return [[InlineKeyboardButton("‹ Back", callback_data=back)]] if can_go_back else []
    menu = AskPress(SettingsView.MENU).encode()
    return [[InlineKeyboardButton("‹ Settings", callback_data=menu)]]


def timezone_question(library: Library, onboarding: bool) -> tuple[str, InlineKeyboardMarkup]:
    head = library.render_text(
        "onboarding_timezone_title" if onboarding else "settings_timezone_title"
    )
    text = f"{head}\n\n{library.render_text('timezone_question')}"
    buttons = [
        InlineKeyboardButton(label, callback_data=SetTimezone(zone).encode())
        for label, zone in COMMON_ZONES
    ]
    return text, InlineKeyboardMarkup(_rows(buttons, 3) + _footer(onboarding, False))


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
    return text, InlineKeyboardMarkup(_rows(buttons, 3) + _footer(onboarding, True))


def pace_question(library: Library, onboarding: bool) -> tuple[str, InlineKeyboardMarkup]:
    head = library.render_text("onboarding_pace_title" if onboarding else "settings_pace_title")
    text = f"{head}\n\n{library.render_text('pace_question')}"
    buttons = [
        [InlineKeyboardButton(label, callback_data=SetPace(pace).encode())]
        for pace, label in PACE_LABELS.items()
    ]
    return text, InlineKeyboardMarkup(buttons + _footer(onboarding, True))


def quiet_question(library: Library) -> tuple[str, InlineKeyboardMarkup]:
    text = library.render_text("quiet_question")
    buttons = [
        InlineKeyboardButton(
            f"{hhmm(start)}–{hhmm(end)}", callback_data=SetQuietHours(start, end).encode()
        )
        for start, end in QUIET_CHOICES
    ]
    return text, InlineKeyboardMarkup(_rows(buttons, 2) + _footer(False, False))


def checkin_question(library: Library) -> tuple[str, InlineKeyboardMarkup]:
    text = library.render_text("checkin_day_question")
    buttons = [
        InlineKeyboardButton(day[:3], callback_data=SetCheckinDay(index).encode())
        for index, day in enumerate(WEEKDAYS)
    ]
    return text, InlineKeyboardMarkup(_rows(buttons, 4) + _footer(False, False))


def settings_menu(library: Library, summary: str) -> tuple[str, InlineKeyboardMarkup]:
    text = library.render_text("settings_menu", summary=summary)
    rows = [
        [
            InlineKeyboardButton("Time zone", callback_data=AskPress(Field.TIMEZONE).encode()),
            InlineKeyboardButton("Nudge time", callback_data=AskPress(Field.TIME).encode()),
        ],
        [
            InlineKeyboardButton("Pace", callback_data=AskPress(Field.PACE).encode()),
            InlineKeyboardButton("Quiet hours", callback_data=AskPress(Field.QUIET_HOURS).encode()),
        ],
        [
            InlineKeyboardButton(
                "Check-in day", callback_data=AskPress(Field.CHECKIN_DAY).encode()
            ),
            InlineKeyboardButton("Done", callback_data=AskPress(SettingsView.DONE).encode()),
        ],
    ]
    return text, InlineKeyboardMarkup(rows)


async def _question_for(
    library: Library, field: Field, onboarding: bool, uow: UnitOfWork, user_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    if field is Field.TIMEZONE:
        return timezone_question(library, onboarding)
    if field is Field.PACE:
        return pace_question(library, onboarding)
    if field is Field.QUIET_HOURS:
        return quiet_question(library)
    if field is Field.CHECKIN_DAY:
        return checkin_question(library)
    settings = await uow.users.get_settings(user_id)
    quiet = (settings.quiet_start_minute, settings.quiet_end_minute)
    return time_question(library, onboarding, quiet)


# ---------------------------------------------------------------- /start


async def start(update: Update, context: CloserContext) -> None:
    """Greet and onboard a new user; a returning one keeps their data and is offered /settings."""
    if not is_private(update) or update.effective_user is None or update.effective_chat is None:
        return
    services = context.services
    async with work(update, context, write=True) as uow:
        user, created = await uow.users.get_or_create(
            update.effective_user.id, update.effective_chat.id, now=uow.now
        )
        if created:
            await uow.users.set_onboarding_step(user.id, STEPS[0])
        elif user.blocked_at is not None:
            await uow.users.set_blocked(user.id, None)
        question: Screen | None = None
        summary: str | None = None
        if not created and user.onboarding_step is None:
            summary = settings_summary(await uow.users.get_settings(user.id))
        else:
            step = user.onboarding_step or STEPS[0]
            question = await _question_for(
                services.library, FIELD_OF_STEP[step], True, uow, user.id
            )
    log.info("start", user_id=user.id, new=created)
    if summary is not None:
        await reply(update, services.library.render_text("welcome_back", summary=summary))
        return
    await reply(update, services.library.render_text("welcome"))
    assert question is not None
    await reply(update, *question)


async def settings_command(update: Update, context: CloserContext) -> None:
    """Show the settings with a button for each."""
    async with work(update, context, write=False) as uow:
        user = uow.user
        summary = None
        if user is not None and user.onboarded:
            summary = settings_summary(await uow.users.get_settings(user.id))
    library = context.services.library
    if not await _onboarded_or_hint(update, library, user) or summary is None:
        return
    await reply(update, *settings_menu(library, summary))


async def _onboarded_or_hint(update: Update, library: Library, user: UserSnapshot | None) -> bool:
    if user is None:
        await reply(update, library.render_text("setup_first"))
        return False
    if user.onboarding_step is not None:
        await reply(update, library.render_text("setup_finish_first"))
        return False
    return True


# ---------------------------------------------------------------- answers


@typed_press(SettingsPress, stale="setup_button_expired", invalid="setup_bad_button")
async def on_press(update: Update, context: CloserContext, press: SettingsPress) -> None:
    """A settings or onboarding button: set a value, go back, or open a question (data that is
    not a button's: "expired"; a value no button carries: "couldn't use that button")."""
    query = update.callback_query
    assert query is not None
    library = context.services.library
    async with work(update, context, write=True) as uow:
        user = uow.user
        outcome: _Outcome | None = None
        if user is not None:
            if isinstance(press, BackPress):
                outcome = await _go_back(library, uow, user)
            elif isinstance(press, AskPress):
                outcome = await _ask(library, uow, user, press)
            elif isinstance(press, SetPress):
                outcome = await _set_from_press(context, uow, user, press)
    if outcome is None:
        await answer(query, plain(library, "setup_button_expired"))
        return
    await answer(query, outcome.toast, show_alert=outcome.alert)
    if outcome.screen is not None:
        await edit_or_send(query, *outcome.screen)
    if outcome.first_nudge is not None:
        await _first_nudge(context, outcome.first_nudge)


async def _first_nudge(context: CloserContext, nudge: PreparedNudge) -> None:
    """Onboarding is done: the first step, then the (skippable) baseline questions."""
    await send_prepared(context.bot, context.services, nudge)
    await offer_baseline(context, nudge.chat_id)


@dataclass
class _Outcome:
    """What a settings press or typed answer did: the answer, the screen, a first nudge."""

    toast: str | None = None
    screen: Screen | None = None
    _: KW_ONLY
    alert: bool = False
    first_nudge: PreparedNudge | None = None


async def _go_back(library: Library, uow: UnitOfWork, user: UserSnapshot) -> _Outcome:
    step = user.onboarding_step
    if step is None or step == STEPS[0]:
        return _Outcome(plain(library, "setup_nothing_back"))
    previous = STEPS[STEPS.index(step) - 1]
    await uow.users.set_onboarding_step(user.id, previous)
    question = await _question_for(library, FIELD_OF_STEP[previous], True, uow, user.id)
    return _Outcome(screen=question)


async def _ask(library: Library, uow: UnitOfWork, user: UserSnapshot, press: AskPress) -> _Outcome:
    what = press.target
    if user.onboarding_step is not None:
        return _Outcome(plain(library, "setup_finish_latest"))
    if isinstance(what, SettingsView):
        if user.awaiting is not None:
            await uow.users.set_awaiting(user.id, None)
        summary = settings_summary(await uow.users.get_settings(user.id))
        if what is SettingsView.DONE:
            return _Outcome(screen=(library.render_text("settings_saved", summary=summary), None))
        return _Outcome(screen=settings_menu(library, summary))
    awaiting = Awaiting.setting(what)
    if user.awaiting != awaiting:
        await uow.users.set_awaiting(user.id, awaiting.code if awaiting is not None else None)
    return _Outcome(screen=await _question_for(library, what, False, uow, user.id))


def _changes_from_press(press: SetPress) -> SettingsChanges | None:
    """The settings changes a pressed value makes (validated by ``bot.callbacks.parse``)."""
    match press:
        case SetTimezone(zone=zone):
            return {"timezone": zone}
        case SetNudgeTime(minute=minute):
            return {"nudge_minute": minute}
        case SetPace(pace=pace):
            return {"pace": pace}
        case SetQuietHours(start=start, end=end):
            return {"quiet_start_minute": start, "quiet_end_minute": end}
        case SetCheckinDay(weekday=weekday):
            return {"checkin_weekday": weekday}
    return None


async def _set_from_press(
    context: CloserContext, uow: UnitOfWork, user: UserSnapshot, press: SetPress
) -> _Outcome:
    library = context.services.library
    field, changes = press.field, _changes_from_press(press)
    if changes is None:
        return _Outcome(plain(library, "setup_bad_button"))
    if user.onboarding_step is not None and FIELD_OF_STEP[user.onboarding_step] != field:
        return _Outcome(plain(library, "setup_moved_on"))
    problem = await apply_changes(library, uow, user, field, changes)
    if problem is not None:
        return _Outcome(visible_text(problem), alert=True)
    outcome = await _after_change(context, uow, user)
    outcome.toast = plain(library, "saved")
    return outcome


async def apply_changes(
    library: Library, uow: UnitOfWork, user: UserSnapshot, field: Field, changes: SettingsChanges
) -> str | None:
    """Save settings changes in the unit of work; a problem to tell the user (Telegram HTML),
    or None."""
    settings = await uow.users.get_settings(user.id)
    minute = changes.get("nudge_minute", settings.nudge_minute)
    start = changes.get("quiet_start_minute", settings.quiet_start_minute)
    end = changes.get("quiet_end_minute", settings.quiet_end_minute)
    if is_quiet(minute, start, end):
        return library.render_text(
            "time_in_quiet_hours", time=hhmm(minute), quiet_start=hhmm(start), quiet_end=hhmm(end)
        )
    await uow.users.update_settings(user.id, **changes)
    if user.onboarding_step is not None:
        index = STEPS.index(STEP_OF_FIELD[field])
        following = STEPS[index + 1] if index + 1 < len(STEPS) else None
        await uow.users.set_onboarding_step(user.id, following)
    elif user.awaiting is not None:
        await uow.users.set_awaiting(user.id, None)
    log.info("settings_changed", user_id=user.id, field=field.value)
    return None


async def _after_change(context: CloserContext, uow: UnitOfWork, user: UserSnapshot) -> _Outcome:
    """What comes next: the next onboarding question, the first nudge, or the menu."""
    fresh = await uow.users.get(user.id)
    assert fresh is not None
    library = context.services.library
    if fresh.onboarding_step is not None:
        field = FIELD_OF_STEP[fresh.onboarding_step]
        question = await _question_for(library, field, True, uow, user.id)
        return _Outcome(screen=question)
    summary = settings_summary(await uow.users.get_settings(user.id))
    if user.onboarding_step is None:
        return _Outcome(screen=settings_menu(library, summary))
    text = library.render_text("all_set", summary=summary)
    step = library.steps[0]
    outbox_id = await uow.nudges.add(user.id, item_id=step.id, due_at=uow.now, status="sending")
    first = PreparedNudge(user.id, fresh.chat_id, outbox_id, step)
    return _Outcome(screen=(text, None), first_nudge=first)


# ---------------------------------------------------------------- typed answers


async def on_typed_answer(
    update: Update, context: CloserContext, user: UserSnapshot, field: Field
) -> None:
    """A typed time zone, time of day or quiet-hours window (read outside any transaction)."""
    message = update.effective_message
    assert message is not None
    text = message.text or ""
    library = context.services.library
    if field is Field.TIMEZONE:
        # The first lookup builds the city index (a second or two): off the event loop.
        choices = await timezones.resolve(text)
        if not choices:
            await reply(update, library.render_text("timezone_not_found"))
            return
        if len(choices) > 1:
            buttons = [
                [InlineKeyboardButton(c.label[:60], callback_data=SetTimezone(c.zone).encode())]
                for c in choices
            ]
            await reply(
                update, library.render_text("timezone_which"), InlineKeyboardMarkup(buttons)
            )
            return
        await _save_typed(update, context, field, {"timezone": choices[0].zone})
        return
    if field is Field.TIME:
        minute = parse_time_of_day(text)
        if minute is None:
            await reply(update, library.render_text("time_invalid"))
            return
        await _save_typed(update, context, field, {"nudge_minute": minute})
        return
    if field is Field.QUIET_HOURS:
        window = parse_quiet_hours(text)
        if window is None:
            await reply(update, library.render_text("quiet_hours_invalid"))
            return
        changes: SettingsChanges = {"quiet_start_minute": window[0], "quiet_end_minute": window[1]}
        await _save_typed(update, context, field, changes)
        return
    await reply(update, library.render_text("use_the_buttons"))


async def _save_typed(
    update: Update, context: CloserContext, field: Field, changes: SettingsChanges
) -> None:
    async with work(update, context, write=True) as uow:
        user = uow.user
        outcome: _Outcome | None = None
        if user is not None and _still_asking(user, field):
            problem = await apply_changes(context.services.library, uow, user, field, changes)
            if problem is not None:
                outcome = _Outcome(problem)
            else:
                outcome = await _after_change(context, uow, user)
    if outcome is None:  # answered meanwhile (two messages racing): nothing to do
        return
    if outcome.screen is None:
        await reply(update, outcome.toast or "")
        return
    await reply(update, *outcome.screen)
    if outcome.first_nudge is not None:
        await _first_nudge(context, outcome.first_nudge)


def _still_asking(user: UserSnapshot, field: Field) -> bool:
    if user.onboarding_step is not None:
        return FIELD_OF_STEP[user.onboarding_step] is field
    return user.awaiting is not None and user.awaiting.field is field


async def on_location(update: Update, context: CloserContext) -> None:
    """A shared location while the time zone is being asked."""
    message = update.effective_message
    if message is None or message.location is None or not is_private(update):
        return
    async with work(update, context, write=False) as uow:
        user = uow.user
    asking = user is not None and _still_asking(user, Field.TIMEZONE)
    if user is None or not asking:
        await reply(update, context.services.library.render_text("location_not_asked"))
        return
    choice = await timezones.locate(message.location.latitude, message.location.longitude)
    if choice is None:
        await reply(update, context.services.library.render_text("location_no_zone"))
        return
    await _save_typed(update, context, Field.TIMEZONE, {"timezone": choice.zone})

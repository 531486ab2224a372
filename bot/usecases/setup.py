"""Onboarding (/start) and /settings: one set of questions, asked in order or one at a time.

A user who is onboarding has ``onboarding_step`` set ("timezone" -> "time" -> "pace"); an
answer for that step moves her on, and "Back" goes one step back. An onboarded user reaches the
same questions from /settings. An answer to a question that has moved on changes nothing.
The last onboarding answer finishes onboarding and, in the same transaction, makes the outbox
row of her first nudge (status ``sending``: the caller sends it after the commit).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from typing import Final

from bot import timezones
from bot.callbacks import Awaiting, Field, SettingsView
from bot.logs import get_logger
from bot.storage.repositories import SettingsChanges, SettingsSnapshot, UserSnapshot
from bot.storage.uow import Transactions, Tx
from bot.timezones import ZoneChoice
from bot.usecases.common import Who, end_question, sender
from bot.usecases.nudges import PreparedNudge, prepare_item_nudge
from content import Item, Library
from content.translations import LANGUAGES
from scheduler.slots import is_quiet

log = get_logger(__name__)

STEPS: Final = ("timezone", "time", "pace")
FIELD_OF_STEP: Final = {"timezone": Field.TIMEZONE, "time": Field.TIME, "pace": Field.PACE}
STEP_OF_FIELD: Final = {v: k for k, v in FIELD_OF_STEP.items()}
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


# ---------------------------------------------------------------- what comes back


@dataclass(frozen=True, slots=True)
class Question:
    """A question to show: for ``field``, in onboarding or from /settings; her ``settings``
    (the time question names her quiet hours)."""

    field: Field
    onboarding: bool
    settings: SettingsSnapshot


@dataclass(frozen=True, slots=True)
class Menu:
    """The settings menu, with her settings."""

    settings: SettingsSnapshot


@dataclass(frozen=True, slots=True)
class Closed:
    """/settings closed with "Done": her settings as saved."""

    settings: SettingsSnapshot


@dataclass(frozen=True, slots=True)
class AllSet:
    """Onboarding finished: her settings, and the first nudge to send now."""

    settings: SettingsSnapshot
    first_nudge: PreparedNudge


@dataclass(frozen=True, slots=True)
class QuietClash:
    """Not saved: the nudge time ``minute`` would fall in her quiet hours."""

    minute: int
    quiet_start: int
    quiet_end: int


class Refused(enum.Enum):
    """Why an answer or a press changed nothing."""

    GONE = "gone"  # Closer keeps nothing of hers
    NOTHING_BACK = "nothing_back"  # "Back" on the first question, or outside onboarding
    FINISH_ONBOARDING = "finish_onboarding"  # a /settings button while onboarding
    MOVED_ON = "moved_on"  # an answer to a question no longer asked


Changed = Question | Menu | AllSet
"""What follows a saved answer: the next onboarding question, the menu, or all set."""


@dataclass(frozen=True, slots=True)
class Started:
    """/start: a new or unfinished user is asked ``question``; an onboarded one is welcomed
    back with her ``settings``."""

    user_id: int
    created: bool
    settings: SettingsSnapshot
    question: Question | None
    language: str = "en"  # hers: what the answer is written in


class NotReady(enum.Enum):
    """Why /settings cannot open yet."""

    UNKNOWN = "unknown"  # no /start yet
    ONBOARDING = "onboarding"  # onboarding not finished


@dataclass(frozen=True, slots=True)
class Change:
    """Set ``field`` (a pressed or typed answer): the settings it changes."""

    field: Field
    values: SettingsChanges


class Unparsed(enum.Enum):
    """A typed answer Closer could not read as one."""

    TIMEZONE = "timezone"  # no place or zone of that name
    TIME = "time"
    QUIET_HOURS = "quiet_hours"
    BUTTONS_ONLY = "buttons_only"  # a question answered with buttons only


@dataclass(frozen=True, slots=True)
class WhichZone:
    """A typed place that names more than one zone: she picks one."""

    choices: tuple[ZoneChoice, ...]


class NoZone(enum.Enum):
    """A shared location that changed nothing."""

    NOT_ASKED = "not_asked"  # no time zone question open
    NOT_FOUND = "not_found"  # no zone known there


# ---------------------------------------------------------------- /start and /settings


def _question(tx: Tx, user_id: int, field: Field, onboarding: bool) -> Question:
    return Question(field, onboarding, tx.users.get_settings(user_id))


async def start(runner: Transactions, who: Who, chat_id: int, language: str = "en") -> Started:
    """/start: a new user is made (in ``language``, her Telegram's) and asked the first
    question; a returning one keeps her data and her language (reachable again if she had
    blocked the bot), asked where onboarding stands."""

    def write(tx: Tx) -> Started:
        sender(tx, who)  # a command: ends her open question
        user, created = tx.users.get_or_create(who.telegram_id, chat_id, now=tx.now)
        if created:
            tx.users.set_onboarding_step(user.id, STEPS[0])
            tx.users.set_language(user.id, language)
            user = replace(user, language=language)
        elif user.blocked_at is not None:
            tx.users.set_blocked(user.id, None)
        tx.user = user
        settings = tx.users.get_settings(user.id)
        question = None
        if created or user.onboarding_step is not None:
            step = user.onboarding_step or STEPS[0]
            question = Question(FIELD_OF_STEP[step], True, settings)
        log.info("start", user_id=user.id, new=created)
        spoken = user.language if user.language in LANGUAGES else "en"
        return Started(user.id, created, settings, question, spoken)

    return await runner.write(write)


async def set_language(runner: Transactions, who: Who, language: str) -> bool:
    """/language: Closer writes to her in ``language`` from now on; False if she is unknown."""

    def write(tx: Tx) -> bool:
        user = sender(tx, who)
        if user is None:
            return False
        tx.users.set_language(user.id, language)
        tx.user = replace(user, language=language)
        log.info("language_set", user_id=user.id, language=language)
        return True

    return await runner.write(write)


async def open_settings(runner: Transactions, who: Who) -> SettingsSnapshot | NotReady:
    """/settings: her settings, once she is onboarded."""

    def read(tx: Tx) -> tuple[UserSnapshot | None, SettingsSnapshot | NotReady]:
        user = sender(tx, who)
        if user is None:
            return None, NotReady.UNKNOWN
        if user.onboarding_step is not None:
            return user, NotReady.ONBOARDING
        return user, tx.users.get_settings(user.id)

    user, found = await runner.read(read)
    await end_question(runner, who, user)
    return found


# ---------------------------------------------------------------- presses


async def go_back(runner: Transactions, who: Who) -> Question | Refused:
    """ "Back" in onboarding: the previous question."""

    def write(tx: Tx) -> Question | Refused:
        user = sender(tx, who)
        if user is None:
            return Refused.GONE
        step = user.onboarding_step
        if step is None or step == STEPS[0]:
            return Refused.NOTHING_BACK
        previous = STEPS[STEPS.index(step) - 1]
        tx.users.set_onboarding_step(user.id, previous)
        return _question(tx, user.id, FIELD_OF_STEP[previous], True)

    return await runner.write(write)


async def ask(
    runner: Transactions, who: Who, target: Field | SettingsView
) -> Question | Menu | Closed | Refused:
    """A /settings button: open a question (a typed answer is then awaited for the ones she
    can type), go back to the menu, or close."""

    def write(tx: Tx) -> Question | Menu | Closed | Refused:
        user = sender(tx, who)
        if user is None:
            return Refused.GONE
        if user.onboarding_step is not None:
            return Refused.FINISH_ONBOARDING
        if isinstance(target, SettingsView):
            if user.awaiting is not None:
                tx.users.set_awaiting(user.id, None)
            settings = tx.users.get_settings(user.id)
            return Closed(settings) if target is SettingsView.DONE else Menu(settings)
        awaiting = Awaiting.setting(target)
        if user.awaiting != awaiting:
            tx.users.set_awaiting(user.id, awaiting.code if awaiting is not None else None)
        return _question(tx, user.id, target, False)

    return await runner.write(write)


async def choose(
    runner: Transactions, library: Library, who: Who, change: Change
) -> Changed | QuietClash | Refused:
    """A pressed answer: save it and move on (the onboarding step it answers, or any setting
    from /settings)."""
    return await runner.write(_save, library, who, change, False)


# ---------------------------------------------------------------- typed answers


async def answer_typed(
    runner: Transactions, library: Library, who: Who, field: Field, text: str
) -> Changed | QuietClash | Refused | Unparsed | WhichZone:
    """A typed time zone, time of day or quiet-hours window, for the question still open."""
    if field is Field.TIMEZONE:
        # The first lookup builds the city index (a second or two): off the event loop.
        choices = await timezones.resolve(text)
        if not choices:
            return Unparsed.TIMEZONE
        if len(choices) > 1:
            return WhichZone(tuple(choices))
        change = Change(field, {"timezone": choices[0].zone})
    elif field is Field.TIME:
        minute = parse_time_of_day(text)
        if minute is None:
            return Unparsed.TIME
        change = Change(field, {"nudge_minute": minute})
    elif field is Field.QUIET_HOURS:
        window = parse_quiet_hours(text)
        if window is None:
            return Unparsed.QUIET_HOURS
        change = Change(field, {"quiet_start_minute": window[0], "quiet_end_minute": window[1]})
    else:
        return Unparsed.BUTTONS_ONLY
    return await runner.write(_save, library, who, change, True)


async def share_location(
    runner: Transactions, library: Library, who: Who, latitude: float, longitude: float
) -> Changed | QuietClash | Refused | NoZone:
    """A shared location while the time zone is asked: the zone there."""
    user = await runner.read(sender, who)
    if user is None or not _still_asking(user, Field.TIMEZONE):
        return NoZone.NOT_ASKED
    choice = await timezones.locate(latitude, longitude)
    if choice is None:
        return NoZone.NOT_FOUND
    return await runner.write(
        _save, library, who, Change(Field.TIMEZONE, {"timezone": choice.zone}), True
    )


def _still_asking(user: UserSnapshot, field: Field) -> bool:
    if user.onboarding_step is not None:
        return FIELD_OF_STEP[user.onboarding_step] is field
    return user.awaiting is not None and user.awaiting.field is field


# ---------------------------------------------------------------- saving


def _save(
    tx: Tx, library: Library, who: Who, change: Change, typed: bool
) -> Changed | QuietClash | Refused:
    """Save an answer and say what follows (a typed one only for the question still open)."""
    user = sender(tx, who)
    if user is None:
        return Refused.GONE
    if typed and not _still_asking(user, change.field):
        return Refused.MOVED_ON  # answered meanwhile (two messages racing)
    step = user.onboarding_step
    if not typed and step is not None and FIELD_OF_STEP[step] != change.field:
        return Refused.MOVED_ON
    clash = apply_changes(tx, user, change)
    if clash is not None:
        return clash
    return _after_change(tx, library, user)


def apply_changes(tx: Tx, user: UserSnapshot, change: Change) -> QuietClash | None:
    """Save settings changes (and move onboarding on, or end the typed question); the clash
    that kept them from being saved, or None."""
    changes = change.values
    settings = tx.users.get_settings(user.id)
    minute = changes.get("nudge_minute", settings.nudge_minute)
    start = changes.get("quiet_start_minute", settings.quiet_start_minute)
    end = changes.get("quiet_end_minute", settings.quiet_end_minute)
    if is_quiet(minute, start, end):
        return QuietClash(minute, start, end)
    tx.users.update_settings(user.id, **changes)
    if user.onboarding_step is not None:
        index = STEPS.index(STEP_OF_FIELD[change.field])
        following = STEPS[index + 1] if index + 1 < len(STEPS) else None
        tx.users.set_onboarding_step(user.id, following)
    elif user.awaiting is not None:
        tx.users.set_awaiting(user.id, None)
    log.info("settings_changed", user_id=user.id, field=change.field.value)
    return None


def _after_change(tx: Tx, library: Library, user: UserSnapshot) -> Changed:
    """What comes next: the next onboarding question, the menu, or (onboarding finished in
    this transaction) all set, with the outbox row of the first nudge."""
    fresh = tx.users.get(user.id)
    assert fresh is not None
    settings = tx.users.get_settings(user.id)
    if fresh.onboarding_step is not None:
        return Question(FIELD_OF_STEP[fresh.onboarding_step], True, settings)
    if user.onboarding_step is None:
        return Menu(settings)
    return AllSet(settings, _first_nudge(tx, fresh, library.steps[0]))


def _first_nudge(tx: Tx, user: UserSnapshot, item: Item) -> PreparedNudge:
    """The outbox row of the first step, sent right away after the commit."""
    return prepare_item_nudge(tx, user.id, user.chat_id, item)

"""Callback data: compact, versioned, and always treated as untrusted input.

Format: ``<version>:<action>:<arg>:<arg>...``, at most 64 bytes (Telegram's limit). Nothing in
it is trusted: :func:`decode` is the one gate every press goes through, and it returns None for
anything Closer could not have produced (wrong version, non-ASCII, lone surrogates, empty or
oversized parts, numbers a database column or a clock cannot hold); handlers then re-check every
id against the presser's own rows before acting.

On top of that gate, the typed presses: one small frozen class per button (``NudgePress``,
``SetNudgeTime``, ``ForgetYes``...) with named, typed fields. A keyboard builds its buttons with
their ``encode()``, and :func:`parse` turns callback data back into one of them, or None for
anything invalid (a value out of range, an unknown opcode, a wrong number of arguments). The
strings are the ones buttons already sent carry: never change one, only add new ones.

Also here: the enums the presses carry (opcodes, responses, settings fields) and ``Awaiting``,
what her next typed message answers (stored as a short code in ``users.awaiting``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar, Final, TypeVar
from zoneinfo import ZoneInfo

from content import MOMENTS, Moment
from content.locales import LOCALES, LocaleCode
from scheduler.policy import Outcome, Pace

VERSION = "1"
MAX_BYTES = 64
_SEP = ":"

# The largest number an argument may carry: ids must fit PostgreSQL's INTEGER (signed 32 bits),
# and as a Unix time it is 2038-01-19, which every platform's datetime can represent.
MAX_INT = 2**31 - 1
# Timestamps in callback data (e.g. when a confirmation was asked) must lie in this window.
MIN_TIMESTAMP = 1_500_000_000  # 2017-07-14

# What Closer puts in callback data: a short lowercase action, then arguments made of printable
# ASCII without ':' (ids, IANA zone names like "America/Port-au-Prince" or "Etc/GMT+5", "-").
_ACTION = re.compile(r"[a-z][a-z0-9_]{0,15}")
_ARG = re.compile(r"[!-9;-~]{1,60}")  # printable ASCII (0x21-0x7e) except ':' (0x3a)
_NUMBER = re.compile(r"[0-9]+")


class Action(StrEnum):
    """Every button action Closer has: the one place their codes are defined.

    The short values travel in callback data (64 bytes at most) and buttons already sent keep
    them: never change a value, only add new ones.
    """

    SET = "set"  # settings and onboarding: set a field to a value
    ASK = "ask"  # settings: show a question, or the menu
    BACK = "back"  # onboarding: one step back
    NUDGE = "n"  # a button under a nudge
    LOG = "lg"  # the /log flow
    FORGET = "fg"  # /forget's confirm or cancel
    PAUSE = "pz"  # a /pause duration
    PAUSE_OFFER = "po"  # the pause offer's "Carry on"
    BASELINE = "bl"  # the baseline questions after onboarding: answer them or skip
    NOW = "now"  # "Talking now": the moment menu, a moment's card, the listening timer
    SAFETY = "sf"  # the safety card
    CARD = "ca"  # "see another card" under a card that answered free text
    CLEAR = "cl"  # under a safety reply: clear the exchange from the chat
    HOLD = "hd"  # under a safety reply: keep the nudges paused, or carry on
    LANGUAGE = "lang"  # /language and its row in /settings: the menu, or a language chosen


class CallbackDataTooLong(ValueError):
    """Raised when a button would carry more than Telegram's 64 bytes."""


@dataclass(frozen=True)
class Press:
    """A decoded button press: an action and its string arguments."""

    action: str
    args: tuple[str, ...]

    def arg(self, index: int) -> str | None:
        return self.args[index] if 0 <= index < len(self.args) else None

    def int_arg(self, index: int) -> int | None:
        """The argument as an integer in 0..2**31-1, or None (missing or not a number)."""
        value = self.arg(index)
        if value is None or not _NUMBER.fullmatch(value) or len(value) > 10:
            return None
        number = int(value)
        return number if number <= MAX_INT else None

    def time_arg(self, index: int) -> datetime | None:
        """The argument as an aware UTC datetime from a Unix time, or None."""
        number = self.int_arg(index)
        if number is None or number < MIN_TIMESTAMP:
            return None
        return datetime.fromtimestamp(number, UTC)


def encode(action: str, *args: str | int) -> str:
    """Build callback data for a button; refuses anything Telegram would reject."""
    parts = [VERSION, action, *(str(a) for a in args)]
    if any(_SEP in part for part in parts):
        raise ValueError("callback parts must not contain ':'")
    data = _SEP.join(parts)
    size = len(data.encode("utf-8"))  # a lone surrogate raises UnicodeEncodeError, a ValueError
    if size > MAX_BYTES:
        raise CallbackDataTooLong(f"callback data of {size} bytes")
    return data


def decode(data: object) -> Press | None:
    """Decode callback data, or None when it is malformed, foreign or from another version.

    Never raises, whatever ``data`` is.
    """
    if not isinstance(data, str) or not data or len(data) > MAX_BYTES or not data.isascii():
        return None
    parts = data.split(_SEP)
    if len(parts) < 2 or parts[0] != VERSION or not _ACTION.fullmatch(parts[1]):
        return None
    args = tuple(parts[2:])
    for arg in args:
        if not _ARG.fullmatch(arg):
            return None
        if _NUMBER.fullmatch(arg) and (len(arg) > 10 or int(arg) > MAX_INT):
            return None
    return Press(action=parts[1], args=args)


def pattern(action: str) -> str:
    """The regular expression a CallbackQueryHandler uses to take one action's presses."""
    return rf"^{VERSION}{_SEP}{action}(?:{_SEP}|$)"


# ---------------------------------------------------------------- the enums presses carry

_E = TypeVar("_E", bound=StrEnum)


def _member(kind: type[_E], value: str | None) -> _E | None:
    """The member of ``kind`` whose value is ``value``, or None."""
    for member in kind:
        if member.value == value:
            return member
    return None


class Op(StrEnum):
    """What a nudge button does (``NudgePress.op``)."""

    TRIED = "t"
    WENT_WELL = "w"
    MIXED = "m"
    HARD = "h"
    NOT_YET = "y"
    LATER = "l"
    LATER_HOUR = "l1"
    LATER_EVENING = "le"
    LATER_TOMORROW = "lt"
    GOT_IT = "g"
    BACK = "b"

    @property
    def response(self) -> Response | None:
        """What this press records on the nudge; None for one that only opens a menu."""
        return _OP_RESPONSES.get(self)


class Response(StrEnum):
    """What an answered nudge stored (``outbox.response``), and a /log outcome."""

    WENT_WELL = "went_well"
    MIXED = "mixed"
    HARD = "hard"
    NOT_YET = "not_yet"
    LATER_HOUR = "later_hour"
    LATER_EVENING = "later_evening"
    LATER_TOMORROW = "later_tomorrow"
    GOT_IT = "got_it"
    EXPIRED = "expired"

    @classmethod
    def parse(cls, value: str | None) -> Response | None:
        """A stored response, or None for one Closer does not know."""
        return _member(cls, value)

    @property
    def outcome(self) -> Outcome | None:
        """The outcome the spacing policy records for it (an item's progress), if any."""
        return _OUTCOMES.get(self)

    @property
    def tried(self) -> bool:
        """A conversation she had: went well, mixed or hard."""
        return self in TRIED_RESPONSES


TRIED_RESPONSES: Final = (Response.WENT_WELL, Response.MIXED, Response.HARD)
SNOOZE_RESPONSES: Final = (Response.LATER_HOUR, Response.LATER_EVENING, Response.LATER_TOMORROW)
_OUTCOMES: Final[Mapping[Response, Outcome]] = {
    Response.WENT_WELL: "went_well",
    Response.MIXED: "mixed",
    Response.HARD: "hard",
    Response.NOT_YET: "not_yet",
}
_OP_RESPONSES: Final[Mapping[Op, Response]] = {
    Op.WENT_WELL: Response.WENT_WELL,
    Op.MIXED: Response.MIXED,
    Op.HARD: Response.HARD,
    Op.NOT_YET: Response.NOT_YET,
    Op.LATER_HOUR: Response.LATER_HOUR,
    Op.LATER_EVENING: Response.LATER_EVENING,
    Op.LATER_TOMORROW: Response.LATER_TOMORROW,
    Op.GOT_IT: Response.GOT_IT,
}


class Field(StrEnum):
    """A setting a question asks for (settings buttons, and what a typed answer is for)."""

    TIMEZONE = "tz"
    TIME = "tm"
    PACE = "pc"
    QUIET_HOURS = "qh"
    CHECKIN_DAY = "ck"


TYPED_ANSWER_FIELDS: Final = frozenset({Field.TIMEZONE, Field.TIME, Field.QUIET_HOURS})
"""The settings she can also type an answer to."""


class SettingsView(StrEnum):
    """The settings screens that are not a question."""

    MENU = "menu"
    DONE = "done"


class Baseline(StrEnum):
    """The baseline offer's two buttons."""

    GO = "go"
    SKIP = "skip"


class Hold(StrEnum):
    """Under a safety reply: keep the nudges paused, or carry on."""

    KEEP = "k"
    CARRY_ON = "c"


MINUTES_A_DAY: Final = 24 * 60
MAX_PAUSE_DAYS: Final = 365
_PACES: Final[Mapping[str, Pace]] = {"gentle": "gentle", "steady": "steady", "daily": "daily"}
_MOMENTS: Final[Mapping[str, Moment]] = {moment: moment for moment in MOMENTS}
_LOCALES: Final[Mapping[str, LocaleCode]] = {code: code for code in LOCALES}
CARD_CODE_LENGTH: Final = 6  # hex digits of a hash of an item's id (bot.handlers.freetext)
_ITEM_CODE = re.compile(rf"[0-9a-f]{{{CARD_CODE_LENGTH}}}")
CARD_CODE_SEP: Final = "."
_NO_ITEM = "-"
_FORGET_YES = "yes"
_FORGET_NO = "no"
_OFFER_GO = "go"
_NOW_TIMER = "timer"
_NOW_LOG = "log"


def valid_zone(zone: str) -> bool:
    """Whether ``zone`` is an IANA time zone this machine knows."""
    if not zone or len(zone) > MAX_BYTES:
        return False
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError, OSError, ImportError):
        return False
    return True


def _minute(value: int | None) -> int | None:
    return value if value is not None and value < MINUTES_A_DAY else None


# ---------------------------------------------------------------- the typed presses


class TypedPress:
    """A button's press with named, typed fields; ``encode()`` is its callback data."""

    __slots__ = ()
    action: ClassVar[Action]

    def parts(self) -> tuple[str | int, ...]:
        """The arguments after the action, as they travel."""
        return ()

    def encode(self) -> str:
        return encode(self.action, *self.parts())


class SettingsPress(TypedPress):
    """A settings or onboarding button: set a value, open a question, or go back."""

    __slots__ = ()


class SetPress(SettingsPress):
    """Set one setting to a value (``field``: which)."""

    __slots__ = ()
    action = Action.SET
    field: ClassVar[Field]


@dataclass(frozen=True, slots=True)
class SetTimezone(SetPress):
    field = Field.TIMEZONE
    zone: str

    def parts(self) -> tuple[str | int, ...]:
        return (self.field, self.zone)


@dataclass(frozen=True, slots=True)
class SetNudgeTime(SetPress):
    field = Field.TIME
    minute: int  # after midnight, her time

    def parts(self) -> tuple[str | int, ...]:
        return (self.field, self.minute)


@dataclass(frozen=True, slots=True)
class SetPace(SetPress):
    field = Field.PACE
    pace: Pace

    def parts(self) -> tuple[str | int, ...]:
        return (self.field, self.pace)


@dataclass(frozen=True, slots=True)
class SetQuietHours(SetPress):
    field = Field.QUIET_HOURS
    start: int  # minutes after midnight
    end: int

    def parts(self) -> tuple[str | int, ...]:
        return (self.field, self.start, self.end)


@dataclass(frozen=True, slots=True)
class SetCheckinDay(SetPress):
    field = Field.CHECKIN_DAY
    weekday: int  # 0 = Monday

    def parts(self) -> tuple[str | int, ...]:
        return (self.field, self.weekday)


@dataclass(frozen=True, slots=True)
class AskPress(SettingsPress):
    """/settings: show a setting's question, the menu, or the settings saved."""

    action = Action.ASK
    target: Field | SettingsView

    def parts(self) -> tuple[str | int, ...]:
        return (self.target,)


@dataclass(frozen=True, slots=True)
class BackPress(SettingsPress):
    """Onboarding: one step back."""

    action = Action.BACK


@dataclass(frozen=True, slots=True)
class NudgePress(TypedPress):
    """A button under a nudge: its outbox row and what the button does."""

    action = Action.NUDGE
    outbox_id: int
    op: Op

    def parts(self) -> tuple[str | int, ...]:
        return (self.outbox_id, self.op)


class LogPress(TypedPress):
    """A button of the /log flow."""

    __slots__ = ()
    action = Action.LOG


@dataclass(frozen=True, slots=True)
class LogOutcome(LogPress):
    """How the conversation went."""

    outcome: Response  # went well, mixed or hard

    def parts(self) -> tuple[str | int, ...]:
        return ("o", self.outcome)


@dataclass(frozen=True, slots=True)
class LogItem(LogPress):
    """The step or tip the logged conversation leaned on; None: "Skip"."""

    log_id: int
    item_id: str | None

    def parts(self) -> tuple[str | int, ...]:
        return ("i", self.log_id, _NO_ITEM if self.item_id is None else self.item_id)


@dataclass(frozen=True, slots=True)
class LogSkipNote(LogPress):
    """ "Skip the note"."""

    log_id: int

    def parts(self) -> tuple[str | int, ...]:
        return ("n", self.log_id)


class ForgetPress(TypedPress):
    """/forget's confirm or cancel."""

    __slots__ = ()
    action = Action.FORGET


@dataclass(frozen=True, slots=True)
class ForgetYes(ForgetPress):
    """Erase everything, confirmed on a question asked at ``asked`` (None: a confirmation from
    before the buttons carried the time, which can no longer erase anything)."""

    asked: datetime | None

    def parts(self) -> tuple[str | int, ...]:
        if self.asked is None:
            return (_FORGET_YES,)
        return (_FORGET_YES, int(self.asked.timestamp()))


@dataclass(frozen=True, slots=True)
class ForgetNo(ForgetPress):
    def parts(self) -> tuple[str | int, ...]:
        return (_FORGET_NO,)


@dataclass(frozen=True, slots=True)
class PausePress(TypedPress):
    """A /pause duration: 1..365 days, or 0 (until she resumes)."""

    action = Action.PAUSE
    days: int

    def parts(self) -> tuple[str | int, ...]:
        return (self.days,)


@dataclass(frozen=True, slots=True)
class PauseOfferPress(TypedPress):
    """The pause offer's "Carry on"."""

    action = Action.PAUSE_OFFER

    def parts(self) -> tuple[str | int, ...]:
        return (_OFFER_GO,)


@dataclass(frozen=True, slots=True)
class BaselinePress(TypedPress):
    action = Action.BASELINE
    choice: Baseline

    def parts(self) -> tuple[str | int, ...]:
        return (self.choice,)


class NowPress(TypedPress):
    """ "Talking now": the menu, a moment's card, the listening timer, or /log."""

    __slots__ = ()
    action = Action.NOW


@dataclass(frozen=True, slots=True)
class NowMenu(NowPress):
    """ "Talking now" itself: the moment menu."""


@dataclass(frozen=True, slots=True)
class NowMoment(NowPress):
    moment: Moment

    def parts(self) -> tuple[str | int, ...]:
        return (self.moment,)


@dataclass(frozen=True, slots=True)
class NowTimer(NowPress):
    """Start the listening timer."""

    def parts(self) -> tuple[str | int, ...]:
        return (_NOW_TIMER,)


@dataclass(frozen=True, slots=True)
class NowLog(NowPress):
    """ "Log how it went": the /log question."""

    def parts(self) -> tuple[str | int, ...]:
        return (_NOW_LOG,)


@dataclass(frozen=True, slots=True)
class SafetyPress(TypedPress):
    """The safety card."""

    action = Action.SAFETY


@dataclass(frozen=True, slots=True)
class CardPress(TypedPress):
    """ "See another card": the other cards offered, as short codes of their ids."""

    action = Action.CARD
    codes: tuple[str, ...]

    def parts(self) -> tuple[str | int, ...]:
        return (CARD_CODE_SEP.join(self.codes),)

    @classmethod
    def fitting(cls, codes: tuple[str, ...]) -> CardPress | None:
        """The press with as many of ``codes`` as fit in a button; None for none."""
        while codes:
            press = cls(codes)
            try:
                press.encode()
            except CallbackDataTooLong:
                codes = codes[:-1]
                continue
            return press
        return None


@dataclass(frozen=True, slots=True)
class ClearPress(TypedPress):
    """Under a safety reply: clear the exchange (her message's id) from the chat."""

    action = Action.CLEAR
    message_id: int
    lang: LocaleCode

    def parts(self) -> tuple[str | int, ...]:
        return (self.message_id, self.lang)


@dataclass(frozen=True, slots=True)
class HoldPress(TypedPress):
    """Under a safety reply: keep the nudges paused, or carry on."""

    action = Action.HOLD
    choice: Hold
    lang: LocaleCode

    def parts(self) -> tuple[str | int, ...]:
        return (self.choice, self.lang)


class LanguagePress(TypedPress):
    """/language: the menu of languages, or one chosen."""

    __slots__ = ()
    action = Action.LANGUAGE


@dataclass(frozen=True, slots=True)
class LanguageMenu(LanguagePress):
    """The menu of languages (the row in /settings)."""


@dataclass(frozen=True, slots=True)
class SetLanguage(LanguagePress):
    """A language chosen."""

    language: LocaleCode

    def parts(self) -> tuple[str | int, ...]:
        return (self.language,)


# ---------------------------------------------------------------- parsing


def _set(press: Press) -> TypedPress | None:
    field = _member(Field, press.arg(0))
    arity = len(press.args)
    if field is Field.TIMEZONE and arity == 2:
        zone = press.args[1]
        return SetTimezone(zone) if valid_zone(zone) else None
    if field is Field.TIME and arity == 2:
        minute = _minute(press.int_arg(1))
        return SetNudgeTime(minute) if minute is not None else None
    if field is Field.PACE and arity == 2:
        pace = _PACES.get(press.args[1])
        return SetPace(pace) if pace is not None else None
    if field is Field.QUIET_HOURS and arity == 3:
        start, end = _minute(press.int_arg(1)), _minute(press.int_arg(2))
        if start is None or end is None or start == end:
            return None
        return SetQuietHours(start, end)
    if field is Field.CHECKIN_DAY and arity == 2:
        day = press.int_arg(1)
        return SetCheckinDay(day) if day is not None and day <= 6 else None
    return None


def _ask(press: Press) -> TypedPress | None:
    if len(press.args) != 1:
        return None
    target = _member(Field, press.args[0]) or _member(SettingsView, press.args[0])
    return AskPress(target) if target is not None else None


def _back(press: Press) -> TypedPress | None:
    return BackPress() if not press.args else None


def _nudge(press: Press) -> TypedPress | None:
    if len(press.args) != 2:
        return None
    outbox_id, op = press.int_arg(0), _member(Op, press.args[1])
    return NudgePress(outbox_id, op) if outbox_id is not None and op is not None else None


def _log(press: Press) -> TypedPress | None:
    step, arity = press.arg(0), len(press.args)
    if step == "o" and arity == 2:
        outcome = Response.parse(press.args[1])
        return LogOutcome(outcome) if outcome is not None and outcome.tried else None
    log_id = press.int_arg(1)
    if log_id is None:
        return None
    if step == "i" and arity == 3:
        item_id = press.args[2]
        return LogItem(log_id, None if item_id == _NO_ITEM else item_id)
    if step == "n" and arity == 2:
        return LogSkipNote(log_id)
    return None


def _forget(press: Press) -> TypedPress | None:
    if press.args == (_FORGET_NO,):
        return ForgetNo()
    if press.args == (_FORGET_YES,):
        return ForgetYes(None)
    if press.arg(0) == _FORGET_YES and len(press.args) == 2:
        asked = press.time_arg(1)
        return ForgetYes(asked) if asked is not None else None
    return None


def _pause(press: Press) -> TypedPress | None:
    days = press.int_arg(0) if len(press.args) == 1 else None
    return PausePress(days) if days is not None and days <= MAX_PAUSE_DAYS else None


def _pause_offer(press: Press) -> TypedPress | None:
    return PauseOfferPress() if press.args == (_OFFER_GO,) else None


def _baseline(press: Press) -> TypedPress | None:
    choice = _member(Baseline, press.arg(0)) if len(press.args) == 1 else None
    return BaselinePress(choice) if choice is not None else None


def _now(press: Press) -> TypedPress | None:
    if not press.args:
        return NowMenu()
    if len(press.args) != 1:
        return None
    choice = press.args[0]
    if choice == _NOW_TIMER:
        return NowTimer()
    if choice == _NOW_LOG:
        return NowLog()
    moment = _MOMENTS.get(choice)
    return NowMoment(moment) if moment is not None else None


def _safety(press: Press) -> TypedPress | None:
    return SafetyPress() if not press.args else None


def _card(press: Press) -> TypedPress | None:
    if len(press.args) != 1:
        return None
    codes = tuple(press.args[0].split(CARD_CODE_SEP))
    return CardPress(codes) if all(_ITEM_CODE.fullmatch(code) for code in codes) else None


def _clear(press: Press) -> TypedPress | None:
    if len(press.args) != 2:
        return None
    message_id, lang = press.int_arg(0), _LOCALES.get(press.args[1])
    return ClearPress(message_id, lang) if message_id is not None and lang is not None else None


def _hold(press: Press) -> TypedPress | None:
    if len(press.args) != 2:
        return None
    choice, lang = _member(Hold, press.args[0]), _LOCALES.get(press.args[1])
    return HoldPress(choice, lang) if choice is not None and lang is not None else None


def _language(press: Press) -> TypedPress | None:
    if not press.args:
        return LanguageMenu()
    chosen = _LOCALES.get(press.args[0]) if len(press.args) == 1 else None
    return SetLanguage(chosen) if chosen is not None else None


_PARSERS: Final[Mapping[Action, Callable[[Press], TypedPress | None]]] = {
    Action.SET: _set,
    Action.ASK: _ask,
    Action.BACK: _back,
    Action.NUDGE: _nudge,
    Action.LOG: _log,
    Action.FORGET: _forget,
    Action.PAUSE: _pause,
    Action.PAUSE_OFFER: _pause_offer,
    Action.BASELINE: _baseline,
    Action.NOW: _now,
    Action.SAFETY: _safety,
    Action.CARD: _card,
    Action.CLEAR: _clear,
    Action.HOLD: _hold,
    Action.LANGUAGE: _language,
}


def parse_press(press: Press) -> TypedPress | None:
    """The typed press a decoded one is, or None when its arguments are not a button's."""
    action = _member(Action, press.action)
    return _PARSERS[action](press) if action is not None else None


def parse(data: object) -> TypedPress | None:
    """The typed press callback data is, or None for anything invalid. Never raises."""
    press = decode(data)
    return parse_press(press) if press is not None else None


# ---------------------------------------------------------------- what she is asked


class Asking(StrEnum):
    """What her next typed message answers, as ``users.awaiting`` stores it."""

    TIMEZONE = Field.TIMEZONE.value
    TIME = Field.TIME.value
    QUIET_HOURS = Field.QUIET_HOURS.value
    NOTE = "note"  # the note of a logged conversation: stored with its id, "note:<id>"


@dataclass(frozen=True, slots=True)
class Awaiting:
    """An open typed question: a setting, or the note of one logged conversation."""

    asking: Asking
    log_id: int | None = None  # with Asking.NOTE only

    def __post_init__(self) -> None:
        if (self.asking is Asking.NOTE) != (self.log_id is not None):
            raise ValueError("a note question, and only one, has its log's id")

    @classmethod
    def note(cls, log_id: int) -> Awaiting:
        return cls(Asking.NOTE, log_id)

    @classmethod
    def setting(cls, field: Field) -> Awaiting | None:
        """The question for a setting she can type, or None for one she picks with buttons."""
        asking = _member(Asking, field.value) if field in TYPED_ANSWER_FIELDS else None
        return cls(asking) if asking is not None else None

    @property
    def field(self) -> Field | None:
        """The setting it asks for, if it is one."""
        return _member(Field, self.asking.value) if self.asking is not Asking.NOTE else None

    @property
    def code(self) -> str:
        """What ``users.awaiting`` stores: "tz", "tm", "qh" or "note:<id>"."""
        if self.log_id is not None:
            return f"{self.asking}{_SEP}{self.log_id}"
        return self.asking.value

    @classmethod
    def parse(cls, code: str | None) -> Awaiting | None:
        """A stored code back, or None (nothing asked, or a code Closer does not know)."""
        if code is None:
            return None
        head, sep, tail = code.partition(_SEP)
        asking = _member(Asking, head)
        if asking is None:
            return None
        if asking is not Asking.NOTE:
            return cls(asking) if not sep else None
        if not _NUMBER.fullmatch(tail) or len(tail) > 10 or int(tail) > MAX_INT:
            return None
        return cls.note(int(tail))

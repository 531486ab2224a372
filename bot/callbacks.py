"""Callback data: compact, versioned, and always treated as untrusted input.

Format: ``<version>:<action>:<arg>:<arg>...``, at most 64 bytes (Telegram's limit). Nothing in
it is trusted: :func:`decode` is the one gate every press goes through, and it returns None for
anything Closer could not have produced (wrong version, non-ASCII, lone surrogates, empty or
oversized parts, numbers a database column or a clock cannot hold); handlers then re-check every
id against the presser's own rows before acting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

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

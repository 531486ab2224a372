"""Callback data: compact, versioned, and always treated as untrusted input.

Format: ``<version>:<action>:<arg>:<arg>...``, at most 64 bytes (Telegram's limit). Nothing in
it is trusted: handlers re-check every id against the presser's own rows before acting.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

VERSION = "1"
MAX_BYTES = 64
_SEP = ":"


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


class CallbackDataTooLong(ValueError):
    """Raised when a button would carry more than Telegram's 64 bytes."""


@dataclass(frozen=True)
class Press:
    """A decoded button press: an action and its string arguments."""

    action: str
    args: tuple[str, ...]

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None

    def int_arg(self, index: int) -> int | None:
        value = self.arg(index)
        if value is None or not (value.isascii() and value.isdigit()) or len(value) > 18:
            return None
        return int(value)


def encode(action: str, *args: str | int) -> str:
    """Build callback data for a button; refuses anything Telegram would reject."""
    parts = [VERSION, action, *(str(a) for a in args)]
    if any(_SEP in part for part in parts):
        raise ValueError("callback parts must not contain ':'")
    data = _SEP.join(parts)
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise CallbackDataTooLong(f"callback data of {len(data.encode())} bytes")
    return data


def decode(data: object) -> Press | None:
    """Decode callback data, or None when it is malformed, foreign or from another version."""
    if not isinstance(data, str) or not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    parts = data.split(_SEP)
    if len(parts) < 2 or parts[0] != VERSION or not parts[1]:
        return None
    return Press(action=parts[1], args=tuple(parts[2:]))


def pattern(action: str) -> str:
    """The regular expression a CallbackQueryHandler uses to take one action's presses."""
    return rf"^{VERSION}{_SEP}{action}(?:{_SEP}|$)"

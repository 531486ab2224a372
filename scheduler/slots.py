"""Local-time arithmetic for nudge slots: quiet hours, jitter and daylight-saving changes.

Everything here is pure. A "minute" is minutes after local midnight (0..1439); quiet hours are the
half-open window ``[quiet_start, quiet_end)`` that wraps midnight when ``quiet_start > quiet_end``
and is empty when the two are equal.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
JITTER_MINUTES = 10
"""A slot lands at most this many minutes before or after the user's (quiet-adjusted) time."""


def require_aware(moment: datetime, name: str = "datetime") -> datetime:
    """Return ``moment`` in UTC, refusing naive datetimes (their zone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC)


def check_minute(minute: int, name: str) -> None:
    """Refuse a minute-of-day outside 0..1439."""
    if not 0 <= minute < MINUTES_PER_DAY:
        raise ValueError(f"{name} must be in 0..{MINUTES_PER_DAY - 1}, got {minute}")


def is_quiet(minute: int, quiet_start: int, quiet_end: int) -> bool:
    """Whether a local minute-of-day falls in the quiet window."""
    if quiet_start == quiet_end:
        return False
    if quiet_start < quiet_end:
        return quiet_start <= minute < quiet_end
    return minute >= quiet_start or minute < quiet_end


def allowed_ranges(quiet_start: int, quiet_end: int) -> list[tuple[int, int]]:
    """The half-open minute ranges of one local day that lie outside quiet hours."""
    if quiet_start == quiet_end:
        return [(0, MINUTES_PER_DAY)]
    if quiet_start < quiet_end:
        ranges = [(0, quiet_start), (quiet_end, MINUTES_PER_DAY)]
        return [(lo, hi) for lo, hi in ranges if lo < hi]
    return [(quiet_end, quiet_start)]


def _nearest_allowed(minute: int, quiet_start: int, quiet_end: int) -> tuple[int, tuple[int, int]]:
    """The allowed minute of the same day nearest to ``minute``, with the range holding it.

    On a tie the later minute wins: moving a nudge forward is what a user expects.
    """
    best: tuple[int, int, tuple[int, int]] | None = None  # (distance, -minute, range)
    for lo, hi in allowed_ranges(quiet_start, quiet_end):
        if lo <= minute < hi:
            return minute, (lo, hi)
        candidate = lo if minute < lo else hi - 1
        key = (abs(candidate - minute), -candidate, (lo, hi))
        if best is None or key < best:
            best = key
    if best is None:  # unreachable: quiet hours never cover a whole day
        raise ValueError("quiet hours leave no allowed minute")
    return -best[1], best[2]


def nearest_allowed_minute(minute: int, quiet_start: int, quiet_end: int) -> int:
    """The user's time moved out of quiet hours to the nearest allowed minute of the same day."""
    return _nearest_allowed(minute, quiet_start, quiet_end)[0]


def jitter_for(seed: int, day: date, spread: int = JITTER_MINUTES) -> int:
    """A reproducible offset in ``-spread..spread`` minutes for one user (seed) on one local day.

    Derived from a hash of the seed and the ISO date, so it is stable across processes and
    restarts (unlike ``hash()``) and differs from day to day.
    """
    if spread <= 0:
        return 0
    digest = hashlib.blake2b(f"{seed}:{day.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (2 * spread + 1) - spread


def slot_minute(base_minute: int, jitter: int, quiet_start: int, quiet_end: int) -> int:
    """The local minute of a slot: the base moved out of quiet hours, then jittered.

    The jitter is clamped to the allowed range that holds the moved base, so it never pushes the
    slot into quiet hours or onto another day.
    """
    base, (lo, hi) = _nearest_allowed(base_minute, quiet_start, quiet_end)
    return min(max(base + jitter, lo), hi - 1)


def local_minute(moment: datetime, zone: ZoneInfo) -> int:
    """Minutes after local midnight of an aware datetime in ``zone``."""
    local = moment.astimezone(zone)
    return local.hour * 60 + local.minute


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """The local calendar day of an aware datetime in ``zone``."""
    return moment.astimezone(zone).date()


def resolve_local(day: date, minute: int, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of wall time ``minute`` on local ``day``, or None if not on that day.

    An ambiguous wall time (clocks going back) is taken once, at its first occurrence (fold=0).
    A wall time inside a spring-forward gap moves forward by the length of the gap (PEP 495
    semantics for fold=0: the same time elapsed since the day began), e.g. 02:30 becomes 03:30.
    None is returned when that lands on another day, as on a day a zone skipped entirely.
    """
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).date() != day:
        return None
    return instant

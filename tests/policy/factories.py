"""Small builders shared by the policy tests: a catalog item type and local-time helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from scheduler.policy import ScheduleSettings


@dataclass(frozen=True)
class Item:
    """A content item with exactly the attributes the policy reads."""

    id: str
    kind: Literal["step", "variant", "tip", "insight", "script"]
    step: int
    supportive: bool = False
    variant_of: str | None = None


def catalog(*, variants: int = 3) -> list[Item]:
    """Four steps, each with ``variants`` variants, two tips (the second supportive) and one
    insight; plus a script for step 1 (never scheduled)."""
    items: list[Item] = []
    for step in range(1, 5):
        items.append(Item(f"step-{step}", "step", step))
        for letter in "xyzw"[:variants]:
            items.append(Item(f"step-{step}{letter}", "variant", step, variant_of=f"step-{step}"))
        items.append(Item(f"tip-{step}a", "tip", step))
        items.append(Item(f"tip-{step}b", "tip", step, supportive=True))
        items.append(Item(f"insight-{step}", "insight", step))
    items.append(Item("script-1", "script", 1))
    return items


def local(
    zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    """A local wall time in ``zone`` as an aware UTC datetime."""
    wall = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)
    return wall.astimezone(UTC)


def settings(**overrides: object) -> ScheduleSettings:
    """Settings with a quiet default: New York, 19:00, steady, Sunday check-in."""
    values: dict[str, object] = {
        "timezone": "America/New_York",
        "nudge_minute": 19 * 60,
        "pace": "steady",
    }
    values.update(overrides)
    return ScheduleSettings(**values)  # type: ignore[arg-type]


FEATURED_ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kolkata",  # no DST, half-hour offset
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",  # transitions at midnight
    "Europe/Dublin",  # negative DST in the tz database
    "Africa/Casablanca",  # DST suspended during Ramadan
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Asia/Tehran",
]
ALL_ZONES = sorted(z for z in available_timezones() if not z.startswith(("right/", "posix/")))

"""Her progress on screen: the /progress report (a caption, and a chart once two weeks have
data), the look back after a weekly check-in, and the baseline offer at the end of onboarding.

The numbers come from ``bot.reports`` (pure functions of her records); the chart is rendered off
the event loop.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Baseline, BaselinePress
from bot.nudges import local_time_label
from bot.reports import look_back, look_back_input, progress_report, summarize_weeks
from bot.usecases.progress import LookBackRecords, ProgressFacts
from content import Library
from content.report_texts import CAPTION_LIMIT
from content.translations import report_texts_in
from scheduler.policy import unlocked_steps


@dataclass(frozen=True, slots=True)
class ProgressScreen:
    """/progress as sent: the text alone, or a chart with the text as its caption."""

    text: str
    png: bytes | None
    filename: str
    weeks: int


async def progress_screen(facts: ProgressFacts, library: Library, now: datetime) -> ProgressScreen:
    """Her story so far in words, with a chart once two weeks have data (rendered in a thread)."""
    settings, counts = facts.settings, facts.counts
    zone = ZoneInfo(settings.timezone)
    weeks = summarize_weeks(
        facts.logs, facts.answers, library.polls, zone, until=now.astimezone(zone).date()
    )
    texts = report_texts_in(library.language)
    report = await asyncio.to_thread(functools.partial(progress_report, weeks, texts=texts))
    unlocked = unlocked_steps(library.all_items(), facts.states, now)
    text_of = library.render_text
    extra = [
        text_of("progress_steps_open", open=len(unlocked), total=len(library.steps)),
        text_of("progress_nudges_answered", answered=counts.answered, sent=counts.sent),
    ]
    if counts.checkins_sent:
        extra.append(
            text_of(
                "progress_checkins_answered",
                answered=counts.checkins_answered,
                sent=counts.checkins_sent,
            )
        )
    if settings.paused_until is not None and settings.paused_until > now:
        until = local_time_label(settings.paused_until, settings.timezone, library)
        extra.append(text_of("progress_paused_until", until=until))
    elif counts.next_due is not None:
        when = local_time_label(counts.next_due, settings.timezone, library)
        extra.append(text_of("progress_next_nudge", when=when))
    if not facts.logs:
        extra.append(text_of("progress_log_hint"))
    text = report.caption + "\n\n" + "\n".join(extra)
    if report.png is not None and len(text) > CAPTION_LIMIT:
        text = report.caption
    filename = f"closer-progress-{now.astimezone(zone):%Y-%m-%d}.png"
    return ProgressScreen(text, report.png, filename, len(weeks))


def look_back_text(records: LookBackRecords, library: Library) -> str:
    """The short look back on her week, sent after the answer that completes a check-in."""
    zone = ZoneInfo(records.timezone)
    return look_back(
        look_back_input(records.logs, records.answers, library.polls, zone, records.week_of),
        report_texts_in(library.language),
    )


def baseline_keyboard(library: Library | None = None) -> InlineKeyboardMarkup:
    texts = report_texts_in(library.language if library is not None else "en")
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.plain("baseline_go"), callback_data=BaselinePress(Baseline.GO).encode()
                ),
                InlineKeyboardButton(
                    texts.plain("baseline_skip"),
                    callback_data=BaselinePress(Baseline.SKIP).encode(),
                ),
            ]
        ]
    )


def baseline_offer(library: Library) -> tuple[str, InlineKeyboardMarkup]:
    """At the end of onboarding: the three starting-point questions offered, skippable."""
    texts = report_texts_in(library.language)
    return texts.render("baseline_intro"), baseline_keyboard(library)

"""The short look back sent after each weekly check-in: a pure function of plain data.

What she did this week (conversations and how they went), how her answers moved since last week
and since she started, and one thing to try next week. Nothing in it scores him, and a quiet week
gets a kind word, not a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.reports.records import LogRecord, PollAnswerRecord
from bot.reports.weeks import (
    baseline_scores,
    local_week,
    scale_top,
    summarize_weeks,
    week_start,
)
from content.models import MEASURES, Measure, PollQuestion
from content.report_texts import ReportTexts, default_report_texts
from scheduler.policy import TRIED_OUTCOMES

# At or below this score (of 4: "struggling a bit") her own well-being comes first in the tip.
LOW_SCORE = 2


@dataclass(frozen=True, slots=True)
class LookBackInput:
    """What the look back is made of; build it with ``look_back_input`` from her history."""

    logs: Sequence[LogRecord]  # this week's logged conversations
    this_week: Mapping[Measure, float]
    last_week: Mapping[Measure, float]
    baseline: Mapping[Measure, float]
    top: int = 4  # the top of the answer scale (polls.yaml's highest score)


@dataclass(frozen=True, slots=True)
class MeasureChange:
    """How one measure moved between two points."""

    measure: Measure
    before: float
    after: float

    @property
    def delta(self) -> float:
        """After minus before, to one decimal (so float noise never reads as a change)."""
        return round(self.after - self.before, 1)


@dataclass(frozen=True, slots=True)
class LookBackFacts:
    """The numbers the look back says, for tests and for anyone who wants them as data."""

    conversations: int
    by_outcome: Mapping[str, int]  # every logged outcome, in TRIED_OUTCOMES order
    answered: bool  # whether she answered any measure this week
    since_last_week: tuple[MeasureChange, ...]
    since_baseline: tuple[MeasureChange, ...]
    suggestion: str  # a report text key: "try_for_you", "try_after_hard", ...


def _changes(
    before: Mapping[Measure, float], after: Mapping[Measure, float]
) -> tuple[MeasureChange, ...]:
    return tuple(
        MeasureChange(m, before[m], after[m]) for m in MEASURES if m in before and m in after
    )


def _suggestion(
    data: LookBackInput, by_outcome: Mapping[str, int], since_last: Sequence[MeasureChange]
) -> str:
    dropped = {change.measure for change in since_last if change.delta < 0}
    wellbeing = data.this_week.get("wellbeing")
    if (wellbeing is not None and wellbeing <= LOW_SCORE) or "wellbeing" in dropped:
        return "try_for_you"
    if by_outcome["hard"]:
        return "try_after_hard"
    if not data.logs:
        return "try_small_start"
    confidence = data.this_week.get("confidence")
    if (confidence is not None and confidence <= LOW_SCORE) or "confidence" in dropped:
        return "try_confidence"
    return "try_keep_going"


def look_back_facts(data: LookBackInput) -> LookBackFacts:
    """The look back's numbers and its one suggestion, from this week's data."""
    by_outcome: dict[str, int] = {outcome: 0 for outcome in TRIED_OUTCOMES}
    for log in data.logs:
        by_outcome[log.outcome] = by_outcome.get(log.outcome, 0) + 1
    since_last = _changes(data.last_week, data.this_week)
    return LookBackFacts(
        conversations=len(data.logs),
        by_outcome=by_outcome,
        answered=bool(data.this_week),
        since_last_week=since_last,
        since_baseline=_changes(data.baseline, data.this_week),
        suggestion=_suggestion(data, by_outcome, since_last),
    )


def format_score(value: float) -> str:
    """A score as she reads it: "3", or "2.5" for a mean."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def breakdown(by_outcome: Mapping[str, int], texts: ReportTexts) -> str:
    """ "2 went well, 1 hard": the outcomes she logged, zeros left out (plain text)."""
    return ", ".join(
        texts.plain(f"count_{outcome}", count=count)
        for outcome, count in by_outcome.items()
        if count and f"count_{outcome}" in texts.texts
    )


def _describe(changes: Sequence[MeasureChange], top: int, texts: ReportTexts) -> str:
    parts = []
    for change in changes:
        measure = texts.plain(f"measure_{change.measure}")
        after = format_score(change.after)
        if change.delta > 0:
            key, extra = "change_up", {"before": format_score(change.before)}
        elif change.delta < 0:
            key, extra = "change_down", {"before": format_score(change.before)}
        else:
            key, extra = "change_same", {}
        parts.append(texts.plain(key, measure=measure, after=after, top=top, **extra))
    return "; ".join(parts)


def render_look_back(
    facts: LookBackFacts, *, top: int = 4, texts: ReportTexts | None = None
) -> str:
    """The look back as Telegram HTML (parse_mode=HTML), everything escaped."""
    texts = texts or default_report_texts()
    lines = [f"<b>{texts.render('lookback_title')}</b>", ""]
    counted = breakdown(facts.by_outcome, texts)
    if facts.conversations == 0:
        lines.append(texts.render("lookback_logs_none"))
    elif facts.conversations == 1:
        lines.append(texts.render("lookback_logs_one", breakdown=counted))
    else:
        lines.append(texts.render("lookback_logs", count=facts.conversations, breakdown=counted))
    lines.append("")
    if not facts.answered:
        lines.append(texts.render("lookback_no_answers"))
    else:
        if facts.since_last_week:
            changes = _describe(facts.since_last_week, top, texts)
            lines.append(texts.render("lookback_since_last_week", changes=changes))
        if facts.since_baseline:
            changes = _describe(facts.since_baseline, top, texts)
            lines.append(texts.render("lookback_since_baseline", changes=changes))
    if lines[-1] != "":
        lines.append("")
    lines.append(texts.render("lookback_try", suggestion=texts.plain(facts.suggestion)))
    return "\n".join(lines)


def look_back(data: LookBackInput, texts: ReportTexts | None = None) -> str:
    """The whole look back for this week, as Telegram HTML."""
    return render_look_back(look_back_facts(data), top=data.top, texts=texts)


def look_back_input(
    logs: Sequence[LogRecord],
    answers: Sequence[PollAnswerRecord],
    polls: Sequence[PollQuestion],
    zone: ZoneInfo,
    week_of: date,
) -> LookBackInput:
    """The look back's input for the local week holding ``week_of``, from her whole history."""
    start = week_start(week_of)
    weeks = {w.start: w for w in summarize_weeks(logs, answers, polls, zone, until=week_of)}
    this, last = weeks.get(start), weeks.get(start - timedelta(days=7))
    return LookBackInput(
        logs=[log for log in logs if local_week(log.logged_at, zone) == start],
        this_week=dict(this.scores) if this else {},
        last_week=dict(last.scores) if last else {},
        baseline=baseline_scores(answers, polls),
        top=scale_top(polls),
    )

"""Her history, week by week: measure scores and logged conversations per local week.

Weeks run Monday to Sunday in her time zone. A check-in answer belongs to the week its poll was
sent in (she may answer on Monday a check-in sent on Sunday), and only her latest answer to a
poll counts (a retracted vote counts as no answer).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import fmean
from zoneinfo import ZoneInfo

from bot.reports.records import LogRecord, PollAnswerRecord
from content.models import MEASURES, Measure, PollQuestion

# How much one week moves the practice figure (an exponential moving average of "weeks with at
# least one try"): recent weeks count most, one quiet week takes off a fifth, never everything.
CONSISTENCY_WEIGHT = 0.2


@dataclass(frozen=True, slots=True)
class WeekSummary:
    """One week of hers: the mean score per measure answered, and conversations by outcome."""

    start: date  # the Monday, in her zone
    scores: Mapping[Measure, float] = field(default_factory=dict)
    went_well: int = 0
    mixed: int = 0
    hard: int = 0

    @property
    def conversations(self) -> int:
        """Conversations she logged that week."""
        return self.went_well + self.mixed + self.hard

    @property
    def has_data(self) -> bool:
        """Whether she answered a check-in or logged a conversation that week."""
        return bool(self.scores) or self.conversations > 0


def week_start(day: date) -> date:
    """The Monday of the week holding ``day``."""
    return day - timedelta(days=day.weekday())


def local_week(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday of the local week holding the aware ``moment``."""
    return week_start(moment.astimezone(zone).date())


def scale_top(polls: Iterable[PollQuestion]) -> int:
    """The highest score any measured question gives (the top of the charts' scale)."""
    return max((max(p.scores) for p in polls if p.scores), default=1)


def latest_scores(
    answers: Iterable[PollAnswerRecord], polls: Mapping[str, PollQuestion], uses: frozenset[str]
) -> list[tuple[PollAnswerRecord, Measure, int]]:
    """Each sent poll's latest answer with its measure and score, for questions of ``uses``.

    Retracted votes, unknown questions and questions without a measure are left out.
    """
    latest: dict[int, PollAnswerRecord] = {}
    for answer in answers:  # later answers win; ties keep the later record
        known = latest.get(answer.sent_poll_id)
        if known is None or answer.answered_at >= known.answered_at:
            latest[answer.sent_poll_id] = answer
    scored: list[tuple[PollAnswerRecord, Measure, int]] = []
    for answer in latest.values():
        question = polls.get(answer.question_id)
        if question is None or question.measure is None or question.use not in uses:
            continue
        score = question.score(answer.option_ids)
        if score is not None:
            scored.append((answer, question.measure, score))
    return scored


# Weekly questions, and retired ones that had a measure: their old answers still join the trend.
_WEEKLY_USES = frozenset({"weekly", "retired"})


def summarize_weeks(
    logs: Iterable[LogRecord],
    answers: Iterable[PollAnswerRecord],
    polls: Sequence[PollQuestion],
    zone: ZoneInfo,
    *,
    until: date | None = None,
) -> list[WeekSummary]:
    """Her weeks from the first with any data to ``until``'s week (or the last with data).

    Weeks with nothing in them are included, so the practice figure sees quiet weeks too.
    """
    by_id = {p.id: p for p in polls}
    scores: dict[date, dict[Measure, list[int]]] = defaultdict(lambda: defaultdict(list))
    for answer, measure, score in latest_scores(answers, by_id, _WEEKLY_USES):
        scores[local_week(answer.sent_at, zone)][measure].append(score)
    outcomes: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for log in logs:
        outcomes[local_week(log.logged_at, zone)][log.outcome] += 1
    starts = set(scores) | set(outcomes)
    if not starts:
        return []
    first = min(starts)
    last = max(max(starts), week_start(until)) if until is not None else max(starts)
    weeks: list[WeekSummary] = []
    start = first
    while start <= last:
        counted = outcomes.get(start, {})
        weeks.append(
            WeekSummary(
                start=start,
                scores={
                    m: fmean(scores[start][m]) for m in MEASURES if scores.get(start, {}).get(m)
                },
                went_well=counted.get("went_well", 0),
                mixed=counted.get("mixed", 0),
                hard=counted.get("hard", 0),
            )
        )
        start += timedelta(days=7)
    return weeks


def baseline_scores(
    answers: Iterable[PollAnswerRecord], polls: Sequence[PollQuestion]
) -> dict[Measure, float]:
    """Her baseline per measure: the latest answered baseline poll of each measure."""
    by_id = {p.id: p for p in polls}
    latest: dict[Measure, tuple[datetime, int]] = {}
    for answer, measure, score in latest_scores(answers, by_id, frozenset({"baseline"})):
        if measure not in latest or answer.answered_at >= latest[measure][0]:
            latest[measure] = (answer.answered_at, score)
    return {m: float(latest[m][1]) for m in MEASURES if m in latest}


def consistency(weeks: Sequence[WeekSummary]) -> list[float]:
    """Practice strength after each week, 0 to 1: a moving average of weeks with a try.

    Starts at 0; each week moves it ``CONSISTENCY_WEIGHT`` of the way towards 1 (a week with at
    least one logged conversation) or 0 (a week without). No streak to break.
    """
    values: list[float] = []
    strength = 0.0
    for week in weeks:
        tried = 1.0 if week.conversations > 0 else 0.0
        strength += CONSISTENCY_WEIGHT * (tried - strength)
        values.append(strength)
    return values

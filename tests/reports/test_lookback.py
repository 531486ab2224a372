"""The look back after a check-in: its numbers, checked by hand against a seeded history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.reports.lookback import (
    LookBackInput,
    MeasureChange,
    look_back,
    look_back_facts,
    look_back_input,
)
from bot.reports.records import LogRecord, PollAnswerRecord
from bot.reports.weeks import CONSISTENCY_WEIGHT, WeekSummary, consistency, summarize_weeks
from content import Library
from content.render import visible_text
from content.report_texts import ReportTexts

BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 all of November 2026


def berlin(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


class History:
    """A seeded history: answers numbered as the storage layer numbers sent polls."""

    def __init__(self) -> None:
        self.answers: list[PollAnswerRecord] = []
        self.next_poll = 1

    def poll(self, question_id: str, sent: datetime, *answers: tuple[datetime, list[int]]) -> None:
        for answered, options in answers:
            self.answers.append(
                PollAnswerRecord(self.next_poll, question_id, sent, tuple(options), answered)
            )
        self.next_poll += 1


def seeded() -> tuple[list[LogRecord], list[PollAnswerRecord]]:
    h = History()
    # Baseline at the end of onboarding, Thursday 5 November; she changed her first answer.
    onboarding = berlin(5, 20)
    h.poll("baseline-connected", onboarding, (berlin(5, 20, 1), [2]), (berlin(5, 20, 3), [3]))
    h.poll("baseline-confidence", onboarding, (berlin(5, 20, 2), [3]))
    h.poll("baseline-wellbeing", onboarding, (berlin(5, 20, 2), [1]))
    # Last week's check-in (week of Monday 16 November), sent on Sunday the 22nd.
    sunday = berlin(22, 18)
    h.poll("connection-this-week", sunday, (berlin(22, 19), [1]))
    h.poll("confidence-this-week", sunday, (berlin(22, 19), [2]))
    h.poll("wellbeing-this-week", sunday, (berlin(22, 19), [1]))
    h.poll("what-helped", sunday, (berlin(22, 19), [0]))
    # This week's (week of Monday 23 November): sent late on Sunday the 29th, answered Monday.
    late = berlin(29, 23, 30)
    h.poll("connection-this-week", late, (berlin(30, 8), [0]))
    h.poll("confidence-this-week", late, (berlin(30, 8), [1]))
    h.poll("wellbeing-this-week", late, (berlin(30, 8), [1]), (berlin(30, 9), []))  # retracted
    h.poll("closest-moment", late, (berlin(30, 8), [2]))
    # An old, retired question: shown in the export, no part of any score.
    h.poll("how-are-you", berlin(22, 18), (berlin(22, 19), [3]))
    logs = [
        LogRecord(berlin(18, 20), "went_well", item_id="five-minute-rule"),
        # 00:15 on Monday the 23rd in Berlin is still Sunday the 22nd in UTC: this week.
        LogRecord(berlin(23, 0, 15), "mixed", step=2),
        LogRecord(berlin(24, 20), "went_well", note="He told me about work"),
        LogRecord(berlin(27, 21), "hard", item_id="go-first"),
        # 00:30 on Monday the 30th in Berlin is Sunday the 29th in UTC: next week, not this.
        LogRecord(berlin(30, 0, 30), "went_well"),
    ]
    return logs, h.answers


def test_the_look_back_numbers_match_the_hand_count(library: Library) -> None:
    logs, answers = seeded()
    data = look_back_input(logs, answers, library.polls, BERLIN, date(2026, 11, 29))
    # By hand: this week's logs are the 23rd (mixed), 24th (went well) and 27th (hard).
    assert sorted(log.logged_at for log in data.logs) == [
        berlin(23, 0, 15),
        berlin(24, 20),
        berlin(27, 21),
    ]
    # Scores (4 = best): "Very connected" 4, "Fairly confident" 3, well-being retracted.
    assert data.this_week == {"connected": 4, "confidence": 3}
    # Last week: "Somewhat connected" 3, "A little unsure" 2, "I'm okay" 3.
    assert data.last_week == {"connected": 3, "confidence": 2, "wellbeing": 3}
    # Baseline: connected changed to "Very distant" 1, "Not confident yet" 1, "I'm okay" 3.
    assert data.baseline == {"connected": 1, "confidence": 1, "wellbeing": 3}
    assert data.top == 4

    facts = look_back_facts(data)
    assert facts.conversations == 3
    assert dict(facts.by_outcome) == {"went_well": 1, "mixed": 1, "hard": 1}
    assert facts.since_last_week == (
        MeasureChange("connected", 3, 4),
        MeasureChange("confidence", 2, 3),
    )
    assert [c.delta for c in facts.since_baseline] == [3, 2]
    assert facts.suggestion == "try_after_hard"


def test_the_look_back_message_says_those_numbers_kindly(
    library: Library, texts: ReportTexts
) -> None:
    logs, answers = seeded()
    message = look_back(look_back_input(logs, answers, library.polls, BERLIN, date(2026, 11, 29)))
    shown = visible_text(message)
    print(f"\n{shown}\n({len(shown)} characters)")
    assert "You logged 3 conversations this week (1 went well, 1 mixed, 1 hard)" in shown
    assert (
        "Since last week: Feeling connected up, 3 to 4 of 4; Confidence up, 2 to 3 of 4." in shown
    )
    assert (
        "Since you started: Feeling connected up, 1 to 4 of 4; Confidence up, 1 to 3 of 4." in shown
    )
    assert texts.plain("try_after_hard") in shown
    assert len(shown) <= 700


def test_the_weeks_put_each_answer_and_log_in_her_local_week(library: Library) -> None:
    logs, answers = seeded()
    weeks = summarize_weeks(logs, answers, library.polls, BERLIN, until=date(2026, 12, 1))
    assert [w.start for w in weeks] == [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]
    assert [(w.went_well, w.mixed, w.hard) for w in weeks] == [(1, 0, 0), (1, 1, 1), (1, 0, 0)]
    assert [dict(w.scores) for w in weeks] == [
        {"connected": 3, "confidence": 2, "wellbeing": 3},
        {"connected": 4, "confidence": 3},
        {},
    ]


def test_a_quiet_week_gets_a_kind_word_and_no_count() -> None:
    data = LookBackInput(
        logs=[],
        this_week={"connected": 2, "confidence": 3, "wellbeing": 3},
        last_week={"connected": 3, "confidence": 3, "wellbeing": 3},
        baseline={},
    )
    facts = look_back_facts(data)
    assert facts.suggestion == "try_small_start"
    shown = visible_text(look_back(data))
    assert "No conversations logged this week. That's okay" in shown
    assert "Feeling connected a little lower, 3 to 2 of 4" in shown
    assert "Confidence steady at 3 of 4" in shown
    assert "Since you started" not in shown  # no baseline: no line
    for word in ("fail", "missed", "streak", "should have", "only 0"):
        assert word not in shown.lower()


@pytest.mark.parametrize(
    ("this_week", "last_week", "outcome", "expected"),
    [
        ({"wellbeing": 2}, {}, "went_well", "try_for_you"),
        ({"wellbeing": 3}, {"wellbeing": 4}, "hard", "try_for_you"),  # her first, then his
        ({"confidence": 2, "wellbeing": 4}, {}, "went_well", "try_confidence"),
        ({"confidence": 3, "wellbeing": 4}, {"confidence": 4}, "mixed", "try_confidence"),
        ({"confidence": 4, "wellbeing": 4}, {}, "went_well", "try_keep_going"),
    ],
)
def test_the_one_thing_to_try_follows_her_answers(
    this_week: dict[str, float], last_week: dict[str, float], outcome: str, expected: str
) -> None:
    data = LookBackInput(
        logs=[LogRecord(berlin(24, 20), outcome)],
        this_week=this_week,  # type: ignore[arg-type]
        last_week=last_week,  # type: ignore[arg-type]
        baseline={},
    )
    assert look_back_facts(data).suggestion == expected


def test_a_skipped_check_in_is_no_problem() -> None:
    data = LookBackInput(logs=[], this_week={}, last_week={"connected": 3}, baseline={})
    shown = visible_text(look_back(data))
    assert "No problem" in shown and "Since last week" not in shown


def test_one_quiet_week_barely_moves_practice() -> None:
    busy = [WeekSummary(date(2026, 1, 5), went_well=1)] * 10
    before = consistency(busy)[-1]
    after = consistency([*busy, WeekSummary(date(2026, 3, 16))])[-1]
    assert after == pytest.approx(before * (1 - CONSISTENCY_WEIGHT))
    assert after > 0.7  # ten weeks of practice are not undone by one quiet week
    assert consistency([]) == []

"""Check-ins measure the same things each week; old questions stay, retired, for old answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.reports.questions import baseline_questions, weekly_questions
from content import ContentError, Library, load_library
from content.models import MEASURES
from tests.content.datafiles import copy_data, entry, read_yaml, write_yaml

RETIRED = ("opened-up-this-week", "most-doable-step", "how-are-you")


def test_every_week_asks_the_three_measures_in_order_then_one_rotating_question(
    library: Library,
) -> None:
    rotating_seen = set()
    for week in range(1, 54):
        questions = weekly_questions(library.polls, week)
        assert [q.measure for q in questions[:3]] == list(MEASURES)
        assert all(q.use == "weekly" for q in questions[:3])
        assert len(questions) == 4 and questions[3].use == "rotating"
        rotating_seen.add(questions[3].id)
    rotating = {p.id for p in library.polls if p.use == "rotating"}
    assert rotating_seen == rotating
    # Consecutive weeks never repeat the rotating question.
    for week in range(1, 53):
        assert (
            weekly_questions(library.polls, week)[3] != weekly_questions(library.polls, week + 1)[3]
        )


def test_the_baseline_asks_each_measure_once_on_the_weekly_scale(library: Library) -> None:
    baseline = baseline_questions(library.polls)
    assert [q.measure for q in baseline] == list(MEASURES)
    weekly = weekly_questions(library.polls, 1)[:3]
    for start, week in zip(baseline, weekly, strict=True):
        assert start.scores == week.scores
        assert start.options == week.options


def test_retired_questions_are_never_sent_but_still_found_with_their_options(
    library: Library,
) -> None:
    sent = {q.id for week in range(1, 54) for q in weekly_questions(library.polls, week)}
    sent |= {q.id for q in baseline_questions(library.polls)}
    for poll_id in RETIRED:
        poll = library.poll(poll_id)
        assert poll.use == "retired" and poll_id not in sent
        assert poll.options


def test_every_measured_question_scores_its_options_in_order(library: Library) -> None:
    measured = [p for p in library.polls if p.measure is not None]
    assert measured
    for poll in measured:
        assert poll.scores is not None and len(poll.scores) == len(poll.options)
        assert list(poll.scores) == sorted(poll.scores, reverse=True), poll.id
        assert poll.score([0]) == max(poll.scores)
        assert poll.score([]) is None  # a retracted vote
        assert poll.score([len(poll.options)]) is None  # a position that does not exist


def _break_polls(tmp_path: Path, change: str) -> str:
    directory = copy_data(tmp_path)
    polls = read_yaml(directory, "polls.yaml")
    if change == "no scores":
        del entry(polls, "confidence-this-week")["scores"]
    elif change == "scores out of order":
        entry(polls, "confidence-this-week")["scores"] = [4, 2, 3, 1]
    elif change == "two weekly for one measure":
        entry(polls, "what-helped").update(
            use="weekly", measure="connected", scores=[5, 4, 3, 2, 1]
        )
    elif change == "baseline on another scale":
        entry(polls, "baseline-wellbeing")["scores"] = [8, 6, 4, 2]
    with pytest.raises(ContentError) as caught:
        write_yaml(directory, "polls.yaml", polls)
        load_library(directory)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("no scores", "scores: give scores exactly when the question has a measure"),
        ("scores out of order", "scores: must rise or fall strictly"),
        ("two weekly for one measure", "measure 'connected': needs exactly one weekly question"),
        ("baseline on another scale", "measure 'wellbeing': its weekly and baseline questions"),
    ],
)
def test_a_broken_measure_is_reported(tmp_path: Path, change: str, fragment: str) -> None:
    assert fragment in _break_polls(tmp_path, change)

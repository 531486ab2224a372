"""Which check-in questions go out: the weekly measures plus one rotating question, or the baseline.

Pure functions of the content's poll list (``Library.polls``, which also holds retired questions
so that stored answers can still be shown).
"""

from __future__ import annotations

from collections.abc import Sequence

from content.models import MEASURES, PollQuestion


def weekly_questions(polls: Sequence[PollQuestion], week_number: int) -> list[PollQuestion]:
    """This week's check-in: every weekly measure (in measure order), then one rotating question.

    The rotating question is chosen by ``week_number`` (e.g. the ISO week), so a retry of the same
    check-in asks the same one and consecutive weeks ask different ones.
    """
    weekly = sorted(
        (p for p in polls if p.use == "weekly"),
        key=lambda p: MEASURES.index(p.measure) if p.measure is not None else len(MEASURES),
    )
    rotating = [p for p in polls if p.use == "rotating"]
    if rotating:
        weekly.append(rotating[week_number % len(rotating)])
    return weekly


def baseline_questions(polls: Sequence[PollQuestion]) -> list[PollQuestion]:
    """The baseline asked once at the end of onboarding (skippable): one per measure."""
    return sorted(
        (p for p in polls if p.use == "baseline"),
        key=lambda p: MEASURES.index(p.measure) if p.measure is not None else len(MEASURES),
    )

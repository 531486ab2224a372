"""Typed shapes of the content: items (steps, tips, insights), poll questions and text keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

# Telegram's limits (Bot API: sendMessage, sendPoll).
MESSAGE_LIMIT = 4096
POLL_QUESTION_LIMIT = 300
POLL_OPTION_LIMIT = 100
POLL_MIN_OPTIONS = 2
POLL_MAX_OPTIONS = 10
# What we aim for, so a nudge reads in one glance on a phone. Enforced by the tests, not the loader.
NUDGE_AIM = 700

STEP_COUNT = 4
ID_MAX_LENGTH = 40
TITLE_LIMIT = 120
QUOTE_LIMIT = 200

Kind = Literal["step", "tip", "insight"]
# Quotes are allowed only from experts the source article names and quotes.
Expert = Literal["Matthew Hussey", "Esther Perel"]

TextKey = Literal[
    "welcome",
    "help",
    "about",
    "free_text_reply",
    "error_reply",
    "forget_confirm",
    "forget_done",
    "pause_offer",
    "paused",
    "resumed",
    "checkin_intro",
]
TEXT_KEYS: tuple[TextKey, ...] = get_args(TextKey)
# The {placeholders} each text may use; render_text must be given exactly these.
TEXT_PLACEHOLDERS: Mapping[TextKey, frozenset[str]] = {
    key: frozenset({"until"}) if key == "paused" else frozenset() for key in TEXT_KEYS
}


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: in UTF-16 code units (an emoji may count as two)."""
    return len(text.encode("utf-16-le")) // 2


def _at_most(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if utf16_length(value) > limit:
            raise ValueError(f"{utf16_length(value)} characters, the limit is {limit}")
        return value

    return check


def _not_wrapped_in_quote_marks(value: str) -> str:
    if value[0] in "\"'“”‘’«»" or value[-1] in "\"'“”‘’«»":
        raise ValueError("leave out the quote marks; the renderer adds them")
    return value


Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9_-]+$", max_length=ID_MAX_LENGTH),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Title = Annotated[Text, AfterValidator(_at_most(TITLE_LIMIT))]
Quote = Annotated[
    Text, AfterValidator(_at_most(QUOTE_LIMIT)), AfterValidator(_not_wrapped_in_quote_marks)
]
PollText = Annotated[Text, AfterValidator(_at_most(POLL_QUESTION_LIMIT))]
PollOption = Annotated[Text, AfterValidator(_at_most(POLL_OPTION_LIMIT))]


class Item(BaseModel):
    """One nudge: a checklist step, an expert tip or an insight (the "why")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    kind: Kind
    title: Title
    body: Text
    try_this: Text | None = None
    # A step's own number; for a tip or an insight, the step it supports.
    step: Annotated[int, Field(strict=True, ge=1, le=STEP_COUNT)]
    # A tip meant for after a conversation went hard (the scheduler sends one next).
    supportive: Annotated[bool, Field(strict=True)] = False
    expert: Expert | None = None
    quote: Quote | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.quote is not None and self.expert is None:
            raise ValueError("quote: a quote needs an expert to attribute it to")
        if self.supportive and self.kind != "tip":
            raise ValueError("supportive: only tips can be supportive")
        return self


# What a check-in question is for (polls.yaml):
# - weekly: asked every week; an ordinal item with a `measure` and a score per option;
# - baseline: the same measure asked once, at the end of onboarding (where she starts);
# - rotating: one of these each week, chosen by week number; no score;
# - retired: no longer sent, kept so that stored answers still show their question and options.
PollUse = Literal["weekly", "baseline", "rotating", "retired"]
# What an ordinal check-in item measures; all about her, none of it about him.
Measure = Literal["connected", "confidence", "wellbeing"]
MEASURES: tuple[Measure, ...] = get_args(Measure)


class PollQuestion(BaseModel):
    """A check-in question sent as a native Telegram poll."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    use: PollUse
    question: PollText
    # Telegram reports answers as option positions: append new options, do not reorder.
    options: Annotated[
        tuple[PollOption, ...], Field(min_length=POLL_MIN_OPTIONS, max_length=POLL_MAX_OPTIONS)
    ]
    measure: Measure | None = None
    # One score per option, in option order, strictly ordered (higher is better for her).
    scores: tuple[Annotated[int, Field(strict=True, ge=0, le=10)], ...] | None = None

    @model_validator(mode="after")
    def _check_options_unique(self) -> Self:
        seen: set[str] = set()
        for option in self.options:
            if option.casefold() in seen:
                raise ValueError(f"options: {option!r} appears more than once")
            seen.add(option.casefold())
        return self

    @model_validator(mode="after")
    def _check_measure(self) -> Self:
        if self.use in ("weekly", "baseline") and self.measure is None:
            raise ValueError(f"measure: a {self.use} question needs a measure")
        if self.use == "rotating" and self.measure is not None:
            raise ValueError("measure: a rotating question has none (it is not a trend)")
        if (self.measure is None) != (self.scores is None):
            raise ValueError("scores: give scores exactly when the question has a measure")
        if self.scores is not None:
            if len(self.scores) != len(self.options):
                raise ValueError(
                    f"scores: {len(self.scores)} scores for {len(self.options)} options"
                )
            pairs = list(zip(self.scores, self.scores[1:], strict=False))
            if not (all(a > b for a, b in pairs) or all(a < b for a, b in pairs)):
                raise ValueError("scores: must rise or fall strictly with the option order")
        return self

    def score(self, option_ids: Sequence[int]) -> int | None:
        """The score of a single-choice answer; None for a retracted vote or no measure."""
        if self.scores is None or len(option_ids) != 1:
            return None
        (index,) = option_ids
        return self.scores[index] if 0 <= index < len(self.scores) else None

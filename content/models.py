"""Typed shapes of the content: items, poll questions, text keys, safety texts, helplines."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
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
# The command that shows the safety card; cards and texts link it by name.
SAFETY_COMMAND = "/safety"
ID_MAX_LENGTH = 40
TITLE_LIMIT = 120
QUOTE_LIMIT = 200

# step: a checklist step. variant: another angle on a step (scheduled when the step comes back).
# tip, insight: scheduled beside the step they support. script: an on-demand card for the moment
# itself ("Talking now", free text); never scheduled.
Kind = Literal["step", "variant", "tip", "insight", "script"]
KINDS: tuple[Kind, ...] = get_args(Kind)
SCHEDULED_KINDS: frozenset[Kind] = frozenset({"step", "variant", "tip", "insight"})
# The four "Talking now" moments; each has exactly one primary script.
Moment = Literal["shut-down", "says-fine", "opening-up", "went-badly"]
MOMENTS: tuple[Moment, ...] = get_args(Moment)
# The source of an item that carries no article point: Closer's own idea.
OWN_SOURCE = "closer"
MIN_VARIANTS_PER_STEP = 3
# Reading grade (Flesch-Kincaid) every item's visible text stays at or under; tested.
GRADE_AIM = 8.0
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
    "talking_now_intro",
    "listening_timer_start",
    "listening_timer_left",
    "listening_timer_done",
    "free_text_greeting",
    "free_text_thanks",
    "free_text_card_intro",
    "another_card",
    "no_more_cards",
    "safety_intro",
    "not_yet_reply",
    "not_yet_tip_reply",
    "setup_first",
    "button_stale",
    "already_saved",
    "saved",
    "error_toast",
    "kept_reply",
    "kept_toast",
    "storage_wait",
    "storage_wait_toast",
    "log_question",
    "start_hint",
    "onboarding_buttons_hint",
    "unknown_command",
    "unsupported_message",
    "welcome_back",
    "setup_finish_first",
    "setup_finish_latest",
    "setup_button_expired",
    "setup_nothing_back",
    "setup_bad_button",
    "setup_moved_on",
    "onboarding_timezone_title",
    "settings_timezone_title",
    "timezone_question",
    "onboarding_time_title",
    "settings_time_title",
    "time_question",
    "onboarding_pace_title",
    "settings_pace_title",
    "pace_question",
    "quiet_question",
    "checkin_day_question",
    "settings_menu",
    "settings_saved",
    "all_set",
    "time_in_quiet_hours",
    "timezone_not_found",
    "timezone_which",
    "time_invalid",
    "quiet_hours_invalid",
    "use_the_buttons",
    "location_not_asked",
    "location_no_zone",
    "press_not_yours",
    "press_other_message",
    "press_superseded",
    "press_wrong_button",
    "response_went_well",
    "response_mixed",
    "response_hard",
    "response_not_yet",
    "response_later_hour",
    "response_later_evening",
    "response_later_tomorrow",
    "response_later_at",
    "response_later_resume",
    "response_snoozed",
    "response_not_yet_at",
    "response_not_yet_other",
    "when_today",
    "when_tomorrow",
    "when_on",
    "pause_carries_snooze",
    "pause_holds_snooze",
    "resume_brings_snooze",
    "response_got_it",
    "response_expired",
    "response_other",
    "log_not_yours",
    "log_logged_went_well",
    "log_logged_mixed",
    "log_logged_hard",
    "log_unknown_item",
    "log_note_question",
    "log_note_question_leaned",
    "log_done",
    "log_note_too_late",
    "log_note_empty",
    "log_note_trimmed",
    "timer_unavailable",
    "pause_question",
    "pause_usage",
    "paused_until_resume",
    "not_paused",
    "nothing_stored",
    "export_caption",
    "export_csv_caption",
    "nothing_to_erase",
    "forget_kept",
    "forget_outdated_toast",
    "forget_erased_toast",
    "forget_gone_toast",
    "forget_outdated",
    "checklist_title",
    "checklist_tried_once",
    "checklist_tried_times",
    "checklist_open",
    "checklist_locked",
    "checklist_locked_until",
    "checklist_footer",
    "progress_nothing",
    "progress_steps_open",
    "progress_nudges_answered",
    "progress_checkins_answered",
    "progress_paused_until",
    "progress_next_nudge",
    "progress_log_hint",
    "baseline_skipped",
    "baseline_started",
    "withdrawal_safety_line",
    "label_tried_it",
    "label_not_yet",
    "label_later",
    "label_got_it",
    "label_went_well",
    "label_mixed",
    "label_hard",
    "label_back",
    "label_talking_now",
    "label_safety",
    "label_snooze_hour",
    "label_snooze_evening",
    "label_snooze_tomorrow",
    "label_snooze_evening_at",
    "label_snooze_today_at",
    "label_snooze_tomorrow_at",
    "label_snooze_on",
    "label_pause_1_day",
    "label_pause_3_days",
    "label_pause_1_week",
    "label_pause_2_weeks",
    "label_pause_until_resume",
    "label_pause_a_week",
    "label_carry_on",
    "label_forget_yes",
    "label_forget_no",
    "label_settings_timezone",
    "label_settings_time",
    "label_settings_pace",
    "label_settings_quiet",
    "label_settings_checkin",
    "label_settings_language",
    "label_settings_done",
    "label_settings_menu",
    "pace_gentle",
    "pace_steady",
    "pace_daily",
    "moment_shut_down",
    "moment_says_fine",
    "moment_opening_up",
    "moment_went_badly",
    "label_timer",
    "label_log_how_it_went",
    "label_log_conversation",
    "toast_timer_started",
    "toast_carrying_on",
    "label_skip",
    "label_skip_note",
    "card_try_this",
    "card_say",
    "card_step",
    "card_quote_translated",
    "command_log",
    "command_tip",
    "command_checklist",
    "command_progress",
    "command_settings",
    "command_pause",
    "command_resume",
    "command_export",
    "command_forget",
    "command_now",
    "command_safety",
    "command_about",
    "command_help",
    "command_start",
    "command_language",
    "settings_summary",
    "language_question",
    "language_set",
    "outcome_word_went_well",
    "outcome_word_mixed",
    "outcome_word_hard",
    "outcome_word_tried",
]
TEXT_KEYS: tuple[TextKey, ...] = get_args(TextKey)
# The {placeholders} each text may use; render_text must be given exactly these.
_TEXT_FIELDS: Mapping[TextKey, frozenset[str]] = {
    "label_snooze_evening_at": frozenset({"time"}),
    "label_snooze_today_at": frozenset({"time"}),
    "label_snooze_tomorrow_at": frozenset({"time"}),
    "label_snooze_on": frozenset({"date", "time"}),
    "card_step": frozenset({"number", "total"}),
    "settings_summary": frozenset({"zone", "time", "pace", "quiet_start", "quiet_end", "day"}),
    "paused": frozenset({"until"}),
    "listening_timer_left": frozenset({"minutes"}),
    "welcome_back": frozenset({"summary"}),
    "time_question": frozenset({"quiet_start", "quiet_end"}),
    "settings_menu": frozenset({"summary"}),
    "settings_saved": frozenset({"summary"}),
    "all_set": frozenset({"summary"}),
    "time_in_quiet_hours": frozenset({"time", "quiet_start", "quiet_end"}),
    "response_other": frozenset({"response"}),
    "response_later_hour": frozenset({"time"}),
    "response_later_evening": frozenset({"time"}),
    "response_later_tomorrow": frozenset({"when"}),
    "response_later_at": frozenset({"when"}),
    "response_later_resume": frozenset({"when"}),
    "response_not_yet_at": frozenset({"when"}),
    "response_not_yet_other": frozenset({"when"}),
    "when_today": frozenset({"time"}),
    "when_tomorrow": frozenset({"weekday", "time"}),
    "when_on": frozenset({"weekday", "date", "time"}),
    "pause_carries_snooze": frozenset({"when"}),
    "resume_brings_snooze": frozenset({"when"}),
    "log_note_question_leaned": frozenset({"title"}),
    "pause_usage": frozenset({"max_days"}),
    "checklist_tried_once": frozenset({"number", "title", "last"}),
    "checklist_tried_times": frozenset({"number", "title", "count", "last"}),
    "checklist_open": frozenset({"number", "title"}),
    "checklist_locked": frozenset({"number", "title", "before"}),
    "checklist_locked_until": frozenset({"number", "title", "before", "when"}),
    "progress_steps_open": frozenset({"open", "total"}),
    "progress_nudges_answered": frozenset({"answered", "sent"}),
    "progress_checkins_answered": frozenset({"answered", "sent"}),
    "progress_paused_until": frozenset({"until"}),
    "progress_next_nudge": frozenset({"when"}),
}
TEXT_PLACEHOLDERS: Mapping[TextKey, frozenset[str]] = {
    key: _TEXT_FIELDS.get(key, frozenset()) for key in TEXT_KEYS
}

# The /safety message, section by section (content/data/safety.yaml).
SafetyKey = Literal[
    "control_or_withdrawal",
    "self_harm",
    "phone_privacy",
    "crisis_line",
    "dv_line",
    "dv_unverified",
    "other_helplines",
    "crisis_directory",
    "contact_call",
    "contact_text",
    "contact_call_or_text",
    "contact_text_word",
    "contact_call_or_text_word",
]
SAFETY_KEYS: tuple[SafetyKey, ...] = get_args(SafetyKey)
_SAFETY_FIELDS: Mapping[SafetyKey, frozenset[str]] = {
    "crisis_line": frozenset({"country", "name", "contact"}),
    "dv_line": frozenset({"name", "contact"}),
    "dv_unverified": frozenset({"country"}),
    "other_helplines": frozenset({"name", "url"}),
    "crisis_directory": frozenset({"name", "url"}),
    "contact_call": frozenset({"phone"}),
    "contact_text": frozenset({"text"}),
    "contact_call_or_text": frozenset({"phone", "text"}),
    "contact_text_word": frozenset({"word", "text"}),
    "contact_call_or_text_word": frozenset({"phone", "word", "text"}),
}
# The sections /safety shows, in order, before the helplines and the directory.
SAFETY_SECTIONS: tuple[SafetyKey, ...] = ("self_harm", "control_or_withdrawal", "phone_privacy")
SAFETY_PLACEHOLDERS: Mapping[SafetyKey, frozenset[str]] = {
    key: _SAFETY_FIELDS.get(key, frozenset()) for key in SAFETY_KEYS
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
Url = Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]
# Where a fact was checked: recorded as found (some pages are served over plain http); never
# shown to her.
SourceUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^[0-9+][0-9 -]{1,20}$")]
# The word some lines ask for in the first text ("text START to 88788").
TextWord = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,20}$")]
Keyword = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9' -]+$", min_length=2, max_length=ID_MAX_LENGTH)
]
PollText = Annotated[Text, AfterValidator(_at_most(POLL_QUESTION_LIMIT))]
PollOption = Annotated[Text, AfterValidator(_at_most(POLL_OPTION_LIMIT))]


class Item(BaseModel):
    """One card: a checklist step, a variant of one, a tip, an insight or a script."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    kind: Kind
    title: Title
    body: Text
    try_this: Text | None = None
    # A step's own number; for any other kind, the step it supports.
    step: Annotated[int, Field(strict=True, ge=1, le=STEP_COUNT)]
    # The article point this item carries (a key of sources.yaml), or "closer" for our own.
    source: Slug
    # A tip meant for after a conversation went hard (the scheduler sends one next).
    supportive: Annotated[bool, Field(strict=True)] = False
    # A withdrawal card: it reads his silence or distance as self-protection or habit, not as
    # something aimed at her, or free text about silence (silent treatment, stonewalling, being
    # ignored) reaches it. Where silence is used to punish, that reading is wrong, so the card
    # never comes alone: Library.withdrawal_safety_line gives the /safety line that goes with it.
    withdrawal: Annotated[bool, Field(strict=True)] = False
    expert: Expert | None = None
    quote: Quote | None = None
    # Only and always on a variant: the id of the step it is another angle on.
    variant_of: Slug | None = None
    # Only on a script: the "Talking now" moment it is the primary card for.
    moment: Moment | None = None
    # Lower-case words or phrases for matching free text offline.
    keywords: tuple[Keyword, ...] = ()

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.quote is not None and self.expert is None:
            raise ValueError("quote: a quote needs an expert to attribute it to")
        if self.supportive and self.kind != "tip":
            raise ValueError("supportive: only tips can be supportive")
        if self.kind == "variant" and self.variant_of is None:
            raise ValueError("variant_of: a variant names the step it is another angle on")
        if self.kind != "variant" and self.variant_of is not None:
            raise ValueError("variant_of: only variants have one")
        if self.moment is not None and self.kind != "script":
            raise ValueError("moment: only scripts have one")
        if len(set(self.keywords)) != len(self.keywords):
            raise ValueError("keywords: a keyword appears more than once")
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


class Helpline(BaseModel):
    """One helpline (a crisis line or a domestic-abuse line), with the page its number was
    checked against and the day it was checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Text
    phone: PhoneNumber | None = None
    text: PhoneNumber | None = None
    text_word: TextWord | None = None  # what to text, where the line asks for a word first
    # The service's own site, where a stored page showed it; left out rather than guessed.
    url: Url | None = None
    source: SourceUrl  # the page the number was checked against
    checked: date  # the day it was
    # Something she should know before she calls, e.g. whether it shows in the call log.
    note: Text | None = None
    notes: dict[Literal["es", "ru"], Text] = {}  # the note in Spanish and Russian
    # The name in Spanish and Russian, where it is a description rather than a proper name.
    names: dict[Literal["es", "ru"], Text] = {}

    @model_validator(mode="before")
    @classmethod
    def _check_provenance(cls, data: object) -> object:
        if isinstance(data, dict):
            missing = [key for key in ("source", "checked") if data.get(key) is None]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)}: missing; every line names the page its number "
                    "was checked against (source) and the day it was checked (checked: YYYY-MM-DD)"
                )
        return data

    def name_in(self, lang: str) -> str:
        """The line's name as it reads in ``lang``."""
        return self.names.get(lang, self.name) if lang != "en" else self.name  # type: ignore[call-overload]

    def note_in(self, lang: str) -> str | None:
        """The note in ``lang``: English, or its translation (none rather than English)."""
        return self.note if lang == "en" else self.notes.get(lang)  # type: ignore[call-overload]

    @model_validator(mode="after")
    def _check_reachable(self) -> Self:
        if self.note is None and self.notes:
            raise ValueError("notes: translations of a note the line does not have")
        if self.names and set(self.names) != {"es", "ru"}:
            raise ValueError(
                "names: a translated name needs its Spanish (es) and Russian (ru) words"
            )
        if self.note is not None and set(self.notes) != {"es", "ru"}:
            raise ValueError("notes: a note needs its Spanish (es) and Russian (ru) words too")
        if self.phone is None and self.text is None:
            raise ValueError("phone: a line needs a phone or a text number")
        if self.text_word is not None and self.text is None:
            raise ValueError("text_word: only a line with a text number has one")
        return self


class EmergencyNumber(BaseModel):
    """The number to call when she is in danger right now, with the page that says so."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: PhoneNumber
    source: SourceUrl
    checked: date


class CountryHelplines(BaseModel):
    """One country's lines for /safety: a crisis line and a domestic-abuse (dv) line.

    Both keys are always written; ``null`` says that no line could be verified (the data file
    says why in a comment), so a missing line is a decision, never an oversight.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]  # ISO 3166 alpha-2
    country: Text  # as it reads after "In": "the United States"
    emergency: EmergencyNumber | None = None
    crisis: Helpline | None
    dv: Helpline | None

    @model_validator(mode="before")
    @classmethod
    def _check_both_written(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("crisis", "dv"):
                if key not in data:
                    raise ValueError(
                        f"{key}: missing; write `{key}: null` with a comment where no line "
                        "could be verified"
                    )
        return data

    @model_validator(mode="after")
    def _check_some_line(self) -> Self:
        if self.crisis is None and self.dv is None:
            raise ValueError("crisis: a country with no line at all is left to the directory")
        return self


class CrisisDirectory(BaseModel):
    """The international directory of helplines: shown to everyone, and the only pointer
    where her country has no line here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Text
    url: Url
    source: Url

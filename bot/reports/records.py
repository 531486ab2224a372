"""Plain records of what is stored about one user, as the storage layer hands them to reports.

No ORM rows and no sessions here: the reports are pure functions of these. Every ``datetime`` is
timezone-aware (UTC as stored); the reports convert to her zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class UserSettingsRecord:
    """Her preferences (``user_settings``)."""

    timezone: str  # an IANA zone name, e.g. "Europe/Berlin"
    nudge_minute: int  # minutes after local midnight
    pace: str
    quiet_start_minute: int
    quiet_end_minute: int
    checkin_weekday: int  # 0 is Monday
    paused_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ItemProgressRecord:
    """Where she stands with one content item (``item_progress``)."""

    item_id: str
    box: int
    due_at: datetime | None
    first_sent_at: datetime | None
    last_sent_at: datetime | None
    last_outcome: str | None
    tries: int
    times_sent: int


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One logged conversation (``conversation_logs``)."""

    logged_at: datetime
    outcome: str  # one of scheduler.policy.TRIED_OUTCOMES: "went_well", "mixed", "hard"
    item_id: str | None = None
    step: int | None = None  # None: taken from the item, if any
    note: str | None = None
    source: str = "log"


@dataclass(frozen=True, slots=True)
class PollAnswerRecord:
    """One answer to one check-in poll sent to her (``poll_answers`` joined with ``polls``).

    A poll can be answered more than once (she changed her vote); the latest answer counts. An
    empty ``option_ids`` is a retracted vote.
    """

    sent_poll_id: int  # the stored poll row: answers to the same sent poll share it
    question_id: str  # the content id (polls.yaml), e.g. "connection-this-week"
    sent_at: datetime
    option_ids: tuple[int, ...]
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    """Everything stored about one user, for /export."""

    telegram_id: int
    joined_at: datetime
    settings: UserSettingsRecord
    progress: Sequence[ItemProgressRecord] = ()
    logs: Sequence[LogRecord] = ()
    answers: Sequence[PollAnswerRecord] = ()
    # Any other stored rows of hers, by table name (e.g. "outbox", "polls" not yet answered),
    # as plain column -> value mappings with aware datetimes, shown in her zone too.
    other: Mapping[str, Sequence[Mapping[str, object]]] = field(default_factory=dict)

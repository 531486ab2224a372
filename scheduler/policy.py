"""The spacing policy: pure functions of (user settings, progress, outcomes, now).

Nothing here knows Telegram or the database. Callers translate rows into these dataclasses, ask
the policy, and store what it answers. Every datetime in and out is timezone-aware; outputs are UTC.

Pace day patterns (local weekdays; the check-in weekday never carries an item nudge, because the
check-in poll is that day's one nudge, so the item nudge moves to the next pace day):

========  ==========================  =================================================
pace      normal                      backed off (three ignored nudges in a row)
========  ==========================  =================================================
gentle    Tue, Sat                    Tue (Sat when the check-in is on Tuesday)
steady    Mon, Wed, Fri, Sat          Tue, Sat
daily     every day                   every other day (days with an even date ordinal)
========  ==========================  =================================================

Slot time on a day: the user's minute, moved out of quiet hours to the nearest allowed minute of
that day, plus a jitter of ``-JITTER_MINUTES..JITTER_MINUTES`` derived from (seed, local date)
and clamped so it stays outside quiet hours. See ``scheduler.slots`` for daylight-saving rules.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Final, Literal, Protocol
from zoneinfo import ZoneInfo

from scheduler.slots import (
    JITTER_MINUTES,
    check_minute,
    is_quiet,
    jitter_for,
    local_date,
    local_minute,
    require_aware,
    resolve_local,
    slot_minute,
)

Pace = Literal["gentle", "steady", "daily"]
PACES: Final[tuple[Pace, ...]] = ("gentle", "steady", "daily")
"""Every value of ``Pace``: the one definition (the database's CHECK imports it)."""
TriedOutcome = Literal["went_well", "mixed", "hard"]
"""An outcome that counts as a try: the three a user logs (nudge buttons, /log, the timer)."""
Outcome = Literal[TriedOutcome, "not_yet", "ignored"]
"""Every outcome the policy accepts (``apply_outcome``): a try, "Not yet", or no answer."""
Kind = Literal["step", "variant", "tip", "insight", "script"]
ChoiceReason = Literal["support", "comeback", "due", "new", "unseen", "review"]
_DayFilter = Callable[[date], bool]

BOX_INTERVALS: Final[Mapping[int, timedelta]] = {
    1: timedelta(days=1),
    2: timedelta(days=2),
    3: timedelta(days=4),
    4: timedelta(days=7),
    5: timedelta(days=14),
    6: timedelta(days=30),
}
FIRST_BOX: Final = 1
LAST_BOX: Final = 6
"""The Leitner boxes are ``FIRST_BOX..LAST_BOX`` (the keys of ``BOX_INTERVALS``)."""
TRIED_OUTCOMES: Final[tuple[TriedOutcome, ...]] = ("went_well", "mixed", "hard")
"""The logged outcomes in button order: the one definition (bot/ imports it, e.g. a DB CHECK)."""
OUTCOMES: Final[tuple[Outcome, ...]] = (*TRIED_OUTCOMES, "not_yet", "ignored")
"""Every value of ``Outcome``, tries first."""
SCHEDULED_KINDS: Final[frozenset[str]] = frozenset({"step", "variant", "tip", "insight"})
"""Kinds the schedule may send; "script" (on-demand cards) and unknown kinds never are."""

STEP_AUTO_UNLOCK: Final = timedelta(days=7)
"""A step unlocks the next one this long after it was first sent, even with no try logged."""
NO_REPEAT_WINDOW: Final = timedelta(days=21)
"""No item id is chosen again for a user until this long after it was last sent (strict)."""
RECENT_WINDOW: Final = timedelta(days=3)
"""A step comes back by its box no sooner than this after any text of it was sent (slot-days)."""
SLOT_TOLERANCE: Final = timedelta(hours=12)
"""Slack when comparing a slot time with a due time or a last-shown time.

Slots drift by jitter, daylight-saving changes and late sends, so "due tomorrow" must match
tomorrow's slot even if it fires a few minutes earlier than today's did. Half a day keeps each
comparison on the right side of a whole slot-day.
"""
SLOT_WINDOW: Final = timedelta(hours=2)
"""A nudge missed by less than this (e.g. after downtime) is still sent late."""
BACKOFF_AFTER: Final = 3
"""Ignored nudges in a row that halve the pace and make the bot ask once about pausing."""
DEFAULT_QUIET_START_MINUTE: Final = 21 * 60 + 30
DEFAULT_QUIET_END_MINUTE: Final = 8 * 60
DEFAULT_CHECKIN_WEEKDAY: Final = 6  # Sunday (0 is Monday, as in datetime.weekday()): a look back

_SUPPORT_RANK: Final[Mapping[str, int]] = {"tip": 0, "insight": 1}
_MON, _TUE, _WED, _THU, _FRI, _SAT, _SUN = range(7)
_PACE_WEEKDAYS: Final[Mapping[str, frozenset[int]]] = {
    "gentle": frozenset({_TUE, _SAT}),
    "steady": frozenset({_MON, _WED, _FRI, _SAT}),
    "daily": frozenset(range(7)),
}
_DAWN: Final = datetime.min.replace(tzinfo=UTC)
_SEARCH_DAYS: Final = 400  # far more than any pattern needs; guards against an endless loop


class CatalogItem(Protocol):
    """What the policy reads from a content item.

    Optional attributes, read with ``getattr`` (default None/False): ``variant_of`` (the step id a
    "variant" item is a different angle on) and ``supportive`` (on tips).
    """

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...  # see SCHEDULED_KINDS; "script" and anything else is ignored

    @property
    def step(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """One user's scheduling preferences; minutes are minutes after local midnight."""

    timezone: str
    nudge_minute: int
    pace: Pace
    quiet_start_minute: int = DEFAULT_QUIET_START_MINUTE
    quiet_end_minute: int = DEFAULT_QUIET_END_MINUTE
    checkin_weekday: int = DEFAULT_CHECKIN_WEEKDAY  # 0 = Monday .. 6 = Sunday
    paused_until: datetime | None = None
    backoff_active: bool = False

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown IANA time zone {self.timezone!r}") from exc
        check_minute(self.nudge_minute, "nudge_minute")
        check_minute(self.quiet_start_minute, "quiet_start_minute")
        check_minute(self.quiet_end_minute, "quiet_end_minute")
        if self.pace not in PACES:
            raise ValueError(f"unknown pace {self.pace!r}")
        if not 0 <= self.checkin_weekday <= 6:
            raise ValueError(f"checkin_weekday must be 0..6, got {self.checkin_weekday}")
        if self.paused_until is not None:
            require_aware(self.paused_until, "paused_until")

    @property
    def zone(self) -> ZoneInfo:
        """The user's zone (ZoneInfo caches instances by key)."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class ItemState:
    """One user's progress on one content item."""

    item_id: str
    box: int = FIRST_BOX
    due_at: datetime | None = None
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None
    last_outcome: Outcome | None = None
    tries: int = 0  # logged tries: went_well, mixed or hard

    def __post_init__(self) -> None:
        if not FIRST_BOX <= self.box <= LAST_BOX:
            raise ValueError(f"box must be {FIRST_BOX}..{LAST_BOX}, got {self.box}")
        if self.tries < 0:
            raise ValueError(f"tries must be >= 0, got {self.tries}")
        for name in ("due_at", "first_sent_at", "last_sent_at"):
            value = getattr(self, name)
            if value is not None:
                require_aware(value, name)


@dataclass(frozen=True, slots=True)
class Choice:
    """The item to send at a slot and why it was picked."""

    item_id: str
    reason: ChoiceReason


# --- Leitner boxes -------------------------------------------------------------------------


def interval(box: int) -> timedelta:
    """The spacing interval of a Leitner box."""
    return BOX_INTERVALS[box]


def apply_outcome(state: ItemState, outcome: Outcome, now: datetime) -> ItemState:
    """The item's state after the user logged ``outcome`` at ``now``.

    went_well: up one box (max 6); mixed: same box; hard: down one box (min 1). Each counts as a
    try and makes the item due at ``now + interval(new box)``; the slot that picks it is the first
    at or after that time. not_yet and ignored leave the box alone and make the item due at once.
    not_yet also puts the item's step first in line: the next slot brings it back from another
    angle (see ``choose``, rule "comeback"). A hard outcome owes a supportive tip: see
    ``owed_support_step``. Pass the state of ``progress_item_id(catalog, pressed item id)``: an
    outcome on a variant counts for its step.
    """
    now = require_aware(now, "now")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    if outcome in ("not_yet", "ignored"):
        return replace(state, due_at=now, last_outcome=outcome)
    if outcome == "went_well":
        box = min(state.box + 1, LAST_BOX)
    elif outcome == "hard":
        box = max(state.box - 1, FIRST_BOX)
    else:
        box = state.box
    return replace(
        state, box=box, due_at=now + interval(box), last_outcome=outcome, tries=state.tries + 1
    )


def owed_support_step(outcome: Outcome, step: int) -> int | None:
    """The step whose supportive tip the next nudge must bring after ``outcome``, if any."""
    return step if outcome == "hard" else None


def record_sent(state: ItemState | None, item_id: str, now: datetime) -> ItemState:
    """The item's state after it was sent at ``now`` (a fresh state if it was never sent).

    The due time moves one interval ahead, so an item that gets no answer comes back in time
    even if no "ignored" outcome is ever logged for it. A pending "not_yet" is cleared (the item
    itself came back, so that promise is kept); other outcomes stay as the last one logged.
    Record the id actually sent (a variant's own id, not its step's): the no-repeat rule reads it.
    """
    now = require_aware(now, "now")
    current = state if state is not None else ItemState(item_id=item_id)
    return replace(
        current,
        first_sent_at=current.first_sent_at or now,
        last_sent_at=now,
        due_at=now + interval(current.box),
        last_outcome=None if current.last_outcome == "not_yet" else current.last_outcome,
    )


# --- Unlocking -----------------------------------------------------------------------------


def _index(states: Iterable[ItemState] | Mapping[str, ItemState]) -> dict[str, ItemState]:
    values = states.values() if isinstance(states, Mapping) else states
    return {state.item_id: state for state in values}


def unlocked_steps(
    catalog: Iterable[CatalogItem],
    states: Iterable[ItemState] | Mapping[str, ItemState],
    now: datetime,
) -> frozenset[int]:
    """The step numbers unlocked at ``now``: always a prefix 1..k, never out of order.

    Step 1 is always unlocked. Step k+1 unlocks once step k is unlocked and has a logged try, or
    once 7 days have passed since step k was first sent.
    """
    now = require_aware(now, "now")
    by_id = _index(states)
    step_states: dict[int, list[ItemState]] = {}
    for item in catalog:
        if item.kind == "step":
            state = by_id.get(item.id)
            step_states.setdefault(item.step, [])
            if state is not None:
                step_states[item.step].append(state)
    unlocked = {1}
    step = 1
    while step + 1 in step_states:
        progress = step_states.get(step, [])
        tried = any(s.tries > 0 for s in progress)
        aged = any(
            s.first_sent_at is not None and now >= s.first_sent_at + STEP_AUTO_UNLOCK
            for s in progress
        )
        if not (tried or aged):
            break
        step += 1
        unlocked.add(step)
    return frozenset(unlocked)


def current_step(unlocked: frozenset[int]) -> int:
    """The highest unlocked step."""
    return max(unlocked)


# --- Choice at a slot ----------------------------------------------------------------------


def progress_item_id(catalog: Iterable[CatalogItem], item_id: str) -> str:
    """The id whose progress an outcome on ``item_id`` updates: a variant's step, else itself.

    Callers map a press before ``apply_outcome``: ``state = states[progress_item_id(...)]``.
    ``record_sent`` takes the id actually sent. An id not in the catalog maps to itself.
    """
    for item in catalog:
        if item.id == item_id:
            if item.kind == "variant":
                parent = getattr(item, "variant_of", None)
                if parent:
                    return str(parent)
            return item_id
    return item_id


@dataclass(frozen=True, slots=True)
class _View:
    """The catalog indexed for one choice: step texts ("angles") and support items per step."""

    position: dict[str, int]
    topic: dict[str, int]  # item id -> the step number it belongs to
    main: dict[int, str]  # step number -> the id of its step item (its progress row)
    angles: dict[int, list[CatalogItem]]  # step number -> its step item(s), then its variants
    support: dict[int, list[CatalogItem]]  # step number -> its tips and insights
    by_id: dict[str, CatalogItem]


def _view(catalog: Iterable[CatalogItem]) -> _View:
    items = [item for item in catalog if item.kind in SCHEDULED_KINDS]
    steps = {item.id: item.step for item in items if item.kind == "step"}
    main: dict[int, str] = {}
    angles: dict[int, list[CatalogItem]] = {}
    support: dict[int, list[CatalogItem]] = {}
    topic: dict[str, int] = {}
    variants: list[tuple[int, CatalogItem]] = []
    for item in items:
        if item.kind == "step":
            main.setdefault(item.step, item.id)
            angles.setdefault(item.step, []).append(item)
            topic[item.id] = item.step
        elif item.kind == "variant":
            parent = getattr(item, "variant_of", None)
            if parent in steps:  # an orphan variant is never sent
                variants.append((steps[parent], item))
                topic[item.id] = steps[parent]
        else:
            support.setdefault(item.step, []).append(item)
            topic[item.id] = item.step
    for number, variant in variants:
        angles.setdefault(number, []).append(variant)
    kept = [item for item in items if item.id in topic]
    return _View(
        position={item.id: index for index, item in enumerate(kept)},
        topic=topic,
        main=main,
        angles=angles,
        support=support,
        by_id={item.id: item for item in kept},
    )


class ChoiceFacts:
    """What the rules of ``choose`` read at one slot: the catalog indexed (``view``), the states
    by item id, the time, the unlocked steps, and the answers several rules share."""

    def __init__(
        self,
        catalog: Iterable[CatalogItem],
        states: Iterable[ItemState] | Mapping[str, ItemState],
        now: datetime,
        *,
        owed_support_step: int | None,
        tolerance: timedelta = SLOT_TOLERANCE,
    ) -> None:
        self.now = require_aware(now, "now")
        self.by_id = _index(states)
        self.view = _view(catalog)
        self.items = list(self.view.by_id.values())
        self.unlocked = unlocked_steps(self.items, self.by_id, self.now)
        self.owed_support_step = owed_support_step
        self.tolerance = tolerance

    def sent(self, item_id: str) -> datetime | None:
        """When the item was last sent, if ever."""
        state = self.by_id.get(item_id)
        return state.last_sent_at if state is not None else None

    def allowed(self, item: CatalogItem) -> bool:
        """The no-repeat rule: never sent, or at least ``NO_REPEAT_WINDOW`` ago."""
        last = self.sent(item.id)
        return last is None or self.now - last >= NO_REPEAT_WINDOW

    def is_due(self, due_at: datetime) -> bool:
        return due_at <= self.now + self.tolerance

    def topic_sent(self, number: int) -> datetime | None:
        """When any angle of step ``number`` was last sent, if ever."""
        times = [self.sent(item.id) for item in self.view.angles.get(number, [])]
        return max((t for t in times if t is not None), default=None)

    def next_angle(self, number: int) -> CatalogItem | None:
        """Step ``number``'s allowed angle sent longest ago (never sent first, in order)."""
        angles = self.view.angles.get(number, [])
        order = {item.id: index for index, item in enumerate(angles)}
        pool = [item for item in angles if self.allowed(item)]
        return min(
            pool, key=lambda item: (self.sent(item.id) or _DAWN, order[item.id]), default=None
        )

    def next_support(self, number: int, skip: str | None = None) -> CatalogItem | None:
        """Step ``number``'s allowed tip or insight: never sent first, then sent longest ago;
        tips before insights; catalog order."""
        pool = [
            item
            for item in self.view.support.get(number, [])
            if item.id != skip and self.allowed(item)
        ]
        return min(
            pool,
            key=lambda item: (
                self.sent(item.id) is not None,
                self.sent(item.id) or _DAWN,
                _SUPPORT_RANK[item.kind],
                self.view.position[item.id],
            ),
            default=None,
        )

    @cached_property
    def due_step_texts(self) -> list[CatalogItem]:
        """The next angle of each step due by its box and not sent in the last 3 days (less
        the tolerance), most overdue step first. A step's due time is one interval after its
        latest angle was sent, or its progress row's ``due_at`` if an outcome logged since
        moved it."""
        due_steps: list[tuple[datetime, int]] = []
        for number in sorted(self.unlocked):
            last = self.topic_sent(number)
            if last is None or self.now - last < RECENT_WINDOW - self.tolerance:
                continue
            progress = self.by_id.get(self.view.main.get(number, ""))
            box = progress.box if progress is not None else FIRST_BOX
            due_at = last + interval(box)
            if progress is not None and progress.due_at is not None and progress.due_at > last:
                due_at = progress.due_at  # an outcome logged after the latest send decides
            if self.is_due(due_at):
                due_steps.append((due_at, number))
        picks = [self.next_angle(number) for _, number in sorted(due_steps)]
        return [pick for pick in picks if pick is not None]

    @cached_property
    def after_step_text(self) -> bool:
        """Whether the latest item sent was a step text (main or variant)."""
        latest = max(
            ((sent, item) for item in self.items if (sent := self.sent(item.id)) is not None),
            key=lambda entry: entry[0],
            default=None,
        )
        return latest is not None and latest[1].kind in ("step", "variant")

    @cached_property
    def fresh_support(self) -> list[CatalogItem]:
        """Never-sent tips and insights of the unlocked steps."""
        return [
            item
            for number in sorted(self.unlocked)
            for item in self.view.support.get(number, [])
            if self.sent(item.id) is None
        ]


def support_after_hard(facts: ChoiceFacts) -> Choice | None:
    """1. Owed after "hard": a tip of that step (supportive first, then never sent, then least
    recently sent)."""
    number = facts.owed_support_step
    if number is None:
        return None
    tips = [
        item
        for item in facts.view.support.get(number, [])
        if item.kind == "tip" and facts.allowed(item)
    ]
    if not tips:
        return None
    pick = min(
        tips,
        key=lambda item: (
            not getattr(item, "supportive", False),
            facts.sent(item.id) or _DAWN,  # never sent sorts first among equals
            facts.view.position[item.id],
        ),
    )
    return Choice(pick.id, "support")


def comeback_after_not_yet(facts: ChoiceFacts) -> Choice | None:
    """2. The comeback promised by "Not yet" on an item of an unlocked step, if nothing of that
    step was sent since: the step's next angle (for a tip: another tip or insight first), else
    any other item of the step. Newest press first: the promise the bot made last."""
    view = facts.view
    pending: list[tuple[datetime, int, CatalogItem]] = []
    for state in facts.by_id.values():
        item = view.by_id.get(state.item_id)
        if item is None or state.last_outcome != "not_yet" or state.due_at is None:
            continue
        number = view.topic[item.id]
        if number not in facts.unlocked or not facts.is_due(state.due_at):
            continue
        of_step = [*view.angles.get(number, []), *view.support.get(number, [])]
        if any((facts.sent(other.id) or _DAWN) > state.due_at for other in of_step):
            continue  # already came back
        pending.append((state.due_at, view.position[item.id], item))
    for _, _, item in sorted(pending, key=lambda entry: (entry[0], -entry[1]), reverse=True):
        number = view.topic[item.id]
        if item.kind in ("step", "variant"):
            pick = facts.next_angle(number) or facts.next_support(number)
        else:
            pick = facts.next_support(number, skip=item.id) or facts.next_angle(number)
        if pick is not None:
            return Choice(pick.id, "comeback")
    return None


def opening_of_new_step(facts: ChoiceFacts) -> Choice | None:
    """3. An unlocked step never sent opens with its main text (lowest step first)."""
    for number in sorted(facts.unlocked):
        if number in facts.view.angles and facts.topic_sent(number) is None:
            pick = facts.next_angle(number)
            if pick is not None:
                return Choice(pick.id, "due")
    return None


def step_due_between_supports(facts: ChoiceFacts) -> Choice | None:
    """4. A step due by its box: its next angle, most overdue first; not right after another
    step text, so that steps alternate with the items that support them."""
    if facts.after_step_text or not facts.due_step_texts:
        return None
    return Choice(facts.due_step_texts[0].id, "due")


def new_support_of_current_step(facts: ChoiceFacts) -> Choice | None:
    """5. A never-sent tip or insight of the current (highest unlocked) step, tips first."""
    step = current_step(facts.unlocked)
    new = [item for item in facts.fresh_support if item.step == step]
    if not new:
        return None
    pick = min(new, key=lambda item: (_SUPPORT_RANK[item.kind], facts.view.position[item.id]))
    return Choice(pick.id, "new")


def unseen_support(facts: ChoiceFacts) -> Choice | None:
    """6. A never-sent tip or insight of any unlocked step (tips, lower steps first)."""
    if not facts.fresh_support:
        return None
    pick = min(
        facts.fresh_support,
        key=lambda item: (_SUPPORT_RANK[item.kind], item.step, facts.view.position[item.id]),
    )
    return Choice(pick.id, "unseen")


def support_due_again(facts: ChoiceFacts) -> Choice | None:
    """7. A tip or insight sent before and due again, most overdue first."""
    review: list[tuple[datetime, int, int, str]] = []
    for number in sorted(facts.unlocked):
        for item in facts.view.support.get(number, []):
            shown = facts.by_id.get(item.id)
            if shown is None or not facts.allowed(item):
                continue
            due_at = shown.due_at or _DAWN
            if facts.is_due(due_at):
                rank = _SUPPORT_RANK[item.kind]
                review.append((due_at, rank, facts.view.position[item.id], item.id))
    return Choice(min(review)[-1], "review") if review else None


def step_due_after_step_text(facts: ChoiceFacts) -> Choice | None:
    """8. A due step that rule 4 left for the alternation, even right after a step text."""
    return Choice(facts.due_step_texts[0].id, "due") if facts.due_step_texts else None


CHOICE_RULES: Final[tuple[Callable[[ChoiceFacts], Choice | None], ...]] = (
    support_after_hard,
    comeback_after_not_yet,
    opening_of_new_step,
    step_due_between_supports,
    new_support_of_current_step,
    unseen_support,
    support_due_again,
    step_due_after_step_text,
)
"""The rules of ``choose``, in order: the first that picks an item decides."""


def choose(
    catalog: Iterable[CatalogItem],
    states: Iterable[ItemState] | Mapping[str, ItemState],
    now: datetime,
    *,
    owed_support_step: int | None,
    tolerance: timedelta = SLOT_TOLERANCE,
) -> Choice | None:
    """The item to send at the slot ``now``, with the rule that picked it, or None (skip the slot).


    Every rule obeys the no-repeat rule: an item sent less than ``NO_REPEAT_WINDOW`` (21 days,
    strict) before ``now`` is never chosen. Kinds other than step/variant/tip/insight are never
    chosen. A step's "angles" are its main text and its variants; the next angle of a step is
    its never-sent angle first (main text first, then variants in catalog order), else the one
    sent longest ago: so a step that comes back rotates through its variants. In order
    (``CHOICE_RULES``, a function each):

    1. "support": owed after "hard": a tip of that step (supportive first, then never sent, then
       least recently sent).
    2. "comeback": after "Not yet" on an item of step n (the state's ``last_outcome`` is
       "not_yet" and nothing of step n was sent after the press, i.e. after its ``due_at``): the
       next angle of step n (for a tip: another tip or insight of step n first), else any other
       item of step n. Newest press first. Skips the 3-day spacing and the alternation below.
       If every item of step n was sent within 21 days, the first slot where one is allowed.
    3. "due": an unlocked step never sent opens with its main text (lowest step first).
    4. "due": a step due by its box (its progress row's ``due_at``, or one interval after its
       latest angle was sent if that is later), none of its angles sent in the last 3 days: its
       next angle, most overdue step first. Skipped when the previous nudge was a step text (main
       or variant), so steps alternate with the items that support them.
    5. "new": a never-sent tip or insight of the current (highest unlocked) step, tips first.
    6. "unseen": a never-sent tip or insight of any unlocked step (tips, lower steps first).
    7. "review": a tip or insight sent before and due again, most overdue first.
    8. "due": a due step that rule 4 skipped for the alternation.
    An item counts as due when its due time is at or before ``now + tolerance``; the 3-day
    spacing is ``3 days - tolerance``: slots drift by minutes, not days.
    """
    facts = ChoiceFacts(
        catalog, states, now, owed_support_step=owed_support_step, tolerance=tolerance
    )
    for rule in CHOICE_RULES:
        choice = rule(facts)
        if choice is not None:
            return choice
    return None


def choose_item(
    catalog: Iterable[CatalogItem],
    states: Iterable[ItemState] | Mapping[str, ItemState],
    now: datetime,
    *,
    owed_support_step: int | None,
) -> str | None:
    """The id of the item to send at the slot ``now``, or None (see ``choose`` for the rules)."""
    choice = choose(catalog, states, now, owed_support_step=owed_support_step)
    return choice.item_id if choice is not None else None


# --- Back-off ------------------------------------------------------------------------------


def register_ignored(streak: int) -> tuple[int, bool, bool]:
    """After one more nudge with no tap: (new streak, back-off active, ask once to pause).

    The third ignored nudge in a row turns the back-off on and is the only one that asks about
    pausing; later ones keep the back-off without asking again.
    """
    new_streak = max(streak, 0) + 1
    return new_streak, new_streak >= BACKOFF_AFTER, new_streak == BACKOFF_AFTER


def register_tap(streak: int) -> tuple[int, bool]:
    """After any tap: (new streak, back-off active). A tap ends the back-off."""
    del streak  # any tap resets, whatever the streak was
    return 0, False


# --- Slots ---------------------------------------------------------------------------------


def nudge_weekdays(pace: Pace, *, backoff_active: bool, checkin_weekday: int) -> frozenset[int]:
    """The weekdays (0 = Monday) that may carry an item nudge; none for halved daily (parity)."""
    if backoff_active:
        if pace == "daily":
            days = frozenset(range(7))
        elif pace == "steady":
            days = _PACE_WEEKDAYS["gentle"]
        else:  # gentle: one day a week, never the check-in day
            days = frozenset({_SAT if checkin_weekday == _TUE else _TUE})
    else:
        days = _PACE_WEEKDAYS[pace]
    return days - {checkin_weekday}


def is_nudge_day(settings: ScheduleSettings, day: date) -> bool:
    """Whether the local ``day`` is one on which an item nudge may be sent."""
    weekdays = nudge_weekdays(
        settings.pace,
        backoff_active=settings.backoff_active,
        checkin_weekday=settings.checkin_weekday,
    )
    if day.weekday() not in weekdays:
        return False
    if settings.backoff_active and settings.pace == "daily":
        return day.toordinal() % 2 == 0
    return True


def slot_on(
    settings: ScheduleSettings, day: date, *, seed: int, jitter: int = JITTER_MINUTES
) -> datetime | None:
    """The UTC time of the slot on local ``day`` (any day), or None if the day has none.

    A day has none only when daylight saving pushes the jittered time off the day or into quiet
    hours (a zone's gap at the very edge of the quiet window), which is rare and harmless.
    """
    zone = settings.zone
    minute = slot_minute(
        settings.nudge_minute,
        jitter_for(seed, day, jitter),
        settings.quiet_start_minute,
        settings.quiet_end_minute,
    )
    instant = resolve_local(day, minute, zone)
    if instant is None:
        return None
    if is_quiet(
        local_minute(instant, zone), settings.quiet_start_minute, settings.quiet_end_minute
    ):
        return None
    return instant


def _earliest(settings: ScheduleSettings, after: datetime) -> datetime:
    """Slots must be strictly after ``after`` and no earlier than the end of a pause."""
    return after if settings.paused_until is None else max(after, settings.paused_until)


def next_slot(
    settings: ScheduleSettings,
    after: datetime,
    *,
    seed: int,
    last_nudge_at: datetime | None,
    jitter: int = JITTER_MINUTES,
    avoid: Collection[date] = (),
) -> datetime:
    """The first item-nudge time strictly after ``after``, in UTC.

    It lies on a nudge day of the pace (see the module docstring), never on the check-in weekday
    nor on the local day of ``last_nudge_at`` nor on a day of ``avoid`` (the days a snoozed
    nudge she asked for takes), never in quiet hours, and never before ``paused_until``.
    ``seed`` (e.g. the user id) makes the jitter reproducible.
    """
    after = require_aware(after, "after")
    blocked = None if last_nudge_at is None else local_date(last_nudge_at, settings.zone)
    return _search(
        settings,
        after,
        seed=seed,
        jitter=jitter,
        accept=lambda day: day != blocked and day not in avoid and is_nudge_day(settings, day),
    )


def next_checkin(
    settings: ScheduleSettings, after: datetime, *, seed: int, jitter: int = JITTER_MINUTES
) -> datetime:
    """The first weekly check-in poll time strictly after ``after``, in UTC.

    On the check-in weekday, at the user's time with the same jitter and quiet-hours rules,
    never before ``paused_until``. Item nudges never fall on that weekday.
    """
    after = require_aware(after, "after")
    return _search(
        settings,
        after,
        seed=seed,
        jitter=jitter,
        accept=lambda day: day.weekday() == settings.checkin_weekday,
    )


def _search(
    settings: ScheduleSettings,
    after: datetime,
    *,
    seed: int,
    jitter: int,
    accept: _DayFilter,
) -> datetime:
    earliest = _earliest(settings, after)
    day = local_date(earliest, settings.zone)
    for _ in range(_SEARCH_DAYS):
        if accept(day):
            instant = slot_on(settings, day, seed=seed, jitter=jitter)
            if instant is not None and instant > after and instant >= earliest:
                return instant
        day += timedelta(days=1)
    raise ValueError(f"no slot within {_SEARCH_DAYS} days for {settings!r}")


# --- Downtime ------------------------------------------------------------------------------


def late_or_reschedule(
    due_at: datetime,
    now: datetime,
    settings: ScheduleSettings,
    window: timedelta = SLOT_WINDOW,
    *,
    seed: int,
    last_nudge_at: datetime | None = None,
    checkin: bool = False,
    jitter: int = JITTER_MINUTES,
    avoid: Collection[date] = (),
) -> datetime:
    """When to send a nudge that was due at ``due_at``, seen at ``now`` (e.g. after downtime).

    Not yet due: ``due_at``. Missed by less than ``window``, still on the slot's local day, outside
    quiet hours, not paused, and no other nudge that day (sent, or a snooze of ``avoid``): ``now``
    (send late). Otherwise the next slot (``next_checkin`` when ``checkin``), so a backlog never
    goes out in a burst.
    """
    due_at = require_aware(due_at, "due_at")
    now = require_aware(now, "now")
    if due_at > now:
        return due_at
    zone = settings.zone
    today = local_date(now, zone)
    late_ok = (
        now - due_at < window
        and local_date(due_at, zone) == today
        and not is_quiet(
            local_minute(now, zone), settings.quiet_start_minute, settings.quiet_end_minute
        )
        and (settings.paused_until is None or settings.paused_until <= now)
        and (last_nudge_at is None or local_date(last_nudge_at, zone) != today)
        and today not in avoid
    )
    if late_ok:
        return now
    if checkin:
        return next_checkin(settings, now, seed=seed, jitter=jitter)
    return next_slot(
        settings, now, seed=seed, last_nudge_at=last_nudge_at, jitter=jitter, avoid=avoid
    )

"""The promise checker's world: one user's outbox driven by the real planner and settle step.

No database and no Telegram: the rows live in a list, but every decision about them is the
code's own. ``plan`` brings the planned rows in line after each schedule change and each send
(as ``bot.storage.planning`` does), ``settle`` decides at each due time what goes, moves or is
cancelled (as the dispatcher does after a claim), ``snooze_promise``/``not_yet_promise`` decide
what a press records, and ``kept_or_carried`` what a pause or a resume does to a snooze. What the
bot *says* is rendered with the real texts (``bot.nudges.response_line``, ``when_phrase``) and
each scenario checks, independently of the code that decided it, that what was said happens in
the window it named.

Used by ``tests/promises/test_promise_checker.py`` (hypothesis, bounded) and ``bench/promises.py``
(a wider sweep).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from bot.nudges import clock_label, response_line, when_phrase
from bot.usecases.nudges import NOT_YET_KEY
from content import Library, load_library
from scheduler.planner import (
    PLANNED_KINDS,
    Planee,
    PlannedRow,
    SettleFacts,
    not_yet_promise,
    plan,
    settle,
)
from scheduler.policy import (
    ItemState,
    Pace,
    ScheduleSettings,
    apply_outcome,
    progress_item_id,
    record_sent,
)
from scheduler.ports import ClaimedRow
from scheduler.promises import PAYLOAD_KEY, SnoozeChoice, kept_or_carried, snooze_promise
from scheduler.slots import JITTER_MINUTES, is_quiet, nearest_allowed_minute

USER: Final = 7
ZONES: Final = (
    "America/Toronto",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Pacific/Auckland",
    "UTC",
)
# Days near the daylight-saving changes of those zones (2026), and a few ordinary ones.
DAYS: Final = tuple(
    date.fromisoformat(day)
    for day in (
        "2026-03-07",  # Toronto, St John's, Los Angeles: spring forward on the 8th
        "2026-03-28",  # London, Berlin: the 29th
        "2026-04-04",  # Sydney, Chatham, Auckland: fall back on the 5th
        "2026-09-26",  # Chatham, Auckland: spring forward on the 27th
        "2026-10-03",  # Sydney: the 4th
        "2026-10-24",  # London, Berlin: fall back on the 25th
        "2026-10-31",  # Toronto, St John's, Los Angeles: fall back on November 1st
        "2026-06-17",
        "2026-12-30",
    )
)
PACES: Final[tuple[Pace, ...]] = ("gentle", "steady", "daily")
Scenario = Literal["snooze", "snooze_pause", "snooze_pause_resume", "not_yet"]
SCENARIOS: Final[tuple[Scenario, ...]] = (
    "snooze",
    "snooze_pause",
    "snooze_pause_resume",
    "not_yet",
)
HISTORY: Final = timedelta(days=3)
"""How long she has been getting nudges before the press."""
_RESPONSES: Final = {"hour": "later_hour", "evening": "later_evening", "tomorrow": "later_tomorrow"}


@dataclass
class Row:
    id: int
    kind: str
    item_id: str | None
    due_at: datetime
    planned: bool
    payload: Any = None
    status: str = "pending"
    sent_at: datetime | None = None


@dataclass
class World:
    """One user's outbox, moved through time by the planner and settle."""

    schedule: ScheduleSettings
    library: Library
    now: datetime
    rows: list[Row] = field(default_factory=list)
    states: dict[str, ItemState] = field(default_factory=dict)
    _next_id: int = 1

    @property
    def planee(self) -> Planee:
        return Planee(
            id=USER,
            chat_id=USER,
            blocked=False,
            onboarded=True,
            ignored_streak=0,
            backoff_active=self.schedule.backoff_active,
            schedule=self.schedule,
        )

    def add(self, **values: Any) -> Row:
        row = Row(id=self._next_id, **values)
        self._next_id += 1
        self.rows.append(row)
        return row

    def last_nudge_at(self) -> datetime | None:
        times = [r.sent_at for r in self.rows if r.kind == "item" and r.sent_at is not None]
        return max(times, default=None)

    def waiting_snoozes(self, leave_out: set[int] | None = None) -> list[datetime]:
        return [
            r.due_at
            for r in self.rows
            if r.kind == "item"
            and not r.planned
            and r.status == "pending"
            and r.id not in (leave_out or set())
        ]

    def replan(self, kinds: Sequence[str] = PLANNED_KINDS) -> None:
        """``bot.storage.planning.replan_users`` for her."""
        planned = sorted(
            (r for r in self.rows if r.planned and r.status == "pending"),
            key=lambda r: (r.due_at, r.id),
        )
        last = self.last_nudge_at()
        changes = plan(
            [USER],
            self.now,
            planees={USER: self.planee},
            rows=[PlannedRow(r.id, USER, r.kind, r.status, r.due_at) for r in planned],
            last_nudge_at={USER: last} if last is not None else {},
            kinds=kinds,
            snoozes={USER: self.waiting_snoozes()},
        )
        by_id = {r.id: r for r in self.rows}
        for row_id in changes.cancels:
            by_id[row_id].status = "cancelled"
        for row_id, due in changes.moves:
            by_id[row_id].due_at = due
        for new in changes.inserts:
            self.add(kind=new.kind, item_id=None, due_at=new.due_at, planned=True)

    def tick(self) -> None:
        """The dispatcher at ``now``: claim what is due, settle it, send, record, replan."""
        due = sorted(
            (r for r in self.rows if r.status == "pending" and r.due_at <= self.now),
            key=lambda r: (r.due_at, r.id),
        )
        if not due:
            return
        claimed = [
            ClaimedRow(
                id=r.id,
                user_id=USER,
                kind=r.kind,
                item_id=r.item_id,
                payload=r.payload,
                due_at=r.due_at,
                planned=r.planned,
                attempts=1,
                stale=False,
            )
            for r in due
        ]
        last = self.last_nudge_at()
        facts = SettleFacts(
            planees={USER: self.planee},
            last_nudge_at={USER: last} if last is not None else {},
            snoozes={USER: self.waiting_snoozes({r.id for r in due})},
            states={USER: dict(self.states)},
            latest_logs={},
        )
        decision = settle(claimed, facts, self.now, self.library.all_items())
        by_id = {r.id: r for r in self.rows}
        for row_id, item_id in decision.chosen:
            by_id[row_id].item_id = item_id
        for row_id in decision.cancels:
            by_id[row_id].status = "cancelled"
        for row_id, when in decision.moves:
            by_id[row_id].due_at = when
        if decision.replan:
            self.replan()
        for delivery in decision.deliveries:
            row = by_id[delivery.outbox_id]
            row.status, row.sent_at = "sent", self.now
            if row.kind == "item" and row.item_id is not None:
                self.states[row.item_id] = record_sent(
                    self.states.get(row.item_id), row.item_id, self.now
                )
        for kind in PLANNED_KINDS:
            if any(d.planned and d.kind == kind for d in decision.deliveries):
                self.replan(kinds=(kind,))

    def run_until(self, end: datetime) -> None:
        """Let time pass to ``end``, ticking at every due time on the way."""
        for _ in range(10_000):
            pending = [r.due_at for r in self.rows if r.status == "pending"]
            upcoming = min(pending, default=None)
            if upcoming is None or upcoming > end:
                break
            self.now = max(self.now, upcoming)
            self.tick()
        self.now = max(self.now, end)

    def set_schedule(self, schedule: ScheduleSettings) -> None:
        """A schedule input changed (a pause, a resume): replan, as the unit of work does."""
        self.schedule = schedule
        self.replan()

    def sent_items(self, after: datetime) -> list[Row]:
        return sorted(
            (
                r
                for r in self.rows
                if r.kind == "item" and r.sent_at is not None and r.sent_at > after
            ),
            key=lambda r: (r.sent_at or after, r.id),
        )


@dataclass(frozen=True)
class Case:
    """One promise to check."""

    zone: str
    day: date
    press_minute: int  # minutes after the day's local midnight (may run past it)
    nudge_minute: int
    quiet_start: int
    quiet_end: int
    pace: Pace
    checkin_weekday: int
    scenario: Scenario
    choice: SnoozeChoice
    pause_after: int  # minutes after the press (pause scenarios)
    pause_days: int  # 0: "until I resume"
    resume_after: int  # minutes after the pause (resume scenario)


@dataclass
class Outcome:
    """What a case checked: how many promises, and the broken ones (why)."""

    checked: int = 0
    broken: list[str] = field(default_factory=list)

    def expect(self, kept: bool, why: str) -> None:
        self.checked += 1
        if not kept:
            self.broken.append(why)


def _local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def _named_time_kept(text: str, sent: datetime, zone: str, pressed: datetime) -> bool:
    """The text names the day and the time she got it: its clock time, and its weekday (or
    "today" for the day of the press)."""
    local = _local(sent, zone)
    day_named = f"{local:%A}" in text or (
        "today" in text and local.date() == _local(pressed, zone).date()
    )
    return clock_label(sent, zone) in text and day_named


def check(case: Case, library: Library | None = None) -> Outcome:
    """Run one case; what was said against what happened."""
    library = library or load_library()
    zone = ZoneInfo(case.zone)
    midnight = datetime.combine(case.day, datetime.min.time(), tzinfo=zone)
    pressed = (midnight + timedelta(minutes=case.press_minute)).astimezone(UTC)
    pressed = pressed.replace(second=17, microsecond=0)  # presses are not on whole minutes
    schedule = ScheduleSettings(
        timezone=case.zone,
        nudge_minute=case.nudge_minute,
        pace=case.pace,
        quiet_start_minute=case.quiet_start,
        quiet_end_minute=case.quiet_end,
        checkin_weekday=case.checkin_weekday,
    )
    world = World(schedule, library, now=pressed - HISTORY)
    world.replan()
    world.run_until(pressed)
    if case.scenario == "not_yet":
        return _check_not_yet(world, case, pressed, library)
    return _check_snooze(world, case, pressed, library)


def _check_snooze(world: World, case: Case, pressed: datetime, library: Library) -> Outcome:
    outcome = Outcome()
    zone = case.zone
    item = next(
        (r.item_id for r in reversed(world.sent_items(pressed - HISTORY)) if r.item_id),
        library.all_items()[0].id,
    )
    promise = snooze_promise(case.choice, pressed, world.schedule)
    payload = {PAYLOAD_KEY: promise.record(zone, pressed)}
    said = response_line(library, _RESPONSES[case.choice], payload)
    snoozed = world.add(
        kind="item", item_id=item, due_at=promise.due, planned=False, payload=payload
    )
    expected = promise.due
    paused_from: datetime | None = None
    paused_until: datetime | None = None
    messages: list[tuple[str, datetime]] = []  # (text naming a time, when it was said)
    held = False  # paused "until I resume", never resumed: nothing names a time to keep
    if case.scenario != "snooze" and promise.due - pressed > timedelta(minutes=2):
        # A pause (before the snooze is due) carries it to the resume; its message says when.
        pause_at = pressed + min(timedelta(minutes=case.pause_after), promise.due - pressed) / 2
        world.run_until(pause_at)
        days = case.pause_days or 3650
        paused_until = pause_at + timedelta(days=days)
        paused_from = pause_at
        world.set_schedule(replace(world.schedule, paused_until=paused_until))
        expected = kept_or_carried(snoozed.due_at, world.schedule, pause_at)
        snoozed.due_at = expected
        if case.pause_days:
            text = library.render_text(
                "pause_carries_snooze", when=when_phrase(library, expected, zone, pause_at)
            )
            messages.append((text, pause_at))
        else:
            held = True
        if case.scenario == "snooze_pause_resume":
            resume_at = pause_at + timedelta(minutes=case.resume_after)
            if resume_at < paused_until:
                world.run_until(resume_at)
                world.set_schedule(replace(world.schedule, paused_until=None))
                paused_until = resume_at
                held = False
                expected = kept_or_carried(promise.due, world.schedule, resume_at)
                snoozed.due_at = expected
                text = library.render_text(
                    "resume_brings_snooze", when=when_phrase(library, expected, zone, resume_at)
                )
                messages = [(text, resume_at)]
                # "Your messages will start again at your usual time."
                world.run_until(resume_at + timedelta(days=8))
                first = next(
                    (r for r in world.sent_items(resume_at) if r.planned),
                    None,
                )
                if first is not None and first.sent_at is not None:
                    outcome.expect(
                        _at_usual_time(first.sent_at, world.schedule),
                        f"resume: first nudge at {_local(first.sent_at, zone)} {case}",
                    )
    if held and paused_from is not None:
        world.run_until(world.now + timedelta(days=10))
        outcome.expect(
            not world.sent_items(paused_from), f"sent while paused until she resumes {case}"
        )
        return outcome
    world.run_until(max(expected, world.now) + timedelta(days=2))
    sent = snoozed.sent_at
    outcome.expect(
        snoozed.status == "sent" and sent is not None,
        f"snooze never came back ({snoozed.status}) {case}",
    )
    if sent is None:
        return outcome
    if paused_from is not None and paused_until is not None:
        quiet_pause = [
            r
            for r in world.rows
            if r.sent_at is not None and paused_from <= r.sent_at < paused_until
        ]
        outcome.expect(not quiet_pause, f"sent during the pause {case}")
    if not messages:
        outcome.expect(
            _snooze_kept(promise.wording, said, sent, pressed, world.schedule),
            f"{promise.wording}: said {said!r}, came {_local(sent, zone)} {case}",
        )
    for text, when_said in messages:
        outcome.expect(
            _named_time_kept(text, sent, zone, when_said),
            f"said {text!r}, came {_local(sent, zone)} {case}",
        )
    # And it keeps her rules: never in quiet hours, never on the check-in day.
    local = _local(sent, zone)
    outcome.expect(
        not is_quiet(local.hour * 60 + local.minute, case.quiet_start, case.quiet_end)
        and local.weekday() != case.checkin_weekday,
        f"snooze came {local} in quiet hours or on the check-in day {case}",
    )
    # It takes precedence: no planned nudge on its local day after the press.
    day = _local(sent, zone).date()
    rivals = [
        r
        for r in world.sent_items(pressed)
        if r.planned and r.sent_at is not None and _local(r.sent_at, zone).date() == day
    ]
    outcome.expect(not rivals, f"a planned nudge went the snooze's day {case}")
    return outcome


def _snooze_kept(
    wording: str, said: str, sent: datetime, pressed: datetime, schedule: ScheduleSettings
) -> bool:
    """What the confirmation said (its wording, and the time it named) against when it came."""
    zone = schedule.timezone
    local = _local(sent, zone)
    minute = local.hour * 60 + local.minute
    if clock_label(sent, zone) not in said:
        return False
    if wording == "hour":
        return timedelta(minutes=30) <= sent - pressed <= timedelta(minutes=90)
    if wording == "evening":
        end = schedule.quiet_start_minute
        if schedule.quiet_start_minute == schedule.quiet_end_minute or end <= 17 * 60:
            end = 24 * 60
        return (
            local.date() == _local(pressed, zone).date()
            and 17 * 60 <= minute < end
            and not is_quiet(minute, schedule.quiet_start_minute, schedule.quiet_end_minute)
        )
    if wording == "tomorrow":
        usual = nearest_allowed_minute(
            schedule.nudge_minute, schedule.quiet_start_minute, schedule.quiet_end_minute
        )
        return (
            local.date() == _local(pressed, zone).date() + timedelta(days=1)
            and (minute == usual or _dst_day(local.date(), zone))
            and f"{local:%A}" in said
        )
    return _named_time_kept(said, sent, zone, pressed)  # "at", "resume"


def _dst_day(day: date, zone: str) -> bool:
    """Whether the zone's offset changes on this local day (a wall time may move)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start.utcoffset() != end.utcoffset()


def _at_usual_time(sent: datetime, schedule: ScheduleSettings) -> bool:
    local = _local(sent, schedule.timezone)
    usual = nearest_allowed_minute(
        schedule.nudge_minute, schedule.quiet_start_minute, schedule.quiet_end_minute
    )
    distance = abs(local.hour * 60 + local.minute - usual)
    return distance <= JITTER_MINUTES or _dst_day(local.date(), schedule.timezone)


def _check_not_yet(world: World, case: Case, pressed: datetime, library: Library) -> Outcome:
    outcome = Outcome()
    sent = world.sent_items(pressed - HISTORY)
    items = [r for r in sent if r.item_id is not None]
    if not items:
        return outcome  # nothing to say "Not yet" to
    item_id = items[-1].item_id
    assert item_id is not None
    catalog = library.all_items()
    progress_id = progress_item_id(catalog, item_id)
    state = world.states.get(progress_id) or record_sent(None, progress_id, pressed)
    world.states[progress_id] = apply_outcome(state, "not_yet", pressed)
    planned = [
        r.due_at for r in world.rows if r.planned and r.kind == "item" and r.status == "pending"
    ]
    nxt = not_yet_promise(
        world.planee,
        pressed,
        catalog,
        world.states,
        item_id,
        planned_due=min(planned, default=None),
        last_nudge_at=world.last_nudge_at(),
        snoozes=world.waiting_snoozes(),
        latest_log=None,
    )
    outcome.expect(nxt is not None, f"not yet: no next nudge {case}")
    if nxt is None:
        return outcome
    said = response_line(
        library,
        "not_yet",
        {
            NOT_YET_KEY: {
                "at": nxt.at.isoformat(),
                "comeback": nxt.comeback,
                "zone": case.zone,
                "pressed_at": pressed.isoformat(),
            }
        },
    )
    world.run_until(nxt.at + timedelta(days=1))
    following = world.sent_items(pressed)
    outcome.expect(bool(following), f"not yet: nothing came {case}")
    if not following:
        return outcome
    first = following[0]
    assert first.sent_at is not None and first.item_id is not None
    outcome.expect(
        _named_time_kept(said, first.sent_at, case.zone, pressed),
        f"not yet: said {said!r}, next came {_local(first.sent_at, case.zone)} {case}",
    )
    steps = {item.id: item.step for item in catalog}
    same_step = steps.get(first.item_id) == steps.get(item_id)
    outcome.expect(
        same_step == nxt.comeback,
        f"not yet: said {said!r}, next was {first.item_id} after {item_id} {case}",
    )
    return outcome

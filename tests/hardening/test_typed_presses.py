"""The typed presses over `decode`: what buttons already sent carry reads the same, every press
round-trips through its callback data, and anything else is None (never an exception)."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.callbacks import (
    MAX_INT,
    MAX_PAUSE_DAYS,
    MIN_TIMESTAMP,
    Action,
    Asking,
    AskPress,
    Awaiting,
    BackPress,
    Baseline,
    BaselinePress,
    CardPress,
    ClearPress,
    Field,
    ForgetNo,
    ForgetYes,
    Hold,
    HoldPress,
    LanguageMenu,
    LogItem,
    LogOutcome,
    LogSkipNote,
    NowLog,
    NowMenu,
    NowMoment,
    NowTimer,
    NudgePress,
    Op,
    PauseOfferPress,
    PausePress,
    Response,
    SafetyPress,
    SetCheckinDay,
    SetLanguage,
    SetNudgeTime,
    SetPace,
    SetQuietHours,
    SetTimezone,
    SettingsView,
    TypedPress,
    decode,
    parse,
)
from bot.handlers.freetext import item_code
from content import MOMENTS
from content.locales import LOCALES

# What buttons already sent carry, and what each one means: these strings never change.
SENT: list[tuple[str, TypedPress]] = [
    ("1:n:5:t", NudgePress(5, Op.TRIED)),
    ("1:n:2147483647:w", NudgePress(MAX_INT, Op.WENT_WELL)),
    ("1:n:12:m", NudgePress(12, Op.MIXED)),
    ("1:n:12:h", NudgePress(12, Op.HARD)),
    ("1:n:12:y", NudgePress(12, Op.NOT_YET)),
    ("1:n:12:l", NudgePress(12, Op.LATER)),
    ("1:n:12:l1", NudgePress(12, Op.LATER_HOUR)),
    ("1:n:12:le", NudgePress(12, Op.LATER_EVENING)),
    ("1:n:12:lt", NudgePress(12, Op.LATER_TOMORROW)),
    ("1:n:12:g", NudgePress(12, Op.GOT_IT)),
    ("1:n:12:b", NudgePress(12, Op.BACK)),
    ("1:set:tz:America/Port-au-Prince", SetTimezone("America/Port-au-Prince")),
    ("1:set:tz:Etc/GMT+5", SetTimezone("Etc/GMT+5")),
    ("1:set:tm:1110", SetNudgeTime(18 * 60 + 30)),
    ("1:set:pc:gentle", SetPace("gentle")),
    ("1:set:pc:daily", SetPace("daily")),
    ("1:set:qh:1290:480", SetQuietHours(21 * 60 + 30, 8 * 60)),
    ("1:set:ck:6", SetCheckinDay(6)),
    ("1:ask:tz", AskPress(Field.TIMEZONE)),
    ("1:ask:tm", AskPress(Field.TIME)),
    ("1:ask:pc", AskPress(Field.PACE)),
    ("1:ask:qh", AskPress(Field.QUIET_HOURS)),
    ("1:ask:ck", AskPress(Field.CHECKIN_DAY)),
    ("1:ask:menu", AskPress(SettingsView.MENU)),
    ("1:ask:done", AskPress(SettingsView.DONE)),
    ("1:back", BackPress()),
    ("1:lg:o:went_well", LogOutcome(Response.WENT_WELL)),
    ("1:lg:o:hard", LogOutcome(Response.HARD)),
    ("1:lg:i:12:s1-notice", LogItem(12, "s1-notice")),
    ("1:lg:i:12:-", LogItem(12, None)),
    ("1:lg:n:12", LogSkipNote(12)),
    ("1:fg:yes:1796000000", ForgetYes(datetime.fromtimestamp(1_796_000_000, UTC))),
    ("1:fg:yes", ForgetYes(None)),  # the first /forget buttons, before they carried the time
    ("1:fg:no", ForgetNo()),
    ("1:pz:0", PausePress(0)),
    ("1:pz:7", PausePress(7)),
    ("1:pz:365", PausePress(MAX_PAUSE_DAYS)),
    ("1:po:go", PauseOfferPress()),
    ("1:bl:go", BaselinePress(Baseline.GO)),
    ("1:bl:skip", BaselinePress(Baseline.SKIP)),
    ("1:now", NowMenu()),
    ("1:now:shut-down", NowMoment("shut-down")),
    ("1:now:opening-up", NowMoment("opening-up")),
    ("1:now:timer", NowTimer()),
    ("1:now:log", NowLog()),
    ("1:sf", SafetyPress()),
    ("1:ca:abcdef.012345", CardPress(("abcdef", "012345"))),
    ("1:ca:0a1b2c", CardPress(("0a1b2c",))),
    ("1:cl:42:es", ClearPress(42, "es")),
    ("1:hd:k:en", HoldPress(Hold.KEEP, "en")),
    ("1:hd:c:ru", HoldPress(Hold.CARRY_ON, "ru")),
    ("1:lang", LanguageMenu()),
    ("1:lang:es", SetLanguage("es")),
    ("1:lang:ru", SetLanguage("ru")),
]


@pytest.mark.parametrize(("data", "press"), SENT, ids=[data for data, _ in SENT])
def test_what_buttons_carry_reads_as_the_same_press_and_back(data: str, press: TypedPress) -> None:
    assert parse(data) == press
    assert press.encode() == data
    decoded = decode(data)  # the gate under it reads it too, to the same action
    assert decoded is not None and decoded.action == press.action


def test_every_action_and_opcode_has_a_press() -> None:
    actions = {press.action for _, press in SENT}
    assert actions == set(Action)
    ops = {press.op for _, press in SENT if isinstance(press, NudgePress)}
    assert ops == set(Op)


@pytest.mark.parametrize(
    "data",
    [
        "1:n:5:x",  # an opcode Closer never had
        "1:n:5",
        "1:n:5:t:t",
        "1:n:x:t",
        "1:n:2147483648:t",
        "1:set:tz:Mars/Olympus",
        "1:set:tz:../../etc/passwd",
        "1:set:tz:Europe/Zürich",
        "1:set:tm:1440",
        "1:set:tm:99999",
        "1:set:pc:hourly",
        "1:set:qh:60:60",
        "1:set:qh:60",
        "1:set:ck:7",
        "1:set:xx:1",
        "1:set",
        "1:ask",
        "1:ask:xx",
        "1:ask:tz:tm",
        "1:back:tz",
        "1:lg:o:not_yet",
        "1:lg:o:expired",
        "1:lg:i:x:-",
        "1:lg:i:12",
        "1:lg:n",
        "1:lg:x:12",
        "1:fg:yes:0",  # a time before any confirmation was asked
        "1:fg:yes:x",
        "1:fg:maybe",
        "1:fg:no:1",
        "1:pz:366",
        "1:pz:x",
        "1:pz",
        "1:po",
        "1:po:x",
        "1:bl:later",
        "1:now:dance",
        "1:now:log:log",
        "1:sf:x",
        "1:ca:xyz",
        "1:ca:ABCDEF",
        "1:ca:abcdef..012345",
        "1:cl:x:en",
        "1:cl:5:fr",
        "1:cl:5",
        "1:hd:x:en",
        "1:hd:k",
        "1:zz",  # an action Closer does not have
        "2:n:5:t",
        "",
        "1",
    ],
)
def test_what_no_button_carries_is_none(data: str) -> None:
    assert parse(data) is None


def test_not_even_a_string_is_none() -> None:
    for data in (None, b"1:n:5:t", 5, ["1:n:5:t"]):
        assert parse(data) is None


_INTS = st.integers(min_value=0, max_value=MAX_INT)
_MINUTES = st.integers(min_value=0, max_value=24 * 60 - 1)
# Content ids are slugs that start with a letter ("s1-notice"); an all-digit argument is a number
# to the gate, which refuses one too large for a database column.
_ITEM_IDS = st.from_regex(r"[a-z][a-z0-9_-]{0,39}", fullmatch=True)
_LOCALES = st.sampled_from(LOCALES)
PRESSES: st.SearchStrategy[TypedPress] = st.one_of(
    st.builds(NudgePress, _INTS, st.sampled_from(Op)),
    st.builds(SetTimezone, st.sampled_from(["UTC", "Europe/London", "Asia/Kolkata", "Etc/GMT-14"])),
    st.builds(SetNudgeTime, _MINUTES),
    st.builds(SetPace, st.sampled_from(["gentle", "steady", "daily"])),
    st.builds(SetQuietHours, _MINUTES, _MINUTES).filter(lambda p: p.start != p.end),
    st.builds(SetCheckinDay, st.integers(min_value=0, max_value=6)),
    st.builds(AskPress, st.one_of(st.sampled_from(Field), st.sampled_from(SettingsView))),
    st.just(BackPress()),
    st.builds(LogOutcome, st.sampled_from([Response.WENT_WELL, Response.MIXED, Response.HARD])),
    st.builds(LogItem, _INTS, st.one_of(st.none(), _ITEM_IDS.filter(lambda i: i != "-"))),
    st.builds(LogSkipNote, _INTS),
    st.builds(
        ForgetYes,
        st.one_of(
            st.none(),
            st.integers(min_value=MIN_TIMESTAMP, max_value=MAX_INT).map(
                lambda t: datetime.fromtimestamp(t, UTC)
            ),
        ),
    ),
    st.just(ForgetNo()),
    st.builds(PausePress, st.integers(min_value=0, max_value=MAX_PAUSE_DAYS)),
    st.just(PauseOfferPress()),
    st.builds(BaselinePress, st.sampled_from(Baseline)),
    st.sampled_from([NowMenu(), NowTimer(), NowLog(), SafetyPress()]),
    st.builds(NowMoment, st.sampled_from(MOMENTS)),
    st.builds(
        CardPress,
        st.lists(_ITEM_IDS.map(item_code), min_size=1, max_size=8).map(tuple),
    ),
    st.builds(ClearPress, _INTS, _LOCALES),
    st.builds(HoldPress, st.sampled_from(Hold), _LOCALES),
)


@settings(max_examples=2000)
@given(PRESSES)
def test_every_press_round_trips_through_its_callback_data(press: TypedPress) -> None:
    data = press.encode()
    assert len(data.encode("utf-8")) <= 64
    assert parse(data) == press


_NOISE = string.ascii_letters + string.digits + ":-_/+." + "é\ud800\x00 "


@settings(max_examples=3000)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=_NOISE, max_size=80),
        st.builds(
            lambda action, tail: f"1:{action}:{tail}",
            st.sampled_from([a.value for a in Action]),
            st.text(alphabet=_NOISE, max_size=60),
        ),
        st.builds(
            lambda action, args: ":".join(["1", action, *args]),
            st.sampled_from([a.value for a in Action]),
            st.lists(
                st.one_of(
                    st.integers(min_value=-(2**40), max_value=2**40).map(str),
                    st.sampled_from([*(o.value for o in Op), "tz", "yes", "-", "go", "en"]),
                    st.text(alphabet=string.printable, max_size=12),
                ),
                max_size=4,
            ),
        ),
    )
)
def test_parse_never_raises_and_what_it_accepts_is_what_it_would_encode(data: str) -> None:
    press = parse(data)
    if press is not None:
        assert press.encode() == data or _a_shorter_spelling(data, press)


def _a_shorter_spelling(data: str, press: TypedPress) -> bool:
    """Numbers with leading zeros ("1:pz:07") read as the number, as ``decode`` reads them."""
    return parse(press.encode()) == press and decode(data) is not None


def test_a_card_press_keeps_the_codes_that_fit() -> None:
    codes = tuple(f"{n:06x}" for n in range(20))
    press = CardPress.fitting(codes)
    assert press is not None and 0 < len(press.codes) < len(codes)
    assert press.codes == codes[: len(press.codes)]
    assert len(press.encode()) <= 64
    assert CardPress.fitting(()) is None


# ---------------------------------------------------------------- what she is asked


@pytest.mark.parametrize(
    ("code", "awaiting"),
    [
        ("tz", Awaiting(Asking.TIMEZONE)),
        ("tm", Awaiting(Asking.TIME)),
        ("qh", Awaiting(Asking.QUIET_HOURS)),
        ("note:12", Awaiting.note(12)),
        (f"note:{MAX_INT}", Awaiting.note(MAX_INT)),
    ],
)
def test_a_stored_question_reads_back_as_itself(code: str, awaiting: Awaiting) -> None:
    assert Awaiting.parse(code) == awaiting
    assert awaiting.code == code


@pytest.mark.parametrize(
    "code",
    [None, "", "pc", "ck", "note", "note:", "note:x", "note:-1", f"note:{MAX_INT + 1}", "tz:1"],
)
def test_a_stored_code_closer_does_not_know_is_no_question(code: str | None) -> None:
    assert Awaiting.parse(code) is None


def test_what_a_setting_question_waits_for() -> None:
    assert Awaiting.setting(Field.TIMEZONE) == Awaiting(Asking.TIMEZONE)
    assert Awaiting(Asking.QUIET_HOURS).field is Field.QUIET_HOURS
    assert Awaiting.note(3).field is None
    assert Awaiting.setting(Field.PACE) is None  # picked with buttons, never typed
    assert Awaiting.setting(Field.CHECKIN_DAY) is None
    with pytest.raises(ValueError):
        Awaiting(Asking.NOTE)
    with pytest.raises(ValueError):
        Awaiting(Asking.TIME, 3)


def test_what_each_answer_records() -> None:
    assert [op for op in Op if op.response is None] == [Op.TRIED, Op.LATER, Op.BACK]
    assert Op.LATER_EVENING.response is Response.LATER_EVENING
    assert {r: r.outcome for r in Response if r.outcome is not None} == {
        Response.WENT_WELL: "went_well",
        Response.MIXED: "mixed",
        Response.HARD: "hard",
        Response.NOT_YET: "not_yet",
    }
    assert [r for r in Response if r.tried] == [Response.WENT_WELL, Response.MIXED, Response.HARD]
    assert Response.parse("later_hour") is Response.LATER_HOUR
    assert Response.parse("ignored") is None


def test_every_keyboard_closer_builds_carries_presses_that_parse() -> None:
    from telegram import InlineKeyboardMarkup

    from bot import keyboards
    from bot.handlers import freetext, hearing, journal, moments, setup
    from bot.nudges import Menu, nudge_keyboard
    from bot.render.progress import baseline_keyboard
    from content import default_library
    from content.locales import default_locales

    library = default_library()
    insight = next(item for item in library.all_items() if item.kind == "insight")
    markups: list[InlineKeyboardMarkup] = [
        *(setup.timezone_question(library, onboarding)[1] for onboarding in (True, False)),
        *(setup.pace_question(library, onboarding)[1] for onboarding in (True, False)),
        setup.time_question(library, True, (21 * 60 + 30, 8 * 60))[1],
        setup.quiet_question(library)[1],
        setup.checkin_question(library)[1],
        keyboards.settings_menu(library, "")[1],
        keyboards.pause_keyboard(),
        keyboards.pause_offer_keyboard(),
        keyboards.forget_keyboard(datetime(2026, 3, 2, 10, tzinfo=UTC)),
        baseline_keyboard(),
        moments.moments_keyboard(library),
        keyboards.language_keyboard(),
        keyboards.help_keyboard(),
        keyboards.outcome_keyboard(),
        journal._note_keyboard(library, 12),
        freetext._card_keyboard(library, [item.id for item in library.all_items()[:3]]),
        *(hearing._keyboard(default_locales().get(code), 42, True) for code in LOCALES),
        *(nudge_keyboard(item, 12, menu) for item in (library.steps[0], insight) for menu in Menu),
    ]
    seen: set[type[TypedPress]] = set()
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                data = button.callback_data
                assert isinstance(data, str)
                press = parse(data)
                assert press is not None and press.encode() == data, data
                seen.add(type(press))
    # All but two, built inside their handlers (a step's row needs her log; the timer's, a card).
    every = {type(press) for _, press in SENT}
    assert every - seen == {LogItem, NowTimer}

"""Forged callback data: `decode` is the one gate, and nothing malformed gets through it."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.callbacks import MAX_INT, Press, decode, encode

_ALPHABET = string.ascii_letters + string.digits + ":-_/+." + "é\ud800\udfff\x00 "


def _check_accepted(data: object, press: Press | None) -> None:
    if press is None:
        return
    assert isinstance(data, str)
    assert encode(press.action, *press.args) == data
    for index in range(len(press.args) + 1):
        number = press.int_arg(index)
        assert number is None or 0 <= number <= MAX_INT
        press.time_arg(index)  # never raises


@settings(max_examples=3000)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=_ALPHABET, max_size=80),
        st.builds(lambda tail: "1:" + tail, st.text(alphabet=_ALPHABET, max_size=70)),
        st.builds(
            lambda action, numbers: ":".join(["1", action, *map(str, numbers)]),
            st.sampled_from(["n", "fg", "lg", "set", "pz"]),
            st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=3),
        ),
        st.binary(max_size=80),
        st.builds(bytearray, st.binary(max_size=80)),
        st.integers(),
        st.none(),
    )
)
def test_decode_never_raises_and_every_accepted_press_round_trips(data: object) -> None:
    _check_accepted(data, decode(data))


@pytest.mark.parametrize(
    "data",
    [
        "1:fg:yes:999999999999999999",  # OSError in datetime.fromtimestamp before
        "1:n:2147483648:tried",  # one past PostgreSQL's INTEGER
        "1:n:\ud800:tried",  # a lone surrogate: UnicodeEncodeError before
        "1:set:tz:Europe/Zürich",  # non-ASCII
        "1:n:12:tried\x00",  # a control character
        "1:n::tried",  # an empty argument
        "1:N:12",  # an action Closer never uses
        "1::12",
        "2:n:12:tried",  # another version
        "1:n:" + "9" * 70,  # too long
        "1",
        "",
    ],
)
def test_malformed_callback_data_is_rejected(data: str) -> None:
    assert decode(data) is None


@pytest.mark.parametrize(
    ("data", "args"),
    [
        ("1:n:2147483647:tried", ("2147483647", "tried")),
        ("1:set:tz:America/Port-au-Prince", ("tz", "America/Port-au-Prince")),
        ("1:set:tz:Etc/GMT+5", ("tz", "Etc/GMT+5")),
        ("1:lg:i:12:-", ("i", "12", "-")),
        ("1:back", ()),
    ],
)
def test_what_closer_encodes_is_accepted(data: str, args: tuple[str, ...]) -> None:
    press = decode(data)
    assert press is not None
    assert press.args == args
    assert encode(press.action, *press.args) == data


def test_a_timestamp_far_in_the_past_or_future_is_no_time() -> None:
    assert decode("1:fg:yes:0") is not None
    press = decode("1:fg:yes:0")
    assert press is not None and press.time_arg(1) is None
    recent = decode("1:fg:yes:1796000000")
    assert recent is not None and recent.time_arg(1) is not None

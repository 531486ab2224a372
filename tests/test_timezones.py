"""Tests for bot.timezones: typed text and shared locations -> IANA zones, offline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.timezones import (
    COMMON_ZONES,
    ZoneChoice,
    _zone_countries,
    _zone_links,
    country_of_zone,
    resolve_location,
    resolve_text,
    zone_label,
)

# A winter instant: no DST anywhere in the northern hemisphere, so offsets are standard ones.
JANUARY = datetime(2025, 1, 15, 12, tzinfo=UTC)


def zones(text: str) -> list[str]:
    return [choice.zone for choice in resolve_text(text)]


def only(text: str) -> ZoneChoice:
    choices = resolve_text(text)
    assert len(choices) == 1, choices
    return choices[0]


def offset_of(zone: str, when: datetime = JANUARY) -> timedelta | None:
    return when.astimezone(ZoneInfo(zone)).utcoffset()


# ----------------------------------------------------------------------------- COMMON_ZONES


def test_common_zones_are_buttons_for_real_zones() -> None:
    assert 8 <= len(COMMON_ZONES) <= 10
    labels = [label for label, _ in COMMON_ZONES]
    assert len(set(labels)) == len(labels)
    for label, zone in COMMON_ZONES:
        assert label
        ZoneInfo(zone)
    assert ("London", "Europe/London") in COMMON_ZONES
    assert ("Delhi", "Asia/Kolkata") in COMMON_ZONES
    assert ("UTC", "UTC") in COMMON_ZONES


# ----------------------------------------------------------------------------- zone names


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("europe/berlin", "Europe/Berlin"),
        ("America/New_York", "America/New_York"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("america/new york", "America/New_York"),
        ("AMERICA/SAO_PAULO", "America/Sao_Paulo"),
        ("  Europe / London.  ", "Europe/London"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Etc/GMT-5", "Etc/GMT-5"),
    ],
)
def test_iana_names_in_any_case(text: str, zone: str) -> None:
    assert only(text) == ZoneChoice(zone, zone_label(zone), "zone")


def test_a_typed_etc_gmt_name_is_shown_with_the_sign_people_mean() -> None:
    assert only("Etc/GMT-5").label == "UTC+5"
    assert only("etc/gmt+5").label == "UTC\u22125"


@pytest.mark.parametrize(
    "text", ["UTC", "utc", "GMT", "gmt", "Z", "Zulu", "UTC+0", "GMT-0", "+00:00"]
)
def test_utc_aliases(text: str) -> None:
    choice = only(text)
    assert choice.zone == "UTC"
    assert choice.label == "UTC"


@pytest.mark.parametrize(
    ("text", "zone"),
    [("EST", "America/New_York"), ("pst", "America/Los_Angeles"), ("CET", "Europe/Berlin")],
)
def test_common_abbreviations_map_to_zones_with_dst(text: str, zone: str) -> None:
    choice = only(text)
    assert choice.zone == zone
    assert choice.matched == "zone"


def test_unknown_zone_name_is_not_recognised() -> None:
    assert resolve_text("Europe/Atlantis") == []


# ----------------------------------------------------------------------------- offsets


@pytest.mark.parametrize(
    ("text", "zone", "hours", "minutes"),
    [
        ("UTC+2", "Etc/GMT-2", 2, 0),
        ("GMT-5", "Etc/GMT+5", -5, 0),
        ("-3", "Etc/GMT+3", -3, 0),
        ("utc +14", "Etc/GMT-14", 14, 0),
        ("UTC-12", "Etc/GMT+12", -12, 0),
        ("+05:30", "Asia/Kolkata", 5, 30),
        ("utc +5:45", "Asia/Kathmandu", 5, 45),
        ("+0930", "Australia/Darwin", 9, 30),
        ("-03:30", "America/St_Johns", -3, -30),
        ("UTC+4:30", "Asia/Kabul", 4, 30),
        ("utc−7", "Etc/GMT+7", -7, 0),  # a Unicode minus sign
    ],
)
def test_offsets(text: str, zone: str, hours: int, minutes: int) -> None:
    choice = only(text)
    assert choice.zone == zone
    assert choice.matched == "offset"
    # Etc/GMT uses the inverted POSIX sign: check the real offset, not the name.
    assert offset_of(choice.zone) == timedelta(hours=hours, minutes=minutes)


def test_offset_labels_carry_the_sign_people_mean() -> None:
    assert only("+05:30").label == "UTC+5:30 (Asia/Kolkata)"
    assert only("-03:30").label == "UTC\u22123:30 (America/St_Johns)"
    assert only("GMT-5").label == "UTC\u22125"
    assert only("UTC-5").label == "UTC\u22125"
    assert only("UTC+2").label == "UTC+2"


@pytest.mark.parametrize(
    ("zone", "label"),
    [
        ("Etc/GMT+5", "UTC\u22125"),  # POSIX: Etc/GMT+5 is five hours *behind* UTC
        ("Etc/GMT-5", "UTC+5"),
        ("Etc/GMT-14", "UTC+14"),
        ("Etc/GMT+12", "UTC\u221212"),
        ("Etc/GMT", "UTC"),
        ("Etc/UTC", "UTC"),
        ("UTC", "UTC"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_zone_label(zone: str, label: str) -> None:
    assert zone_label(zone) == label


@pytest.mark.parametrize("hours", range(-12, 15))
def test_zone_label_of_every_whole_offset_matches_its_real_offset(hours: int) -> None:
    if hours == 0:
        return
    zone = only(f"UTC{hours:+d}").zone
    assert offset_of(zone) == timedelta(hours=hours)
    sign = "+" if hours > 0 else "\u2212"
    assert zone_label(zone) == f"UTC{sign}{abs(hours)}"


@pytest.mark.parametrize(
    "text", ["UTC+99", "UTC+15", "-13", "+14:30", "UTC+5:61", "+05:17", "GMT+3:20", "5", "12:30"]
)
def test_bad_or_ambiguous_offsets_are_rejected(text: str) -> None:
    assert resolve_text(text) == []


# ----------------------------------------------------------------------------- cities


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Sao Paulo", "America/Sao_Paulo"),
        ("são paulo", "America/Sao_Paulo"),
        ("SÃO PAULO", "America/Sao_Paulo"),
        ("münchen", "Europe/Berlin"),
        ("Munich", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("NYC", "America/New_York"),
        ("Berlin", "Europe/Berlin"),
        ("  Tokyo!! ", "Asia/Tokyo"),
        ("Berlin 🇩🇪", "Europe/Berlin"),
        ("krakow", "Europe/Warsaw"),
        ("Zürich", "Europe/Zurich"),
        ("Kiev", "Europe/Kyiv"),
        ("bombay", "Asia/Kolkata"),
        ("Москва", "Europe/Moscow"),
    ],
)
def test_cities_with_or_without_accents(text: str, zone: str) -> None:
    choices = resolve_text(text)
    assert choices, text
    assert choices[0].zone == zone
    assert choices[0].matched == "city"


def test_city_label_names_the_city_and_country() -> None:
    assert only("Berlin").label == "Europe/Berlin (Berlin, Germany)"


def test_ambiguous_city_most_populous_first() -> None:
    paris = resolve_text("Paris")
    assert [c.zone for c in paris][:2] == ["Europe/Paris", "America/Chicago"]
    assert "France" in paris[0].label
    assert "Texas" in paris[1].label

    portland = resolve_text("Portland")
    assert portland[0].zone == "America/Los_Angeles"
    assert "Oregon" in portland[0].label
    assert "America/New_York" in [c.zone for c in portland]  # Portland, Maine

    assert zones("London")[:2] == ["Europe/London", "America/Toronto"]


def test_ambiguous_results_are_capped_and_distinct() -> None:
    springfield = resolve_text("Springfield")
    assert 2 <= len(springfield) <= 5
    assert len({c.zone for c in springfield}) == len(springfield)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Paris, France", "Europe/Paris"),
        ("Paris, Texas", "America/Chicago"),
        ("Paris TX", "America/Chicago"),
        ("Portland, Oregon", "America/Los_Angeles"),
        ("Portland, ME", "America/New_York"),
        ("Portland Maine", "America/New_York"),
        ("London, Canada", "America/Toronto"),
        ("London, UK", "Europe/London"),
        ("Portland, OR, USA", "America/Los_Angeles"),
    ],
)
def test_city_with_country_or_state(text: str, zone: str) -> None:
    assert zones(text) == [zone]


def test_qualifier_that_does_not_contain_the_city() -> None:
    assert resolve_text("Paris, Germany") == []


def test_saint_abbreviation() -> None:
    assert zones("St. Petersburg")[:2] == ["Europe/Moscow", "America/New_York"]


# ----------------------------------------------------------------------------- countries


@pytest.mark.parametrize(
    ("text", "zone"),
    [("Germany", "Europe/Berlin"), ("Japan", "Asia/Tokyo"), ("india", "Asia/Kolkata")],
)
def test_single_zone_country(text: str, zone: str) -> None:
    assert zones(text) == [zone]


def test_multi_zone_country_lists_its_biggest_zones() -> None:
    us = zones("USA")
    assert us[0] == "America/New_York"
    assert {"America/Chicago", "America/Los_Angeles"} <= set(us)
    assert len(us) <= 5
    assert zones("United States") == us


def test_country_before_same_named_state() -> None:
    assert zones("Georgia")[0] == "Asia/Tbilisi"
    assert "America/New_York" in zones("Georgia")  # the US state


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text",
    [
        "asdfgh",
        "",
        "   ",
        "Mars",
        "😀",
        "🙂🙂🙂",
        "?!",
        "yes",
        "no",
        "/start",
        "Europe/",
        "x" * 101,
    ],
)
def test_unrecognised_text(text: str) -> None:
    assert resolve_text(text) == []


def test_long_text_is_rejected_even_if_it_contains_a_city() -> None:
    assert resolve_text("Berlin" + " " * 100) == []
    assert resolve_text("Berlin" + " " * 50) != []


# ----------------------------------------------------------------------------- locations


@pytest.mark.parametrize(
    ("latitude", "longitude", "zone"),
    [
        (52.52, 13.405, "Europe/Berlin"),
        (-33.8688, 151.2093, "Australia/Sydney"),
        (40.7128, -74.006, "America/New_York"),
        (28.6139, 77.209, "Asia/Kolkata"),
    ],
)
def test_location(latitude: float, longitude: float, zone: str) -> None:
    choice = resolve_location(latitude, longitude)
    assert choice is not None
    assert choice.zone == zone
    assert choice.matched == "location"
    assert choice.label.startswith(zone)
    ZoneInfo(choice.zone)


def test_location_label_names_a_nearby_city() -> None:
    choice = resolve_location(52.52, 13.405)
    assert choice is not None
    assert choice.label == "Europe/Berlin (near Berlin, Germany)"


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(0.0, -30.0), (-40.0, -120.0), (0.0, 0.0)],  # mid-Atlantic, South Pacific, "Null Island"
)
def test_open_ocean_has_no_zone(latitude: float, longitude: float) -> None:
    assert resolve_location(latitude, longitude) is None


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (91.0, 0.0),
        (-90.5, 0.0),
        (0.0, 180.5),
        (0.0, -181.0),
        (float("nan"), 0.0),
        (0.0, float("inf")),
    ],
)
def test_out_of_range_coordinates(latitude: float, longitude: float) -> None:
    assert resolve_location(latitude, longitude) is None


# ----------------------------------------------------------------------------- properties


def _check(choices: object) -> None:
    assert isinstance(choices, list)
    assert len(choices) <= 5
    for choice in choices:
        assert isinstance(choice, ZoneChoice)
        assert choice.matched in {"city", "zone", "offset"}
        assert choice.label
        ZoneInfo(choice.zone)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_resolve_text_never_raises(text: str) -> None:
    _check(resolve_text(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="utcgmzUTCGMZ+-−:.h0123456789 ,/", max_size=14))
def test_offset_like_text_never_raises(text: str) -> None:
    choices = resolve_text(text)
    _check(choices)
    for choice in choices:
        if choice.matched == "offset":
            offset = offset_of(choice.zone)
            assert offset is not None
            assert timedelta(hours=-12) <= offset <= timedelta(hours=14)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([zone for _, zone in COMMON_ZONES]))
def test_every_common_zone_name_resolves_to_itself(zone: str) -> None:
    assert zones(zone) == [zone]


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
)
@example(-70.0, -6.0)  # an Antarctic ice shelf: timezonefinder 9 says Etc/UTC
def test_resolve_location_returns_loadable_zones(latitude: float, longitude: float) -> None:
    choice = resolve_location(latitude, longitude)
    if choice is not None:
        ZoneInfo(choice.zone)
        assert not choice.zone.startswith("Etc/")


# ----------------------------------------------------------------------------- country_of_zone


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("Europe/Berlin", "DE"),
        ("America/New_York", "US"),
        # tzdata's backward names: the country of the zone they stand for
        ("US/Eastern", "US"),
        ("Asia/Calcutta", "IN"),
        ("Europe/Kiev", "UA"),
        ("America/Montreal", "CA"),
        ("Asia/Saigon", "VN"),
        ("Europe/Belfast", "GB"),
        ("GB", "GB"),
        ("W-SU", "RU"),
        ("Mexico/General", "MX"),
        ("America/Buenos_Aires", "AR"),
        # tzdata merged these into another country's zone; they keep their own country
        ("Iceland", "IS"),
        ("Africa/Asmera", "ER"),
        ("Atlantic/Reykjavik", "IS"),
        ("Europe/Amsterdam", "NL"),
    ],
)
def test_a_zone_and_its_old_names_find_the_country(zone: str, country: str) -> None:
    assert country_of_zone(zone) == country


@pytest.mark.parametrize(
    "zone", ["UTC", "Etc/UTC", "Etc/GMT+5", "GMT", "CET", "EST", "EST5EDT", "Factory", "Mars/Base"]
)
def test_zones_of_no_one_country_have_none(zone: str) -> None:
    assert country_of_zone(zone) is None


def test_every_link_tzdata_ships_is_read_and_resolved() -> None:
    links = _zone_links()
    assert links["Asia/Calcutta"] == "Asia/Kolkata" and links["US/Eastern"] == "America/New_York"
    assert len(links) > 200
    for name, target in links.items():
        assert target not in links, (name, target)  # followed to the end of any chain
        if "/" in name and not name.startswith("Etc/"):
            assert country_of_zone(name) is not None, name


def test_every_zone_tzdata_lists_keeps_its_listed_country() -> None:
    for zone, country in _zone_countries().items():
        assert country_of_zone(zone) == country, zone

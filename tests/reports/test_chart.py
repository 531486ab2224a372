"""The /progress chart: a PNG that decodes at 1080 px wide, for any number of weeks, in threads."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from io import BytesIO

import pytest
from PIL import Image

from bot.reports.chart import (
    HEIGHT_PX,
    WIDTH_PX,
    caption,
    progress_report,
    render_progress_chart,
    should_chart,
)
from bot.reports.weeks import WeekSummary
from content.render import visible_length, visible_text
from content.report_texts import CAPTION_LIMIT


def weeks_of_data(count: int) -> list[WeekSummary]:
    """``count`` weeks: scores creeping up, a quiet week now and then, some hard talks."""
    start = date(2026, 9, 7)
    return [
        WeekSummary(
            start + timedelta(days=7 * i),
            scores={}
            if i % 5 == 4
            else {
                "connected": 1 + (i // 3) % 4,
                "confidence": min(4, 1 + i // 4),
                "wellbeing": 3 if i % 2 else 2,
            },
            went_well=i % 3,
            mixed=1 if i % 4 == 1 else 0,
            hard=1 if i % 6 == 5 else 0,
        )
        for i in range(count)
    ]


def decode(png: bytes) -> Image.Image:
    image = Image.open(BytesIO(png))
    image.load()  # decodes every pixel: a truncated or corrupt file fails here
    return image


@pytest.mark.parametrize("count", [0, 1, 2, 12])
def test_the_chart_decodes_at_phone_size(count: int) -> None:
    weeks = weeks_of_data(count)
    render_progress_chart(weeks)  # the first render imports matplotlib and loads fonts
    times = []
    for _ in range(5):
        started = time.perf_counter()
        png = render_progress_chart(weeks)
        times.append(time.perf_counter() - started)
    times.sort()
    print(
        f"\nchart for {count} weeks: best {times[0] * 1000:.0f} ms, "
        f"median {times[2] * 1000:.0f} ms of 5, {len(png) / 1024:.0f} KiB"
    )
    image = decode(png)
    assert image.format == "PNG"
    assert image.size == (WIDTH_PX, HEIGHT_PX) == (1080, 1350)
    # Not blank: a real chart has ink of several colours.
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or ()) > 20


def test_only_two_weeks_with_data_make_a_chart() -> None:
    assert not should_chart([])
    assert not should_chart(weeks_of_data(1))
    assert not should_chart([*weeks_of_data(1), WeekSummary(date(2026, 9, 14))])
    assert should_chart(weeks_of_data(2))


def test_renders_in_threads_at_once_match_a_render_alone() -> None:
    weeks = weeks_of_data(12)
    alone = render_progress_chart(weeks)
    others = weeks_of_data(5)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(render_progress_chart, [weeks, others] * 2))
    assert all(png == alone for png in results[0::2])
    assert all(png == render_progress_chart(others) for png in results[1::2])


def test_the_caption_says_the_same_facts_in_words() -> None:
    weeks = weeks_of_data(12)
    text = visible_text(caption(weeks))
    print(f"\n{text}")
    went_well = sum(w.went_well for w in weeks)
    mixed = sum(w.mixed for w in weeks)
    hard = sum(w.hard for w in weeks)
    total = went_well + mixed + hard
    assert text.startswith("Your last 12 weeks")
    assert (
        f"Conversations logged: {total} ({went_well} went well, {mixed} mixed, {hard} hard)."
        in text
    )
    # The latest answer per measure, then the first: week 11 is (4, 3, 3), week 0 (1, 1, 2).
    assert "Feeling connected 4 of 4 (first week 1)" in text
    assert "Confidence 3 of 4 (first week 1)" in text
    assert "How you're doing 3 of 4 (first week 2)" in text
    # Practice, by hand: weeks 0, 3 and 6 had no try; each week moves it a fifth of the way.
    tried = [0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1]
    assert [int(w.conversations > 0) for w in weeks] == tried
    strength = 0.0
    for value in tried:
        strength += (value - strength) / 5
    assert f"Practice: {round(100 * strength)}%" in text
    assert visible_length(caption(weeks)) <= CAPTION_LIMIT


@pytest.mark.parametrize("count", [0, 1])
def test_little_data_gets_a_text_view(count: int) -> None:
    text = visible_text(caption(weeks_of_data(count)))
    print(f"\n{text}")
    if count == 0:
        assert text.startswith("Nothing to show yet")
    else:
        assert text.startswith("Your first week")
        assert "Feeling connected 1 of 4" in text and "(first week" not in text


def test_progress_sends_text_alone_until_two_weeks_then_a_chart_of_the_latest_weeks() -> None:
    assert progress_report(weeks_of_data(1)).png is None
    one = progress_report(weeks_of_data(1))
    assert one.caption == caption(weeks_of_data(1))
    year = weeks_of_data(52)
    report = progress_report(year)
    assert report.png is not None and decode(report.png).size == (1080, 1350)
    assert visible_text(report.caption).startswith("Your last 52 weeks")
    # The chart shows the last twelve weeks; practice before them still counts.
    assert report.png != render_progress_chart(year[-12:])

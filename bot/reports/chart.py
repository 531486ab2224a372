"""/progress as a picture: a PNG of her weeks, and a caption with the same facts in words.

Matplotlib through its object API only (``Figure`` and the ``Agg`` canvas, never ``pyplot``): each
call builds its own figure and touches no global state (no rcParams, no pyplot figure registry),
so renders may run in worker threads at once (``await asyncio.to_thread(render_progress_chart,
weeks)``). Fewer than two weeks of data: ``should_chart`` says no, and ``caption`` is the view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from bot.reports.lookback import breakdown, format_score
from bot.reports.weeks import WeekSummary, consistency, scale_top
from content.loader import default_library
from content.models import MEASURES
from content.report_texts import ReportTexts, default_report_texts

# 1080 x 1350 px (4:5, a phone's portrait photo): wide enough to read when Telegram fits it to
# the screen. Sizes are in points at 100 dpi; a phone shows the image at about a third of its
# pixels, so 20 pt here reads like 7-8 pt on paper: the smallest size used.
WIDTH_PX, HEIGHT_PX, DPI = 1080, 1350, 100
TITLE_PT, PANEL_PT, TICK_PT, LEGEND_PT = 30, 24, 20, 19
MAX_LABELS = 6  # week labels along the bottom; more would collide at this size
MAX_CHART_WEEKS = 12  # the chart shows the latest weeks; practice still counts them all

# Okabe-Ito colours (safe for colour-blind readers); "hard" is a calm blue, not an alarm red.
MEASURE_COLOURS = {"connected": "#CC79A7", "confidence": "#0072B2", "wellbeing": "#D55E00"}
MEASURE_MARKERS = {"connected": "o", "confidence": "s", "wellbeing": "D"}
# Answers are whole numbers, so two measures often sit on the same value: a small vertical
# offset keeps every line visible (far less than the gap between two answers).
MEASURE_OFFSETS = {"connected": 0.1, "confidence": 0.0, "wellbeing": -0.1}
OUTCOME_COLOURS = {"went_well": "#009E73", "mixed": "#E69F00", "hard": "#56B4E9"}
PRACTICE_COLOUR = "#009E73"


def should_chart(weeks: Sequence[WeekSummary]) -> bool:
    """Whether there is enough to chart: at least two weeks with an answer or a log."""
    return sum(1 for week in weeks if week.has_data) >= 2


def _week_label(week: WeekSummary) -> str:
    return f"{week.start.day} {week.start:%b}"


def render_progress_chart(
    weeks: Sequence[WeekSummary], *, top: int | None = None, texts: ReportTexts | None = None
) -> bytes:
    """Her latest weeks as a PNG (1080 x 1350): answers, conversations by outcome, practice.

    ``top`` is the top of the answer scale (default: from the content's polls). Works for any
    number of weeks, zero included, but callers show ``caption`` alone unless ``should_chart``.
    Pass her whole history: the chart shows the last ``MAX_CHART_WEEKS``, and the practice
    figure is computed over all of it.
    """
    # Imported here, not at the top: matplotlib takes about a second to import, which the bot's
    # start-up (and every module that only wants `caption`) should not pay.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    texts = texts or default_report_texts()
    top = top or scale_top(default_library().polls)
    strength_all = consistency(weeks)
    weeks = weeks[-MAX_CHART_WEEKS:]
    strength = [100 * value for value in strength_all[-MAX_CHART_WEEKS:]]
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.suptitle(texts.plain("chart_title"), fontsize=TITLE_PT, fontweight="bold", y=0.985)
    # Fixed margins rather than the constrained layout: a third less time, same look at this size.
    answers_ax, talks_ax, practice_ax = figure.subplots(
        3,
        1,
        sharex=True,
        height_ratios=[1.25, 1.0, 0.75],
        gridspec_kw={"left": 0.1, "right": 0.95, "top": 0.86, "bottom": 0.06, "hspace": 0.42},
    )
    positions = list(range(len(weeks)))

    answers_ax.set_title(texts.plain("chart_measures", top=top), fontsize=PANEL_PT, loc="left")
    for measure in MEASURES:
        offset = MEASURE_OFFSETS[measure]
        values = [week.scores.get(measure, math.nan) + offset for week in weeks]
        answers_ax.plot(
            positions,
            values,
            color=MEASURE_COLOURS[measure],
            marker=MEASURE_MARKERS[measure],
            markersize=13,
            linewidth=4,
            label=texts.plain(f"measure_{measure}"),
        )
    answers_ax.set_ylim(0.6, top + 0.4)
    answers_ax.set_yticks(range(1, top + 1))
    answers_ax.legend(
        fontsize=LEGEND_PT,
        loc="lower left",
        ncol=3,
        frameon=False,
        bbox_to_anchor=(0, 1.08),
        borderaxespad=0,
        handlelength=1.2,
        columnspacing=1.0,
    )

    talks_ax.set_title(texts.plain("chart_conversations"), fontsize=PANEL_PT, loc="left")
    bottom = [0] * len(weeks)
    for outcome, colour in OUTCOME_COLOURS.items():
        counts = [getattr(week, outcome) for week in weeks]
        talks_ax.bar(
            positions,
            counts,
            bottom=bottom,
            color=colour,
            width=0.7,
            label=texts.plain(f"outcome_{outcome}"),
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    talks_ax.set_ylim(0, max([*bottom, 2]) * 1.4 + 0.3)  # room for the legend
    talks_ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    # Legend entries drawn by hand: bars of an empty week would show the default colour.
    talks_ax.legend(
        handles=[
            Patch(color=colour, label=texts.plain(f"outcome_{outcome}"))
            for outcome, colour in OUTCOME_COLOURS.items()
        ],
        fontsize=LEGEND_PT,
        loc="upper left",
        ncol=3,
        frameon=False,
    )

    practice_ax.set_title(texts.plain("chart_consistency"), fontsize=PANEL_PT, loc="left")
    practice_ax.fill_between(positions, strength, color=PRACTICE_COLOUR, alpha=0.25)
    practice_ax.plot(positions, strength, color=PRACTICE_COLOUR, linewidth=4)
    practice_ax.set_ylim(0, 105)
    practice_ax.set_yticks([0, 50, 100], ["0%", "50%", "100%"])

    every = max(1, math.ceil(len(weeks) / MAX_LABELS))
    shown = positions[::-1][::every][::-1]  # always label the latest week
    practice_ax.set_xticks(shown, [_week_label(weeks[i]) for i in shown])
    practice_ax.set_xlim(-0.6, max(len(weeks) - 0.4, 0.6))
    for ax in (answers_ax, talks_ax, practice_ax):
        ax.tick_params(labelsize=TICK_PT, length=6)
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)

    buffer = BytesIO()
    # A lighter zlib level: a slightly bigger file for a quarter less time.
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def caption(
    weeks: Sequence[WeekSummary], *, top: int | None = None, texts: ReportTexts | None = None
) -> str:
    """The chart's facts in words (Telegram HTML, within a photo caption's 1024 characters).

    It is the photo's caption, the text view when there is no chart, and what ``closer try``
    prints: conversations by outcome, the latest and first answer per measure, practice.
    """
    texts = texts or default_report_texts()
    top = top or scale_top(default_library().polls)
    if not any(week.has_data for week in weeks):
        return texts.render("caption_empty")
    lines = [
        f"<b>{texts.render('caption_header_one')}</b>"
        if len(weeks) == 1
        else f"<b>{texts.render('caption_header', weeks=len(weeks))}</b>"
    ]
    totals = {
        "went_well": sum(w.went_well for w in weeks),
        "mixed": sum(w.mixed for w in weeks),
        "hard": sum(w.hard for w in weeks),
    }
    total = sum(totals.values())
    if total:
        lines.append(
            texts.render("caption_conversations", total=total, breakdown=breakdown(totals, texts))
        )
    else:
        lines.append(texts.render("caption_conversations_none"))
    values = []
    for measure in MEASURES:
        answered = [w.scores[measure] for w in weeks if measure in w.scores]
        if not answered:
            continue
        name = texts.plain(f"measure_{measure}")
        latest = format_score(answered[-1])
        if len(answered) == 1:
            values.append(texts.plain("caption_measure_one", measure=name, latest=latest, top=top))
        else:
            first = format_score(answered[0])
            values.append(
                texts.plain("caption_measure", measure=name, latest=latest, top=top, first=first)
            )
    if values:
        lines.append(texts.render("caption_measures", values="; ".join(values)))
    lines.append(texts.render("caption_consistency", percent=round(100 * consistency(weeks)[-1])))
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ProgressReport:
    """What /progress sends: the caption, and a chart once there are two weeks of data."""

    caption: str  # Telegram HTML; the photo's caption, or the whole text view
    png: bytes | None


def progress_report(
    weeks: Sequence[WeekSummary], *, top: int | None = None, texts: ReportTexts | None = None
) -> ProgressReport:
    """The caption and (if ``should_chart``) the chart; CPU-bound: call it via asyncio.to_thread."""
    png = render_progress_chart(weeks, top=top, texts=texts) if should_chart(weeks) else None
    return ProgressReport(caption(weeks, top=top, texts=texts), png)

"""A few lines about the content, for ``closer content check``."""

from __future__ import annotations

from collections import Counter

from content.library import Library
from content.models import GRADE_AIM, KINDS, MESSAGE_LIMIT, NUDGE_AIM, OWN_SOURCE
from content.readability import reading_grade
from content.render import render_item, visible_length


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summarize(library: Library) -> str:
    """Counts per kind and per step, sources covered, the longest and hardest items, lines."""
    supportive = sum(1 for tip in library.tips if tip.supportive)
    items = library.all_items()
    lines = [
        f"Content: {_plural(len(library.steps), 'step')}, "
        f"{_plural(len(library.tips), 'tip')} ({supportive} supportive), "
        f"{_plural(len(library.insights), 'insight')}, "
        f"{_plural(len(library.polls), 'poll question')}, {_plural(len(library.texts), 'text')}",
    ]
    by_kind = Counter(item.kind for item in items)
    lines.append(
        f"Items: {len(items)} in all ({len(library.scheduled_items())} scheduled): "
        + ", ".join(f"{by_kind[kind]} {kind}" for kind in KINDS)
    )
    for step in library.steps:
        tips = sum(1 for tip in library.tips if tip.step == step.step)
        insights = sum(1 for insight in library.insights if insight.step == step.step)
        variants = len(library.variants_of(step.id))
        lines.append(
            f"  step {step.step} {step.title!r}: {_plural(variants, 'variant')}, "
            f"{_plural(tips, 'tip')}, {_plural(insights, 'insight')}"
        )
    withdrawal = library.withdrawal_items()
    lines.append(
        f"Withdrawal cards: {len(withdrawal)} "
        f"({', '.join(item.id for item in withdrawal) or 'none'})"
    )
    moments = ", ".join(f"{s.moment} -> {s.id}" for s in library.scripts if s.moment)
    lines.append(f"Talking now: {moments or 'none'}")
    carried = Counter(item.source for item in items)
    uncarried = sorted(key for key in library.sources if carried[key] == 0)
    lines.append(
        f"Sources: {len(library.sources) - len(uncarried)} of {len(library.sources)} article "
        f"points carried; {carried[OWN_SOURCE]} items are Closer's own"
    )
    lines.append(f"Article points no item carries: {', '.join(uncarried) or 'none'}")
    if items:
        lengths = {item.id: visible_length(render_item(item)) for item in items}
        longest = max(lengths, key=lambda item_id: lengths[item_id])
        over_aim = sorted(item_id for item_id, length in lengths.items() if length > NUDGE_AIM)
        lines.append(
            f"Longest rendered item: {longest!r}, {lengths[longest]} characters "
            f"(aim {NUDGE_AIM}, Telegram limit {MESSAGE_LIMIT})"
        )
        lines.append(f"Over the {NUDGE_AIM}-character aim: {', '.join(over_aim) or 'none'}")
        grades = {item.id: reading_grade(item) for item in items}
        hardest = max(grades, key=lambda item_id: grades[item_id])
        over_grade = sorted(item_id for item_id, grade in grades.items() if grade > GRADE_AIM)
        lines.append(
            f"Hardest to read: {hardest!r}, grade {grades[hardest]:.1f} "
            f"(Flesch-Kincaid; aim {GRADE_AIM:g} or below)"
        )
        lines.append(f"Above grade {GRADE_AIM:g}: {', '.join(over_grade) or 'none'}")
    directory = library.crisis_directory
    countries = library.helpline_countries
    crisis = sorted(code for code, entry in countries.items() if entry.crisis is not None)
    dv = sorted(code for code, entry in countries.items() if entry.dv is not None)
    no_dv = sorted(code for code, entry in countries.items() if entry.dv is None)
    checked = [
        line.checked
        for entry in countries.values()
        for line in (entry.crisis, entry.dv)
        if line is not None
    ]
    lines.append(
        f"Helplines: {len(countries)} countries; crisis lines: {len(crisis)} "
        f"({', '.join(crisis) or 'none'}); domestic abuse lines: {len(dv)} "
        f"({', '.join(dv) or 'none'}); none verified for domestic abuse: "
        f"{', '.join(no_dv) or 'none'}"
    )
    lines.append(
        f"Oldest check: {min(checked).isoformat() if checked else 'none'}; "
        f"everyone also gets: {directory.name if directory else 'no directory'}"
    )
    return "\n".join(lines)

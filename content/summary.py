"""A few lines about the content, for ``closer content check``."""

from __future__ import annotations

from content.library import Library
from content.models import MESSAGE_LIMIT, NUDGE_AIM
from content.render import render_item, visible_length


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summarize(library: Library) -> str:
    """Counts per kind and per step, polls, and the longest rendered item."""
    supportive = sum(1 for tip in library.tips if tip.supportive)
    lines = [
        f"Content: {_plural(len(library.steps), 'step')}, "
        f"{_plural(len(library.tips), 'tip')} ({supportive} supportive), "
        f"{_plural(len(library.insights), 'insight')}, "
        f"{_plural(len(library.polls), 'poll question')}, {_plural(len(library.texts), 'text')}"
    ]
    for step in library.steps:
        tips = sum(1 for tip in library.tips if tip.step == step.step)
        insights = sum(1 for insight in library.insights if insight.step == step.step)
        lines.append(
            f"  step {step.step} {step.title!r}: {_plural(tips, 'tip')}, "
            f"{_plural(insights, 'insight')}"
        )
    lengths = {item.id: visible_length(render_item(item)) for item in library.all_items()}
    if lengths:
        longest = max(lengths, key=lambda item_id: lengths[item_id])
        over_aim = sorted(item_id for item_id, length in lengths.items() if length > NUDGE_AIM)
        lines.append(
            f"Longest rendered item: {longest!r}, {lengths[longest]} characters "
            f"(aim {NUDGE_AIM}, Telegram limit {MESSAGE_LIMIT})"
        )
        lines.append(f"Over the {NUDGE_AIM}-character aim: {', '.join(over_aim) or 'none'}")
    return "\n".join(lines)

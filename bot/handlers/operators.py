"""/stats: aggregates for the operators listed in ADMIN_IDS; anyone else gets the reply any
unknown command gets (the command is not in the public menu, and its existence is not shown).

Only counts: users by state, nudges sent and answered in the last day and week, check-in
completion over the last week, the outbox lag. No id, name or text of any user.
"""

from __future__ import annotations

from telegram import Update

from bot.context import CloserContext
from bot.handlers.common import is_private, reply, unknown_command
from bot.storage.stats import OperatorStats, Window
from bot.usecases import info


def is_operator(update: Update, context: CloserContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.services.settings.admin_ids


async def stats_command(update: Update, context: CloserContext) -> None:
    """/stats for an operator; the unknown-command reply for everyone else."""
    if not is_private(update) or not is_operator(update, context):
        await unknown_command(update, context)
        return
    services = context.services
    stats = await info.operator_stats(services.tx)
    await reply(update, render_stats(stats))


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({round(100 * part / whole)}%)" if whole else "0/0"


def _window(window: Window) -> str:
    return f"{window.sent} sent, {_share(window.answered, window.sent)} answered"


def render_stats(stats: OperatorStats) -> str:
    """The operator's report (plain figures; an operator tool, not coaching content)."""
    lines = [
        "<b>Closer stats</b>",
        f"Users: {stats.users} (onboarding {stats.onboarding}, active {stats.active}, "
        f"paused {stats.paused}, blocked {stats.blocked})",
        f"Nudges, last day: {_window(stats.nudges_day)}",
        f"Nudges, last week: {_window(stats.nudges_week)}",
        "Check-ins, last week: "
        f"{_share(stats.checkins_answered_week, stats.checkins_sent_week)} answered",
        f"Outbox lag: {stats.outbox_lag_seconds:.0f} s",
    ]
    return "\n".join(lines)

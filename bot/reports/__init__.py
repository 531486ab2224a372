"""Progress she can see: the weekly look back, the /progress chart and caption, the export.

Everything here is a pure function of plain records (``bot.reports.records``) and the content;
nothing touches the database or Telegram. Rendering the chart is CPU work: run it off the event
loop (``await asyncio.to_thread(render_progress_chart, weeks)``).
"""

from bot.reports.chart import (
    ProgressReport,
    caption,
    progress_report,
    render_progress_chart,
    should_chart,
)
from bot.reports.export import export_csv, export_document, export_json, neutralise_formula
from bot.reports.lookback import (
    LookBackFacts,
    LookBackInput,
    MeasureChange,
    look_back,
    look_back_facts,
    look_back_input,
)
from bot.reports.questions import baseline_questions, weekly_questions
from bot.reports.records import (
    ItemProgressRecord,
    LogRecord,
    PollAnswerRecord,
    UserRecord,
    UserSettingsRecord,
)
from bot.reports.weeks import WeekSummary, baseline_scores, consistency, summarize_weeks

__all__ = [
    "ItemProgressRecord",
    "LogRecord",
    "LookBackFacts",
    "LookBackInput",
    "MeasureChange",
    "PollAnswerRecord",
    "ProgressReport",
    "UserRecord",
    "UserSettingsRecord",
    "WeekSummary",
    "baseline_questions",
    "baseline_scores",
    "caption",
    "consistency",
    "export_csv",
    "export_document",
    "export_json",
    "look_back",
    "look_back_facts",
    "look_back_input",
    "neutralise_formula",
    "progress_report",
    "render_progress_chart",
    "should_chart",
    "summarize_weeks",
    "weekly_questions",
]

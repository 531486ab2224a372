"""/export as files she can read without the schema: a complete JSON document and a CSV of logs.

Pure functions of plain records (``bot.reports.records``, re-exported here): the JSON puts the
question and option texts next to each check-in answer and the title next to each item id, and
gives every time in her zone as ISO 8601 with its offset (the raw "other" section too). The CSV
lists her logged conversations for a spreadsheet: date and time in her zone, named in the header,
with the offset from UTC beside them.

CSV choices: UTF-8 *with* a byte-order mark, because Excel (still the most common spreadsheet)
reads a BOM-less CSV in the legacy code page and garbles accents and emoji, while LibreOffice,
Google Sheets, Numbers and ``csv`` with ``encoding="utf-8-sig"`` all accept the BOM. Rows end
in CRLF (RFC 4180, the csv module's default). Any cell that starts like a formula (``=``, ``+``,
``-``, ``@``, tab or carriage return) gets a leading apostrophe, so a note such as
``=HYPERLINK(...)`` shows as text and is never run (OWASP's advice on CSV injection).
"""

from __future__ import annotations

import calendar
import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.reports.records import (
    ItemProgressRecord,
    LogRecord,
    PollAnswerRecord,
    UserRecord,
    UserSettingsRecord,
)
from content.library import Library
from content.report_texts import ReportTexts, default_report_texts

__all__ = [
    "EXPORT_FORMAT",
    "ItemProgressRecord",
    "LogRecord",
    "PollAnswerRecord",
    "UserRecord",
    "UserSettingsRecord",
    "export_csv",
    "export_document",
    "export_json",
    "neutralise_formula",
]

EXPORT_FORMAT = {"name": "closer-export", "version": 2}
# What a spreadsheet may take as the start of a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """The cell text, with a leading apostrophe if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat()


def _offset(local: datetime) -> str:
    """ "UTC+13:00", "UTC-04:00": the UTC offset of an aware time (a bare "+13:00" would read
    as a formula to a spreadsheet, and get an apostrophe)."""
    return "UTC" + local.isoformat()[-6:]


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _item_title(item_id: str | None, library: Library) -> str | None:
    if item_id is None or not library.has_item(item_id):
        return None
    return library.item(item_id).title


def _step(log: LogRecord, library: Library) -> int | None:
    if log.step is not None:
        return log.step
    if log.item_id is not None and library.has_item(log.item_id):
        return library.item(log.item_id).step
    return None


def _step_title(number: int | None, library: Library) -> str | None:
    if number is None:
        return None
    try:
        return f"{number}. {library.step(number).title}"
    except KeyError:
        return str(number)


def _outcome_label(outcome: str | None, texts: ReportTexts) -> str | None:
    if outcome is None:
        return None
    key = f"outcome_{outcome}"
    return texts.plain(key) if key in texts.texts else outcome


def _settings(settings: UserSettingsRecord, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "time_zone": settings.timezone,
        "nudge_time": _clock(settings.nudge_minute),
        "pace": settings.pace,
        "quiet_hours": {
            "from": _clock(settings.quiet_start_minute),
            "to": _clock(settings.quiet_end_minute),
        },
        "check_in_day": calendar.day_name[settings.checkin_weekday],
        "paused_until": _local(settings.paused_until, zone),
    }


def _progress(row: ItemProgressRecord, zone: ZoneInfo, library: Library) -> dict[str, Any]:
    item = library.item(row.item_id) if library.has_item(row.item_id) else None
    return {
        "item_id": row.item_id,
        "item_title": item.title if item else None,
        "kind": item.kind if item else None,
        "step": item.step if item else None,
        "box": row.box,
        "due_at": _local(row.due_at, zone),
        "first_sent_at": _local(row.first_sent_at, zone),
        "last_sent_at": _local(row.last_sent_at, zone),
        "last_outcome": row.last_outcome,
        "tries": row.tries,
        "times_sent": row.times_sent,
    }


def _log(log: LogRecord, zone: ZoneInfo, library: Library, texts: ReportTexts) -> dict[str, Any]:
    step = _step(log, library)
    return {
        "logged_at": _local(log.logged_at, zone),
        "outcome": log.outcome,
        "outcome_label": _outcome_label(log.outcome, texts),
        "step": step,
        "step_title": _step_title(step, library),
        "item_id": log.item_id,
        "item_title": _item_title(log.item_id, library),
        "note": log.note,
        "source": log.source,
    }


def _answer(answer: PollAnswerRecord, zone: ZoneInfo, library: Library) -> dict[str, Any]:
    try:
        question = library.poll(answer.question_id)
    except KeyError:
        question = None
    options = question.options if question else ()
    return {
        "question_id": answer.question_id,
        "question": question.question if question else None,
        "question_retired": question.use == "retired" if question else None,
        "measure": question.measure if question else None,
        "sent_at": _local(answer.sent_at, zone),
        "answered_at": _local(answer.answered_at, zone),
        "option_ids": list(answer.option_ids),
        "options": [options[i] if 0 <= i < len(options) else None for i in answer.option_ids],
        "score": question.score(answer.option_ids) if question else None,
        "retracted": not answer.option_ids,
    }


def _plain(value: object, zone: ZoneInfo) -> object:
    """A stored value as JSON: datetimes in her zone (aware; a naive one is UTC, as stored),
    containers walked."""
    if isinstance(value, datetime):
        return _local(value if value.tzinfo else value.replace(tzinfo=UTC), zone)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, zone) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, zone) for v in value]
    return value


def export_document(
    user: UserRecord,
    library: Library,
    *,
    exported_at: datetime,
    texts: ReportTexts | None = None,
) -> dict[str, Any]:
    """Everything stored about her as one JSON-ready document, readable without the schema."""
    texts = texts or default_report_texts()
    zone = ZoneInfo(user.settings.timezone)
    return {
        "format": dict(EXPORT_FORMAT),
        "about": texts.plain("export_about"),
        "exported_at": _local(exported_at, zone),
        "time_zone": user.settings.timezone,
        "you": {"telegram_id": user.telegram_id, "joined_at": _local(user.joined_at, zone)},
        "settings": _settings(user.settings, zone),
        "progress": [_progress(row, zone, library) for row in user.progress],
        "conversations": [
            _log(log, zone, library, texts) for log in sorted(user.logs, key=_logged_at)
        ],
        "check_in_answers": [
            _answer(answer, zone, library)
            for answer in sorted(user.answers, key=lambda a: (a.answered_at, a.sent_poll_id))
        ],
        "other": {
            table: [_plain(dict(row), zone) for row in rows] for table, rows in user.other.items()
        },
    }


def _logged_at(log: LogRecord) -> datetime:
    return log.logged_at


def export_json(
    user: UserRecord,
    library: Library,
    *,
    exported_at: datetime,
    texts: ReportTexts | None = None,
) -> bytes:
    """``export_document`` as UTF-8 JSON, indented for reading."""
    document = export_document(user, library, exported_at=exported_at, texts=texts)
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def export_csv(
    logs: Sequence[LogRecord],
    library: Library,
    zone: ZoneInfo,
    *,
    texts: ReportTexts | None = None,
) -> bytes:
    """Her logged conversations as CSV (UTF-8 with BOM, CRLF), oldest first, one per row.

    Columns: date and time in her zone (named in the header), its offset from UTC (so a time
    in the hour the clocks go back is never ambiguous), how it went, step, the message it came
    from, her note.
    """
    texts = texts or default_report_texts()
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(
        [
            texts.plain("csv_date"),
            texts.plain("csv_time", zone=zone.key),
            texts.plain("csv_offset"),
            *(texts.plain(key) for key in ("csv_outcome", "csv_step", "csv_item", "csv_note")),
        ]
    )
    for log in sorted(logs, key=_logged_at):
        local = log.logged_at.astimezone(zone)
        cells = [
            local.date().isoformat(),
            f"{local:%H:%M}",
            _offset(local),
            _outcome_label(log.outcome, texts) or "",
            _step_title(_step(log, library), library) or "",
            _item_title(log.item_id, library) or "",
            log.note or "",
        ]
        writer.writerow(neutralise_formula(cell) for cell in cells)
    return out.getvalue().encode("utf-8-sig")

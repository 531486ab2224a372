"""/export: a JSON document readable without the schema, and a CSV that opens in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.reports.export import export_csv, export_document, export_json, neutralise_formula
from bot.reports.records import (
    ItemProgressRecord,
    LogRecord,
    PollAnswerRecord,
    UserRecord,
    UserSettingsRecord,
)
from content import Library

ZONE = "America/New_York"  # UTC-5 after 1 November 2026
NOW = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def her(
    note: str = 'He laughed, then said: "let\'s talk" \N{SMILING FACE WITH SMILING EYES}',
) -> UserRecord:
    return UserRecord(
        telegram_id=1001,
        joined_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        settings=UserSettingsRecord(
            timezone=ZONE,
            nudge_minute=19 * 60 + 30,
            pace="steady",
            quiet_start_minute=21 * 60 + 30,
            quiet_end_minute=8 * 60,
            checkin_weekday=6,
        ),
        progress=[
            ItemProgressRecord(
                "five-minute-rule", 2, NOW, NOW, NOW, "went_well", tries=1, times_sent=3
            )
        ],
        logs=[
            LogRecord(datetime(2026, 11, 20, 1, 30, tzinfo=UTC), "hard", item_id="go-first"),
            LogRecord(
                datetime(2026, 11, 10, 0, 15, tzinfo=UTC),
                "went_well",
                "five-minute-rule",
                note=note,
            ),
            LogRecord(datetime(2026, 11, 25, 18, 0, tzinfo=UTC), "mixed", step=2, source="log"),
        ],
        answers=[
            PollAnswerRecord(7, "how-are-you", datetime(2026, 11, 1, 23, 0, tzinfo=UTC), (1,), NOW),
            PollAnswerRecord(
                9, "connection-this-week", datetime(2026, 11, 29, 23, 0, tzinfo=UTC), (2,), NOW
            ),
            PollAnswerRecord(
                9, "connection-this-week", datetime(2026, 11, 29, 23, 0, tzinfo=UTC), (), NOW
            ),
        ],
        other={"outbox": [{"kind": "item", "due_at": NOW, "payload": {"week": 48}}]},
    )


def test_the_json_round_trips_and_reads_without_the_schema(library: Library) -> None:
    user = her()
    payload = export_json(user, library, exported_at=NOW)
    document = json.loads(payload.decode("utf-8"))
    assert document == export_document(user, library, exported_at=NOW)
    assert json.loads(json.dumps(document)) == document

    assert document["time_zone"] == ZONE
    assert document["exported_at"] == "2026-11-30T18:00:00-05:00"
    assert document["settings"]["nudge_time"] == "19:30"
    assert document["settings"]["check_in_day"] == "Sunday"
    assert document["progress"][0]["item_title"] == library.item("five-minute-rule").title

    logs = document["conversations"]
    assert [log["logged_at"] for log in logs] == [  # oldest first, in her zone
        "2026-11-09T19:15:00-05:00",
        "2026-11-19T20:30:00-05:00",
        "2026-11-25T13:00:00-05:00",
    ]
    assert [datetime.fromisoformat(log["logged_at"]) for log in logs] == sorted(
        log.logged_at for log in user.logs
    )
    assert logs[0]["note"] == user.logs[1].note
    assert logs[0]["outcome_label"] == "Went well"
    assert logs[1]["step"] == 4 and logs[1]["item_title"] == library.item("go-first").title
    assert logs[2]["step_title"] == f"2. {library.step(2).title}"

    retired, chosen, retracted = document["check_in_answers"]
    assert retired["question"] == "And how are you doing this week?"
    assert retired["question_retired"] is True and retired["options"] == ["Steady"]
    assert chosen["question"] == library.poll("connection-this-week").question
    assert chosen["options"] == ["A little distant"] and chosen["score"] == 2
    assert chosen["sent_at"] == "2026-11-29T18:00:00-05:00"
    assert retracted["retracted"] is True and retracted["options"] == []

    assert document["other"]["outbox"] == [
        {"kind": "item", "due_at": "2026-11-30T18:00:00-05:00", "payload": {"week": 48}}
    ]


def read_csv(payload: bytes) -> list[list[str]]:
    assert payload.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for Excel"
    return list(csv.reader(io.StringIO(payload.decode("utf-8-sig"), newline="")))


def test_the_csv_parses_with_one_row_per_logged_conversation(library: Library) -> None:
    user = her()
    rows = read_csv(export_csv(user.logs, library, ZoneInfo(ZONE)))
    assert rows[0] == [
        "Date",
        f"Time ({ZONE})",
        "UTC offset",
        "How it went",
        "Step",
        "From the message",
        "Your note",
    ]
    assert rows[1] == [
        "2026-11-09",
        "19:15",
        "UTC-05:00",
        "Went well",
        f"3. {library.step(3).title}",
        library.item("five-minute-rule").title,
        user.logs[1].note,
    ]
    assert [row[0] for row in rows[1:]] == ["2026-11-09", "2026-11-19", "2026-11-25"]
    assert [row[3] for row in rows[1:]] == ["Went well", "Hard", "Mixed"]
    assert rows[3][5] == "" and rows[3][6] == ""
    assert all(len(row) == 7 for row in rows)


@pytest.mark.parametrize(
    "note",
    [
        '=HYPERLINK("http://example.com","click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_note_that_looks_like_a_formula_stays_text(library: Library, note: str) -> None:
    log = LogRecord(datetime(2026, 11, 10, 12, tzinfo=UTC), "mixed", note=note)
    rows = read_csv(export_csv([log], library, ZoneInfo(ZONE)))
    assert rows[1][6] == "'" + note
    assert neutralise_formula(note) == "'" + note


def test_ordinary_notes_are_left_alone(library: Library) -> None:
    note = 'Line one, with a comma\nand "quotes" on line two; 5 minutes = enough'
    log = LogRecord(datetime(2026, 11, 10, 12, tzinfo=UTC), "mixed", note=note)
    assert read_csv(export_csv([log], library, ZoneInfo(ZONE)))[1][6] == note


def test_nothing_of_another_user_appears(library: Library) -> None:
    mine = her(note="mine")
    theirs = her(note="SECRET-OF-SOMEONE-ELSE")
    exported = export_json(mine, library, exported_at=NOW) + export_csv(
        mine.logs, library, ZoneInfo(ZONE)
    )
    assert b"SECRET-OF-SOMEONE-ELSE" not in exported
    assert b"SECRET-OF-SOMEONE-ELSE" in export_csv(theirs.logs, library, ZoneInfo(ZONE))

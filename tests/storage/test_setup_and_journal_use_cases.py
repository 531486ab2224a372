"""Onboarding, /settings and /log as use cases, run without Telegram on a real database.

Each answer is one write transaction; the last onboarding answer finishes onboarding and makes
the first nudge's outbox row (status ``sending``) in that same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.callbacks import Field, Response, SettingsView
from bot.storage.db import Database, TransactionCount
from bot.storage.models import metadata
from bot.storage.repositories import SettingsSnapshot
from bot.storage.uow import Transactions
from bot.usecases import journal, setup
from bot.usecases.common import Who
from content import default_library

HER = Who(4242)
START = Who(4242, command=True)


def _since(db: Database, before: TransactionCount) -> TransactionCount:
    now = db.transactions
    return TransactionCount(read=now.read - before.read, write=now.write - before.write)


async def _onboarded(runner: Transactions) -> setup.AllSet:
    library = default_library()
    await setup.start(runner, START, chat_id=4242)
    await setup.choose(runner, library, HER, setup.Change(Field.TIMEZONE, {"timezone": "UTC"}))
    await setup.choose(runner, library, HER, setup.Change(Field.TIME, {"nudge_minute": 540}))
    done = await setup.choose(runner, library, HER, setup.Change(Field.PACE, {"pace": "steady"}))
    assert isinstance(done, setup.AllSet)
    return done


async def test_onboarding_asks_in_order_and_finishes_with_the_first_nudge_made(
    migrated_db: Database,
) -> None:
    clock = iter(datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(minutes=i) for i in range(99))
    runner = Transactions(migrated_db, lambda: next(clock))
    library = default_library()
    started = await setup.start(runner, START, chat_id=4242)
    assert started.created and started.question is not None
    assert started.question.field is Field.TIMEZONE and started.question.onboarding
    # A pressed answer for a step she is not on changes nothing.
    moved_on = setup.Change(Field.PACE, {"pace": "daily"})
    assert await setup.choose(runner, library, HER, moved_on) is setup.Refused.MOVED_ON
    zone = setup.Change(Field.TIMEZONE, {"timezone": "Europe/Berlin"})
    asked = await setup.choose(runner, library, HER, zone)
    assert isinstance(asked, setup.Question) and asked.field is Field.TIME
    assert asked.settings.timezone == "Europe/Berlin"
    # A time in her quiet hours is not saved.
    clash = await setup.answer_typed(runner, library, HER, Field.TIME, "23:00")
    assert clash == setup.QuietClash(23 * 60, 21 * 60 + 30, 8 * 60)
    assert await setup.answer_typed(runner, library, HER, Field.TIME, "soon") is (
        setup.Unparsed.TIME
    )
    typed = await setup.answer_typed(runner, library, HER, Field.TIME, "6:30 pm")
    assert isinstance(typed, setup.Question) and typed.field is Field.PACE
    assert typed.settings.nudge_minute == 18 * 60 + 30
    before = replace(migrated_db.transactions)
    done = await setup.choose(runner, library, HER, setup.Change(Field.PACE, {"pace": "gentle"}))
    assert _since(migrated_db, before) == TransactionCount(read=0, write=1)
    assert isinstance(done, setup.AllSet)
    first = done.first_nudge
    assert first.item == library.steps[0] and first.chat_id == 4242
    outbox = metadata.tables["outbox"]
    rows = await runner.read(lambda tx: tx.conn.execute(select(outbox.c.id, outbox.c.status)).all())
    assert (first.outbox_id, "sending") in [tuple(row) for row in rows]
    # Onboarded now: /start welcomes her back, /settings opens.
    again = await setup.start(runner, START, chat_id=4242)
    assert not again.created and again.question is None
    assert isinstance(await setup.open_settings(runner, HER), SettingsSnapshot)


async def test_a_settings_question_awaits_a_typed_answer_until_answered(
    migrated_db: Database,
) -> None:
    runner = Transactions(migrated_db, lambda: datetime(2026, 3, 2, 9, tzinfo=UTC))
    library = default_library()
    assert await setup.open_settings(runner, HER) is setup.NotReady.UNKNOWN
    await _onboarded(runner)
    asked = await setup.ask(runner, HER, Field.QUIET_HOURS)
    assert isinstance(asked, setup.Question) and not asked.onboarding
    menu = await setup.answer_typed(runner, library, HER, Field.QUIET_HOURS, "22:00 to 6:00")
    assert isinstance(menu, setup.Menu)
    assert (menu.settings.quiet_start_minute, menu.settings.quiet_end_minute) == (1320, 360)
    # Answered: a second message racing in is no answer any more.
    late = await setup.answer_typed(runner, library, HER, Field.QUIET_HOURS, "23:00-7:00")
    assert late is setup.Refused.MOVED_ON
    assert isinstance(await setup.ask(runner, HER, SettingsView.DONE), setup.Closed)
    assert await setup.go_back(runner, HER) is setup.Refused.NOTHING_BACK


async def test_a_logged_conversation_its_step_and_its_note(migrated_db: Database) -> None:
    runner = Transactions(migrated_db, lambda: datetime(2026, 3, 2, 9, tzinfo=UTC))
    library = default_library()
    assert not await journal.may_log(runner, HER)
    await _onboarded(runner)
    assert await journal.may_log(runner, HER)
    logged = await journal.log_outcome(runner, library, HER, Response.MIXED, message_id=7)
    assert isinstance(logged, journal.Logged) and logged.outcome is Response.MIXED
    again = await journal.log_outcome(runner, library, HER, Response.HARD, message_id=7)
    assert again is journal.Refused.ALREADY_SAVED
    step = library.steps[0]
    foreign = await journal.log_item(runner, library, HER, logged.log_id, step.id, message_id=8)
    assert foreign is journal.Refused.NOT_YOURS
    asked = await journal.log_item(runner, library, HER, logged.log_id, step.id, message_id=7)
    assert asked == journal.NoteAsked(logged.log_id, step)
    assert await journal.save_note(runner, HER, logged.log_id, "  ") is journal.Noted.EMPTY
    noted = await journal.save_note(runner, HER, logged.log_id, "he listened\x00")
    assert noted is journal.Noted.TRIMMED
    # The question is closed: the same text again is no note.
    assert await journal.save_note(runner, HER, logged.log_id, "x") is journal.Noted.NOT_ASKED

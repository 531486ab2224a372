"""The conversation on PostgreSQL: the same handlers, through the same code, on a real server."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.storage.models import ConversationLog, ItemProgress
from tests.bot.conftest import Closer


async def test_the_whole_conversation_on_postgresql(closer_on_postgres: Closer) -> None:
    closer = closer_on_postgres
    assert closer.db.dialect == "postgresql"
    alice, bob = closer.user(1001, "Alice"), closer.user(2002, "Bob")
    await closer.onboard(alice, zone="Berlin")
    await closer.onboard(bob)
    await closer.press(alice, "✅ Tried it")
    assert await closer.press(alice, "😊 Went well") == "Saved ✓"
    await closer.say(alice, "/log")
    await closer.press(alice, "😐 Mixed")
    await closer.press(alice, "2. Put safety before closeness")
    await closer.say(alice, "a note kept on postgres")
    async with closer.db.transaction(write=False) as session:
        logs = list(await session.scalars(select(ConversationLog).order_by(ConversationLog.id)))
        rows = (await session.execute(select(ItemProgress.item_id, ItemProgress.box))).all()
        boxes = {item_id: box for item_id, box in rows}
    assert [(log.outcome, log.note) for log in logs] == [
        ("went_well", None),
        ("mixed", "a note kept on postgres"),
    ]
    assert boxes["acknowledge-conditioning"] == 2
    await alice.send("/export")
    document = (await alice.next_message()).document
    assert document is not None and document.content is not None
    exported = json.loads(document.content)
    assert {row["note"] for row in exported["conversations"]} == {
        None,
        "a note kept on postgres",
    }
    table = (await alice.next_message()).document  # the conversations as CSV
    assert table is not None and table.content is not None
    assert b"a note kept on postgres" in table.content
    bob_before = await closer.rows_of(2002)
    await closer.say(alice, "/forget")
    await closer.press(alice, "Yes, erase everything")
    assert await closer.rows_of(1001) == {}
    assert await closer.rows_of(2002) == bob_before

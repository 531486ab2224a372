"""Updates set aside by a bug, and their replay once it is fixed (``closer set-aside``).

An update whose handling raised anything but a storage outage is the update's fault: it is
set aside (``bot.storage.set_aside``) and confirmed, so it cannot stall everyone behind it.
For an update with nothing she wrote in it (a press, a poll answer, a bare command such as
``/tip``) the row keeps what replaying it needs: the update as JSON, with her name and the
pressed message's text left out. A message with text keeps no text at all (she is asked to
send it again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import Message, MessageEntity, Update

from bot.metrics import count_set_aside, update_kind
from bot.storage.db import Database
from bot.storage.set_aside import SetAside, keep, listing, replayed

if TYPE_CHECKING:
    from bot.context import CloserApplication

_USER_FIELDS = ("id", "is_bot", "language_code")


def _user(raw: Any) -> dict[str, Any]:
    """A user as Telegram sends one, without her names (``first_name`` is required: empty)."""
    kept = {key: raw[key] for key in _USER_FIELDS if isinstance(raw, dict) and key in raw}
    return {**kept, "first_name": ""}


def _chat(raw: Any) -> dict[str, Any]:
    return {key: raw[key] for key in ("id", "type") if isinstance(raw, dict) and key in raw}


def _bare_command(message: Message) -> bool:
    """``/tip``, ``/start``: a command and nothing else she wrote."""
    text = message.text
    if not text or message.caption:
        return False
    entities = message.entities
    return (
        len(entities) == 1
        and entities[0].type == MessageEntity.BOT_COMMAND
        and entities[0].offset == 0
        and entities[0].length == len(text)
    )


def replay_payload(update: Update) -> str | None:
    """The update as JSON to replay it, without anything she wrote; None for free text."""
    raw = update.to_dict()
    kept: dict[str, Any] = {"update_id": update.update_id}
    if update.callback_query is not None:
        query = raw["callback_query"]
        message = query.get("message") or {}
        kept["callback_query"] = {
            "id": query["id"],
            "from": _user(query.get("from")),
            "chat_instance": query.get("chat_instance", ""),
            **({"data": query["data"]} if "data" in query else {}),
            **(
                {
                    "message": {
                        "message_id": message["message_id"],
                        "date": message.get("date", 0),
                        "chat": _chat(message.get("chat")),
                        **(
                            {"reply_markup": message["reply_markup"]}
                            if "reply_markup" in message
                            else {}
                        ),
                    }
                }
                if "message_id" in message
                else {}
            ),
        }
    elif update.poll_answer is not None:
        answer = raw["poll_answer"]
        kept["poll_answer"] = {
            "poll_id": answer["poll_id"],
            "option_ids": answer.get("option_ids", []),
            **({"user": _user(answer["user"])} if "user" in answer else {}),
        }
    elif update.message is not None and _bare_command(update.message):
        message = raw["message"]
        kept["message"] = {
            "message_id": message["message_id"],
            "date": message.get("date", 0),
            "chat": _chat(message.get("chat")),
            "from": _user(message.get("from")),
            "text": message["text"],
            "entities": message["entities"],
        }
    elif update.my_chat_member is not None:
        return json.dumps(raw)  # membership changes: ids and statuses, nothing she wrote
    else:
        return None
    return json.dumps(kept)


def chat_of(update: Update) -> int | None:
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user is not None else None


async def set_aside(
    db: Database, update: Update, error: BaseException, reason: str, now: datetime
) -> bool:
    """Keep ``update`` as failed by ``error``; whether it can be replayed. Raises when the
    row cannot be written (then the update is not confirmed)."""
    payload = replay_payload(update)
    kind = update_kind(update)
    row = SetAside(
        update_id=update.update_id,
        kind=kind,
        error_type=type(error).__name__,
        reason=reason,
        chat_id=chat_of(update),
        replay=payload,
        set_aside_at=now,
    )
    await db.run(keep, row)
    count_set_aside(kind, reason)
    return payload is not None


@dataclass(frozen=True)
class Replayed:
    update_id: int
    result: str  # "done", "failed again", "not replayable"


async def replay(
    application: CloserApplication,
    db: Database,
    ids: set[int] | None,
    now: datetime,
) -> list[Replayed]:
    """Run set-aside updates again (``ids``; None: every one not replayed yet), oldest first.

    Each runs as its first delivery did, through the application; one that ends without
    being set aside again is marked replayed. Needs the application initialised.
    """
    rows = await db.run_read(listing)
    results: list[Replayed] = []
    for row in rows:
        if ids is not None and row.update_id not in ids:
            continue
        if row.replay is None:
            results.append(Replayed(row.update_id, "not replayable"))
            continue
        update = Update.de_json(json.loads(row.replay), application.bot)
        handled = await application.replay_update(update)
        if handled:
            await db.run(replayed, row.update_id, now)
        results.append(Replayed(row.update_id, "done" if handled else "failed again"))
    return results

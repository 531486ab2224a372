"""The control API over HTTP: raw updates as they are, which updates the bot confirmed, the
whole transcript of a chat (edits, deletions, answered presses), presses and poll answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Bot, Update

from bot.standin import TelegramStandIn, serve_http

# A "poll" update lacking most of its fields: python-telegram-bot cannot parse it.
BROKEN_POLL = {"poll": {"id": "77", "question": "Half a poll"}}
_USER = {"id": 7, "is_bot": False, "first_name": "Jo"}
# A block whose "kicked" member lacks until_date: python-telegram-bot cannot parse it either.
BROKEN_MEMBER = {
    "my_chat_member": {
        "chat": {"id": 7, "type": "private"},
        "from": _USER,
        "date": 0,
        "old_chat_member": {"user": _USER, "status": "member"},
        "new_chat_member": {"user": _USER, "status": "kicked"},
    }
}


@pytest.fixture
async def control(standin: TelegramStandIn) -> AsyncIterator[httpx.AsyncClient]:
    runner, root = await serve_http(standin)
    try:
        async with httpx.AsyncClient(base_url=root, timeout=5) as client:
            yield client
    finally:
        await runner.cleanup()


async def api(
    client: httpx.AsyncClient, standin: TelegramStandIn, method: str, **params: Any
) -> Any:
    answer = (await client.post(f"/bot{standin.token}/{method}", json=params)).json()
    assert answer["ok"], answer
    return answer["result"]


async def test_raw_updates_are_queued_as_they_are(
    control: httpx.AsyncClient, standin: TelegramStandIn, bot: Bot
) -> None:
    sent = await control.post("/_control/user/7/send", json={"text": "before"})
    assert sent.status_code == 200
    poll = await control.post("/_control/user/7/raw_update", json={"update": BROKEN_POLL})
    member = await control.post(
        "/_control/update", json={"update": {"update_id": 1, **BROKEN_MEMBER}}
    )
    await control.post("/_control/user/7/send", json={"text": "after"})
    assert poll.json() == {"update_id": 2}
    assert member.json() == {"update_id": 3}  # a given update_id is replaced, in order
    updates = await api(control, standin, "getUpdates")
    assert updates[1] == {"update_id": 2, **BROKEN_POLL}
    assert updates[2] == {"update_id": 3, **BROKEN_MEMBER}
    assert [u.get("message", {}).get("text") for u in updates] == ["before", None, None, "after"]
    for raw in (updates[1], updates[2]):  # what the bot has to survive
        with pytest.raises(TypeError):
            Update.de_json(raw, bot)


async def test_a_raw_update_must_be_an_object(control: httpx.AsyncClient) -> None:
    for body in ({"update": [1, 2]}, {"poll": {"id": "1"}}, {}):
        answer = await control.post("/_control/update", json=body)
        assert answer.status_code == 400
        assert answer.json()["ok"] is False
    garbage = await control.post("/_control/update", content=b"{not json")
    assert garbage.status_code == 400


def test_raw_update_in_process(standin: TelegramStandIn) -> None:
    user = standin.user(7)
    update_id = user.send_raw_update(BROKEN_POLL)
    BROKEN_POLL["poll"]["question"] = "changed later"  # the queued copy is the stand-in's own
    assert standin.pending_updates == [
        {"update_id": update_id, "poll": {"id": "77", "question": "Half a poll"}}
    ]
    BROKEN_POLL["poll"]["question"] = "Half a poll"


async def test_confirmed_updates_are_visible(
    control: httpx.AsyncClient, standin: TelegramStandIn
) -> None:
    for text in ("a", "b", "c", "d"):
        await control.post("/_control/user/7/send", json={"text": text})
    first = await api(control, standin, "getUpdates", limit=2)
    assert [u["update_id"] for u in first] == [1, 2]
    again = await api(control, standin, "getUpdates", offset=2)  # confirms 1 only
    assert [u["update_id"] for u in again] == [2, 3, 4]
    seen = (await control.get("/_control/updates")).json()
    assert seen["confirmed_update_ids"] == [1]
    assert [u["update_id"] for u in seen["pending"]] == [2, 3, 4]
    assert seen["delivery_counts"] == {"1": 1, "2": 2, "3": 1, "4": 1}
    await api(control, standin, "getUpdates", offset=-1)  # keeps the last one only
    assert standin.confirmed_update_ids == [1, 2, 3]
    await api(control, standin, "getUpdates", offset=5)
    assert standin.confirmed_update_ids == [1, 2, 3, 4]
    assert standin.pending_updates == []


async def test_transcript_has_edits_deletions_and_answered_presses(
    control: httpx.AsyncClient, standin: TelegramStandIn
) -> None:
    await control.post("/_control/user/7/send", json={"text": "/start"})
    keyboard = {
        "inline_keyboard": [
            [{"text": "Tried it", "callback_data": "t"}, {"text": "Later", "callback_data": "l"}]
        ]
    }
    menu = await api(control, standin, "sendMessage", chat_id=7, text="Hi", reply_markup=keyboard)
    gone = await api(control, standin, "sendMessage", chat_id=7, text="Soon gone")
    await api(
        control,
        standin,
        "editMessageText",
        chat_id=7,
        message_id=menu["message_id"],
        text="Hi!",
        reply_markup=keyboard,  # left out, the edit would remove the keyboard
    )
    await api(control, standin, "deleteMessage", chat_id=7, message_id=gone["message_id"])
    pressed = await control.post("/_control/user/7/press", json={"label": "Tried it"})
    query_id = pressed.json()["callback_query_id"]
    forged = await control.post(
        "/_control/user/7/press_data", json={"message_id": menu["message_id"], "data": "1:x"}
    )
    await api(control, standin, "answerCallbackQuery", callback_query_id=query_id, text="Noted")

    now = (await control.get("/_control/user/7/messages")).json()
    assert [m["text"] for m in now] == ["Hi!"]  # as the chat looks now
    transcript = (await control.get("/_control/user/7/transcript")).json()
    messages = transcript["messages"]
    assert [(m["text"], m["edits"], m["deleted"]) for m in messages] == [
        ("Hi!", ["Hi"], False),
        ("Soon gone", [], True),
    ]
    presses = transcript["callback_queries"]
    assert [(p["data"], p["answered"], p["answer_text"]) for p in presses] == [
        ("t", True, "Noted"),
        ("1:x", False, None),
    ]
    assert presses[1]["callback_query_id"] == forged.json()["callback_query_id"]
    assert {p["message_id"] for p in presses} == {menu["message_id"]}
    other = (await control.get("/_control/user/8/transcript")).json()
    assert other == {"messages": [], "callback_queries": []}


async def test_answer_poll_and_block_over_http(
    control: httpx.AsyncClient, standin: TelegramStandIn
) -> None:
    await control.post("/_control/user/7/send", json={"text": "/start"})
    poll = await api(
        control,
        standin,
        "sendPoll",
        chat_id=7,
        question="How did it go?",
        options=["Well", "Hard"],
        is_anonymous=False,
    )
    answered = await control.post(
        "/_control/user/7/answer_poll", json={"message_id": poll["message_id"], "option_ids": [1]}
    )
    assert answered.json() == {"ok": True}
    wrong = await control.post(
        "/_control/user/7/answer_poll", json={"message_id": poll["message_id"], "option_ids": [5]}
    )
    assert wrong.status_code == 400
    await control.post("/_control/user/7/block")
    kinds = [next(k for k in u if k != "update_id") for u in standin.pending_updates]
    assert kinds == ["message", "poll", "poll_answer", "my_chat_member"]
    answer = standin.pending_updates[2]["poll_answer"]
    assert (answer["poll_id"], answer["option_ids"]) == (poll["poll"]["id"], [1])

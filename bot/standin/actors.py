"""Acting as Telegram users: send text, press buttons, vote, block, and read what the bot sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.standin.entities import utf16_len
from bot.standin.models import JSON, Chat, ChatMessage, timestamp

if TYPE_CHECKING:
    from bot.standin.server import TelegramStandIn

_TINY_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def _command_entities(text: str) -> list[JSON]:
    if not text.startswith("/") or len(text) < 2:
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]


class GroupChat:
    """A group the bot is in; users post there with :meth:`UserActor.send_in`."""

    def __init__(self, standin: TelegramStandIn, chat_id: int) -> None:
        self.standin = standin
        self.chat_id = chat_id

    @property
    def chat(self) -> Chat:
        return self.standin.chats[self.chat_id]

    @property
    def messages(self) -> list[ChatMessage]:
        """The bot's messages in this group, current state."""
        return self.chat.bot_messages


class UserActor:
    """One Telegram user talking to the bot in their private chat (chat id == user id)."""

    def __init__(
        self,
        standin: TelegramStandIn,
        *,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self.standin = standin
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self._read = 0  # how many of the bot's messages next_message has handed out

    @property
    def user_json(self) -> JSON:
        """This user as a Bot API User."""
        data: JSON = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def chat(self) -> Chat:
        """The private chat with the bot."""
        return self.standin.chats[self.user_id]

    # -- reading --------------------------------------------------------------------------

    @property
    def messages(self) -> list[ChatMessage]:
        """The bot's messages in this chat, oldest first, edits applied, deleted ones gone."""
        return self.chat.bot_messages

    @property
    def last_message(self) -> ChatMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    async def next_message(self, timeout: float = 5.0) -> ChatMessage:  # noqa: ASYNC109
        """The next bot message in this chat that this actor has not been handed yet.

        Messages sent before the call count too, so a reply that beats the call is not lost.
        """
        await self.standin.wait_until(
            lambda: len([m for m in self.chat.messages if m.from_bot]) > self._read, timeout
        )
        sent = [m for m in self.chat.messages if m.from_bot]
        message = sent[self._read]
        self._read += 1
        return message

    def skip_messages(self) -> None:
        """Mark everything the bot sent so far as read for :meth:`next_message`."""
        self._read = len([m for m in self.chat.messages if m.from_bot])

    def keyboard(self, message_id: int | None = None) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard (rows of (label, callback_data)) of a message, default the last."""
        message = self._message(message_id) if message_id else self.last_message
        return message.keyboard if message else []

    def _message(self, message_id: int) -> ChatMessage:
        message = self.chat.find(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {self.user_id}")
        return message

    # -- acting ---------------------------------------------------------------------------

    async def send(self, text: str) -> int:
        """Send a text message (a leading /command gets a bot_command entity); its message_id."""
        return self._post(self.chat, text)

    async def send_in(self, group: GroupChat, text: str) -> int:
        """Send a text message in a group."""
        return self._post(group.chat, text)

    def _post(self, chat: Chat, text: str) -> int:
        fields: dict[str, Any] = {"text": text}
        entities = _command_entities(text)
        if entities:
            fields["entities"] = entities
        return self.standin.store_user_message(chat, self.user_json, **fields).message_id

    async def press(self, label: str, message_id: int | None = None) -> str:
        """Press the callback button labelled ``label``; return the callback query id.

        Without ``message_id``: the newest bot message in this chat that has such a button.
        """
        candidates = [self._message(message_id)] if message_id else reversed(self.messages)
        for message in candidates:
            for button in message.buttons:
                if button["text"] != label:
                    continue
                if button.get("callback_data") is None:
                    raise ValueError(f"button {label!r} is not a callback button")
                return self.standin.create_callback_query(
                    self.user_json, message, button["callback_data"]
                )
        raise LookupError(f"no button labelled {label!r}")

    async def press_data(self, message_id: int, data: str) -> str:
        """Press with arbitrary (possibly forged) callback data on a message."""
        return self.standin.create_callback_query(self.user_json, self._message(message_id), data)

    async def answer_poll(self, target: int | str, option_ids: Sequence[int]) -> None:
        """Vote in a poll given by message id (int) or poll id (str); [] retracts the vote.

        Updates the poll's counts and queues a "poll" update, plus "poll_answer" when the poll
        is not anonymous (as Telegram does for polls the bot sent).
        """
        poll = self.standin.poll(target) if isinstance(target, str) else self._message(target).poll
        if poll is None:
            raise LookupError(f"no poll {target!r}")
        self.standin.record_poll_vote(poll, self.user_json, list(option_ids))

    async def share_location(self, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        message = self.standin.store_user_message(
            self.chat, self.user_json, extra={"location": location}
        )
        return message.message_id

    async def send_sticker(self, emoji: str = "🙂") -> int:
        stored = self.standin.new_file("sticker.webp", b"RIFF-sticker", "image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        message = self.standin.store_user_message(
            self.chat, self.user_json, extra={"sticker": sticker}
        )
        return message.message_id

    async def send_photo(self, caption: str | None = None, content: bytes = _TINY_PNG) -> int:
        stored = self.standin.new_file("photo.png", content, "image/png")
        return self.standin.store_user_message(
            self.chat, self.user_json, photo=stored, caption=caption
        ).message_id

    async def edit(self, message_id: int, new_text: str) -> None:
        """Edit one of this user's own messages (an edited_message update)."""
        message = self._message(message_id)
        if message.from_bot:
            raise ValueError("a user can only edit their own messages")
        if message.text is not None:
            message.edits.append(message.text)
        message.text = new_text
        message.entities = _command_entities(new_text)
        message.edit_date = self.standin.clock()
        self.standin.add_update("edited_message", message.to_api())

    async def block(self) -> None:
        """Block the bot: a my_chat_member update (member -> kicked); sends then get 403."""
        if self.chat.blocked:
            return
        self.chat.blocked = True
        self.standin.member_update(self.chat, self.user_json, "member", "kicked")

    async def unblock(self) -> None:
        """Unblock the bot: a my_chat_member update (kicked -> member)."""
        if not self.chat.blocked:
            return
        self.chat.blocked = False
        self.chat.started = True
        self.standin.member_update(self.chat, self.user_json, "kicked", "member")

    def send_raw_update(self, update: JSON) -> int:
        """Queue an update object as it is, unchecked (see
        :meth:`TelegramStandIn.add_raw_update`); its update_id."""
        return self.standin.add_raw_update(update)

    def transcript(self) -> JSON:
        """Everything the bot did in this chat: every message it sent (deleted ones too, each
        with its earlier texts) and every press by this user with the bot's answer."""
        return {
            "messages": [
                {
                    **m.to_api(),
                    "edits": list(m.edits),
                    "date": timestamp(m.date),
                    "deleted": m.deleted,
                }
                for m in self.chat.messages
                if m.from_bot
            ],
            "callback_queries": self.standin.callback_queries(self.user_id),
        }

    def summary(self) -> list[JSON]:
        """The bot's messages as JSON (for the HTTP control endpoint)."""
        return [
            {**m.to_api(), "edits": list(m.edits), "date": timestamp(m.date)} for m in self.messages
        ]

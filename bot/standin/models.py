"""What the stand-in remembers: chats, messages (with their edits), polls, calls, answers."""

from __future__ import annotations

import datetime as dtm
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


def timestamp(moment: dtm.datetime) -> int:
    """Unix time as the Bot API sends it."""
    return int(moment.timestamp())


@dataclass
class StoredPoll:
    """A poll the bot sent, with its live counts and who voted for what."""

    id: str
    chat_id: int
    message_id: int
    question: str
    options: list[str]
    is_anonymous: bool = True
    type: str = "regular"
    allows_multiple_answers: bool = False
    correct_option_id: int | None = None
    is_closed: bool = False
    votes: dict[int, list[int]] = field(default_factory=dict)

    @property
    def counts(self) -> list[int]:
        """Voters per option."""
        counts = [0] * len(self.options)
        for option_ids in self.votes.values():
            for option_id in option_ids:
                counts[option_id] += 1
        return counts

    def to_api(self) -> JSON:
        """The Bot API's Poll object."""
        data: JSON = {
            "id": self.id,
            "question": self.question,
            "options": [
                {"text": text, "voter_count": count, "persistent_id": str(index)}
                for index, (text, count) in enumerate(zip(self.options, self.counts, strict=True))
            ],
            "total_voter_count": sum(1 for ids in self.votes.values() if ids),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": self.type,
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": self.type != "quiz",
            "members_only": False,
        }
        if self.correct_option_id is not None:
            data["correct_option_ids"] = [self.correct_option_id]
        return data


@dataclass
class StoredFile:
    """A file the bot uploaded (document or photo), kept with its bytes."""

    file_id: str
    file_unique_id: str
    filename: str | None
    mime_type: str | None
    content: bytes | None
    url: str | None = None

    @property
    def size(self) -> int:
        return len(self.content) if self.content is not None else 0


@dataclass
class ChatMessage:
    """One message in a chat, in its current state (edits applied; earlier texts in ``edits``)."""

    message_id: int
    chat: JSON
    sender: JSON
    date: dtm.datetime
    from_bot: bool
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    edit_date: dtm.datetime | None = None
    edits: list[str] = field(default_factory=list)
    poll: StoredPoll | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    deleted: bool = False
    reply_to_message_id: int | None = None
    extra: JSON = field(default_factory=dict)

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def keyboard(self) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of (label, callback_data); url buttons have None."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [
            [(button["text"], button.get("callback_data")) for button in row]
            for row in self.reply_markup["inline_keyboard"]
        ]

    @property
    def buttons(self) -> list[JSON]:
        """Every inline button, row by row."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    @property
    def document_bytes(self) -> bytes | None:
        return self.document.content if self.document else None

    @property
    def filename(self) -> str | None:
        return self.document.filename if self.document else None

    def to_api(self) -> JSON:
        """The Bot API's Message object."""
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": timestamp(self.date),
        }
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            data["edit_date"] = timestamp(self.edit_date)
        if self.poll is not None:
            data["poll"] = self.poll.to_api()
        if self.document is not None:
            document: JSON = {
                "file_id": self.document.file_id,
                "file_unique_id": self.document.file_unique_id,
                "file_size": self.document.size,
            }
            if self.document.filename:
                document["file_name"] = self.document.filename
            if self.document.mime_type:
                document["mime_type"] = self.document.mime_type
            data["document"] = document
        if self.photo is not None:
            data["photo"] = [
                {
                    "file_id": self.photo.file_id,
                    "file_unique_id": self.photo.file_unique_id,
                    "width": 800,
                    "height": 600,
                    "file_size": self.photo.size,
                }
            ]
        data.update(self.extra)
        return data


@dataclass
class Chat:
    """A private chat with one user, or a group."""

    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    blocked: bool = False
    started: bool = True
    messages: list[ChatMessage] = field(default_factory=list)
    last_message_id: int = 0

    def to_api(self) -> JSON:
        """The Bot API's Chat object (as embedded in messages)."""
        data: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "last_name", "username"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    def find(self, message_id: int) -> ChatMessage | None:
        """The message with that id, unless deleted."""
        for message in self.messages:
            if message.message_id == message_id and not message.deleted:
                return message
        return None

    @property
    def bot_messages(self) -> list[ChatMessage]:
        """The bot's messages here, oldest first, deleted ones left out."""
        return [m for m in self.messages if m.from_bot and not m.deleted]


@dataclass
class ApiCall:
    """One Bot API call as the stand-in saw it."""

    method: str
    params: JSON
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    timed_out: bool = False
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class CallbackAnswer:
    """A successful answerCallbackQuery."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class CallbackQueryRecord:
    """A press the bot has to answer."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: dtm.datetime
    answered: bool = False


@dataclass
class WebhookAttempt:
    """One POST of an update to the webhook (``url``: where it went): its HTTP status, and why
    it failed (``error`` None: a 2xx)."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    seconds: float
    had_secret: bool

"""The loaded, validated content: what the bot and the scheduler read from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from content.models import Item, PollQuestion, TextKey
from content.render import render_template


@dataclass(frozen=True, slots=True)
class Library:
    """All content, already checked by ``load_library``; build it through that, not by hand."""

    steps: tuple[Item, ...]  # ordered by step number, exactly 1..4
    tips: tuple[Item, ...]
    insights: tuple[Item, ...]
    polls: tuple[PollQuestion, ...]
    texts: Mapping[TextKey, str]
    _by_id: Mapping[str, Item] = field(init=False, repr=False, compare=False)
    _polls_by_id: Mapping[str, PollQuestion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", MappingProxyType(dict(self.texts)))
        object.__setattr__(self, "_by_id", MappingProxyType({i.id: i for i in self.all_items()}))
        object.__setattr__(self, "_polls_by_id", MappingProxyType({p.id: p for p in self.polls}))

    def all_items(self) -> tuple[Item, ...]:
        """Every item: steps, then tips, then insights, each in file order."""
        return (*self.steps, *self.tips, *self.insights)

    def item(self, item_id: str) -> Item:
        """The item with this id; KeyError if there is none (e.g. removed from the data)."""
        try:
            return self._by_id[item_id]
        except KeyError:
            raise KeyError(f"no content item with id {item_id!r}") from None

    def has_item(self, item_id: str) -> bool:
        """Whether an item with this id exists."""
        return item_id in self._by_id

    def step(self, number: int) -> Item:
        """The checklist step with this number (1..4)."""
        for item in self.steps:
            if item.step == number:
                return item
        raise KeyError(f"no step number {number}")

    def items_for_step(self, number: int) -> tuple[Item, ...]:
        """The step itself, then the tips and insights that support it."""
        return tuple(item for item in self.all_items() if item.step == number)

    def supportive_tips(self, number: int) -> tuple[Item, ...]:
        """Tips for after a conversation on this step went hard (at least one per step)."""
        return tuple(tip for tip in self.tips if tip.step == number and tip.supportive)

    def poll(self, poll_id: str) -> PollQuestion:
        """The check-in poll question with this id; KeyError if there is none."""
        try:
            return self._polls_by_id[poll_id]
        except KeyError:
            raise KeyError(f"no poll question with id {poll_id!r}") from None

    def render_text(self, key: TextKey, /, **fmt: object) -> str:
        """A bot text as Telegram HTML, escaped, with its placeholders filled from ``fmt``."""
        return render_template(self.texts[key], **fmt)

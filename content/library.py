"""The loaded, validated content: what the bot and the scheduler read from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from content.models import (
    SAFETY_COMMAND,
    SAFETY_SECTIONS,
    CrisisDirectory,
    CrisisLine,
    Item,
    Moment,
    PollQuestion,
    SafetyKey,
    TextKey,
)
from content.render import render_template


def links_safety(item: Item) -> bool:
    """Whether a card's own words point her to /safety."""
    return any(SAFETY_COMMAND in text for text in (item.body, item.try_this or ""))


@dataclass(frozen=True, slots=True)
class Library:
    """All content, already checked by ``load_library``; build it through that, not by hand."""

    steps: tuple[Item, ...]  # ordered by step number, exactly 1..4
    tips: tuple[Item, ...]
    insights: tuple[Item, ...]
    polls: tuple[PollQuestion, ...]
    texts: Mapping[TextKey, str]
    variants: tuple[Item, ...] = ()  # other angles on the steps, in file order
    scripts: tuple[Item, ...] = ()  # on-demand cards: "Talking now" and free text
    sources: Mapping[str, str] = field(default_factory=dict)  # article point key -> what it says
    safety: Mapping[SafetyKey, str] = field(default_factory=dict)
    crisis_lines: Mapping[str, CrisisLine] = field(default_factory=dict)  # by ISO country code
    crisis_directory: CrisisDirectory | None = None
    # Lower-case words or phrases: free text containing one gets /safety, before any card.
    safety_keywords: tuple[str, ...] = ()
    _by_id: Mapping[str, Item] = field(init=False, repr=False, compare=False)
    _polls_by_id: Mapping[str, PollQuestion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", MappingProxyType(dict(self.texts)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "safety", MappingProxyType(dict(self.safety)))
        object.__setattr__(self, "crisis_lines", MappingProxyType(dict(self.crisis_lines)))
        object.__setattr__(self, "_by_id", MappingProxyType({i.id: i for i in self.all_items()}))
        object.__setattr__(self, "_polls_by_id", MappingProxyType({p.id: p for p in self.polls}))

    # -- items ---------------------------------------------------------------------------------

    def all_items(self) -> tuple[Item, ...]:
        """Every item: steps, tips, insights, variants, then scripts, each in file order.

        Steps come first so that callers that only know the old kinds still find them where
        they were; the scheduler ignores kinds it does not schedule.
        """
        return (*self.steps, *self.tips, *self.insights, *self.variants, *self.scripts)

    def scheduled_items(self) -> tuple[Item, ...]:
        """What the schedule may send: steps, tips, insights and variants (never scripts)."""
        return (*self.steps, *self.tips, *self.insights, *self.variants)

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
        """The step itself, then its variants, tips, insights and scripts."""
        return tuple(item for item in self.all_items() if item.step == number)

    def variants_of(self, step_id: str) -> tuple[Item, ...]:
        """The other angles on this step, in file order; KeyError if it is not a step's id."""
        if self.item(step_id).kind != "step":
            raise KeyError(f"{step_id!r} is not a step")
        return tuple(v for v in self.variants if v.variant_of == step_id)

    def progress_item_id(self, item_id: str) -> str:
        """The id progress is counted against: a variant's step, otherwise the item itself."""
        item = self.item(item_id)
        return item.variant_of if item.variant_of is not None else item.id

    def supportive_tips(self, number: int) -> tuple[Item, ...]:
        """Tips for after a conversation on this step went hard (at least one per step)."""
        return tuple(tip for tip in self.tips if tip.step == number and tip.supportive)

    def moment(self, key: Moment) -> Item:
        """The primary "Talking now" script for this moment (each has exactly one)."""
        for script in self.scripts:
            if script.moment == key:
                return script
        raise KeyError(f"no script for the moment {key!r}")

    def withdrawal_items(self) -> tuple[Item, ...]:
        """The withdrawal cards (``Item.withdrawal``), in ``all_items`` order."""
        return tuple(item for item in self.all_items() if item.withdrawal)

    def withdrawal_safety_line(self, item_id: str) -> str | None:
        """The line to add under this card when free text brought it, as Telegram HTML.

        For a withdrawal card: texts.yaml's ``withdrawal_safety_line`` (if the silence feels
        like punishment, or she is afraid: /safety), unless the card's own words already link
        /safety (the withdrawal cards the schedule or "Talking now" sends carry such a line in
        their body, so it is never said twice). None for any other card; KeyError for an
        unknown id.
        """
        item = self.item(item_id)
        if not item.withdrawal or links_safety(item):
            return None
        return self.render_text("withdrawal_safety_line")

    # -- polls and texts -----------------------------------------------------------------------

    def poll(self, poll_id: str) -> PollQuestion:
        """The check-in poll question with this id; KeyError if there is none."""
        try:
            return self._polls_by_id[poll_id]
        except KeyError:
            raise KeyError(f"no poll question with id {poll_id!r}") from None

    def render_text(self, key: TextKey, /, **fmt: object) -> str:
        """A bot text as Telegram HTML, escaped, with its placeholders filled from ``fmt``."""
        return render_template(self.texts[key], **fmt)

    # -- safety --------------------------------------------------------------------------------

    def safety_text(self, key: SafetyKey, /, **fmt: object) -> str:
        """One /safety section as Telegram HTML, escaped, placeholders filled from ``fmt``."""
        return render_template(self.safety[key], **fmt)

    def crisis_line(self, country_code: str | None) -> CrisisLine | None:
        """The crisis line for this ISO 3166 alpha-2 country code, if the content has one."""
        if not country_code:
            return None
        return self.crisis_lines.get(country_code.upper())

    def render_crisis(self, country_code: str | None) -> str:
        """Where to call now: her country's line if known, otherwise the directory (HTML)."""
        line = self.crisis_line(country_code)
        if line is None:
            directory = self.crisis_directory
            if directory is None:  # only a hand-built Library lacks one
                return ""
            return self.safety_text("crisis_directory", name=directory.name, url=directory.url)
        if line.phone is not None and line.text is not None:
            contact = self.safety_text("contact_call_or_text", phone=line.phone, text=line.text)
        elif line.phone is not None:
            contact = self.safety_text("contact_call", phone=line.phone)
        else:
            contact = self.safety_text("contact_text", text=line.text)
        # contact is already escaped HTML: fill the template around it without escaping twice.
        template = self.safety_text(
            "crisis_line", country=line.country, name=line.name, contact="\0", url=line.url
        )
        return template.replace("\0", contact)

    def render_safety(self, country_code: str | None) -> str:
        """The whole /safety message as Telegram HTML: intro, sections, then where to call.

        A section's first paragraph is its heading, shown in bold.
        """
        parts = [self.render_text("safety_intro")]
        for key in SAFETY_SECTIONS:
            heading, _, rest = self.safety_text(key).partition("\n\n")
            parts.append(f"<b>{heading}</b>\n\n{rest}" if rest else heading)
        crisis = self.render_crisis(country_code)
        if crisis:
            parts.append(crisis)
        return "\n\n".join(parts)

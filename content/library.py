"""The loaded, validated content: what the bot and the scheduler read from."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from content.models import (
    SAFETY_COMMAND,
    SAFETY_SECTIONS,
    CountryHelplines,
    CrisisDirectory,
    Helpline,
    Item,
    Moment,
    PollQuestion,
    SafetyKey,
    TextKey,
)
from content.render import CardLabels, plural_form, render_item, render_template, visible_text


def links_safety(item: Item) -> bool:
    """Whether a card's own words point her to /safety."""
    return any(SAFETY_COMMAND in text for text in (item.body, item.try_this or ""))


@dataclass(frozen=True, slots=True)
class Helplines:
    """Where /safety points her, as plain data: ``library.helplines("ES")``.

    ``crisis`` and ``dv`` (domestic abuse) are her country's lines, each None where the content
    has none for her country or her country is unknown. ``dv_unverified`` is True when her
    country is listed but no domestic-abuse line could be verified there, so the reply can say
    so rather than stay silent. ``directory`` is for everyone: her way to other lines, and the
    only one where her country has none (None only in a hand-built Library).
    """

    country_code: str | None  # ISO 3166 alpha-2, upper case; None when her country is unknown
    country: str | None  # as it reads after "In", where the content lists her country
    emergency: str | None  # the number to call in danger right now, where the content has it
    crisis: Helpline | None
    dv: Helpline | None
    dv_unverified: bool
    directory: CrisisDirectory | None


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
    # Crisis and domestic-abuse lines by ISO country code; see helplines().
    helpline_countries: Mapping[str, CountryHelplines] = field(default_factory=dict)
    crisis_directory: CrisisDirectory | None = None
    # Lower-case words or phrases: free text containing one gets /safety, before any card.
    safety_keywords: tuple[str, ...] = ()
    # The language of these words (content.translations builds the others), and the texts
    # whose words change with a number: key -> CLDR plural category -> text.
    language: str = "en"
    plurals: Mapping[TextKey, Mapping[str, str]] = field(default_factory=dict)
    _by_id: Mapping[str, Item] = field(init=False, repr=False, compare=False)
    _polls_by_id: Mapping[str, PollQuestion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", MappingProxyType(dict(self.texts)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "safety", MappingProxyType(dict(self.safety)))
        object.__setattr__(
            self, "helpline_countries", MappingProxyType(dict(self.helpline_countries))
        )
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
        """A bot text as Telegram HTML, escaped, with its placeholders filled from ``fmt`` (a
        text whose words change with a number takes the form for it: ``plural_form``)."""
        forms = self.plurals.get(key) if self.plurals else None
        if forms:
            return render_template(plural_form(self.language, forms, fmt), **fmt)
        return render_template(self.texts[key], **fmt)

    def label(self, key: TextKey, /, **fmt: object) -> str:
        """A text as plain text: a button's label, a toast, a command's description."""
        return visible_text(self.render_text(key, **fmt))

    def render_item(self, item: Item) -> str:
        """A card as Telegram HTML in this library's language (``render_item``)."""
        if self.language == "en":
            return render_item(item)
        return render_item(
            item,
            CardLabels(
                try_this=self.label("card_try_this"),
                say=self.label("card_say"),
                step=self.texts["card_step"],
                translated=self.label("card_quote_translated"),
            ),
        )

    # -- safety --------------------------------------------------------------------------------

    def safety_text(self, key: SafetyKey, /, **fmt: object) -> str:
        """One /safety section as Telegram HTML, escaped, placeholders filled from ``fmt``."""
        return render_template(self.safety[key], **fmt)

    def helplines(self, country_code: str | None) -> Helplines:
        """Her country's crisis and domestic-abuse lines (by ISO 3166 alpha-2 code, any case)
        and the directory; see Helplines."""
        code = country_code.upper() if country_code else None
        listed = self.helpline_countries.get(code) if code else None
        return Helplines(
            country_code=code,
            country=listed.country if listed else None,
            emergency=listed.emergency.number if listed and listed.emergency else None,
            crisis=listed.crisis if listed else None,
            dv=listed.dv if listed else None,
            dv_unverified=listed is not None and listed.dv is None,
            directory=self.crisis_directory,
        )

    def crisis_line(self, country_code: str | None) -> Helpline | None:
        """Her country's crisis line, if the content has one."""
        return self.helplines(country_code).crisis

    def render_helplines(self, country_code: str | None) -> str:
        """Where to call now, as Telegram HTML: her country's crisis line and domestic-abuse
        line (or a word that none could be checked there), then the directory."""
        found = self.helplines(country_code)
        parts: list[str] = []
        if found.crisis is not None and found.country is not None:
            contact = self._contact(found.crisis)
            sentence = self.safety_text(
                "crisis_line",
                country=found.country,
                name=found.crisis.name_in(self.language),
                contact="\0",
            )
            parts.append(
                _with_site_and_note(sentence.replace("\0", contact), found.crisis, self.language)
            )
        if found.dv is not None:
            contact = self._contact(found.dv)
            sentence = self.safety_text(
                "dv_line", name=found.dv.name_in(self.language), contact="\0"
            )
            parts.append(
                _with_site_and_note(sentence.replace("\0", contact), found.dv, self.language)
            )
        elif found.dv_unverified and found.country is not None:
            parts.append(self.safety_text("dv_unverified", country=found.country))
        directory = found.directory
        if directory is not None:
            key: SafetyKey = "other_helplines" if parts else "crisis_directory"
            parts.append(self.safety_text(key, name=directory.name, url=directory.url))
        return "\n\n".join(parts)

    def _contact(self, line: Helpline) -> str:
        """How to reach a line ("call 988 or text 988") as HTML; its contact_* text."""
        if line.text is None:
            return self.safety_text("contact_call", phone=line.phone)
        if line.text_word is not None:
            if line.phone is None:
                return self.safety_text("contact_text_word", word=line.text_word, text=line.text)
            return self.safety_text(
                "contact_call_or_text_word", phone=line.phone, word=line.text_word, text=line.text
            )
        if line.phone is None:
            return self.safety_text("contact_text", text=line.text)
        return self.safety_text("contact_call_or_text", phone=line.phone, text=line.text)

    def render_safety(self, country_code: str | None) -> str:
        """The whole /safety message as Telegram HTML: intro, sections, then the helplines.

        A section's first paragraph is its heading, shown in bold.
        """
        parts = [self.render_text("safety_intro")]
        for key in SAFETY_SECTIONS:
            heading, _, rest = self.safety_text(key).partition("\n\n")
            parts.append(f"<b>{heading}</b>\n\n{rest}" if rest else heading)
        helplines = self.render_helplines(country_code)
        if helplines:
            parts.append(helplines)
        return "\n\n".join(parts)


def _with_site_and_note(sentence: str, line: Helpline, language: str = "en") -> str:
    """A line's sentence (already HTML), then its note (in ``language``) and its site, escaped."""
    extras = [html.escape(text, quote=False) for text in (line.note_in(language), line.url) if text]
    return " ".join([sentence, *extras])

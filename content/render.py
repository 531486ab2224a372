"""Turn content into Telegram HTML (parse_mode=HTML); every content string is escaped here."""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

from babel import Locale as BabelLocale

from content.models import STEP_COUNT, Item, utf16_length


@dataclass(frozen=True, slots=True)
class CardLabels:
    """The words around a card: "Try this:", "Try saying:", "Step {number} of {total}:", and
    the mark of a quote given in translation (None: the quote is in its own words)."""

    try_this: str = "Try this:"
    say: str = "Try saying:"
    step: str = "Step {number} of {total}:"
    translated: str | None = None


ENGLISH_LABELS = CardLabels()


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def render_item(item: Item, labels: CardLabels = ENGLISH_LABELS) -> str:
    """Render one card: bold title, body, the quote in italics with its expert, "Try this".

    Steps and their variants carry "Step k of 4:" before the title; a script's last line is the
    line to say ("Try saying:"). A quote given in translation says so after its expert.
    """
    title = _escape(item.title)
    if item.kind in ("step", "variant"):
        title = f"{_escape(labels.step.format(number=item.step, total=STEP_COUNT))} {title}"
    parts = [f"<b>{title}</b>", _escape(item.body)]
    if item.quote is not None and item.expert is not None:
        quote = f"<i>“{_escape(item.quote)}”</i> — {_escape(item.expert)}"
        if labels.translated:
            quote = f"{quote} {_escape(labels.translated)}"
        parts.append(quote)
    if item.try_this is not None:
        label = labels.say if item.kind == "script" else labels.try_this
        parts.append(f"<b>{_escape(label)}</b> {_escape(item.try_this)}")
    return "\n\n".join(parts)


def plural_form(language: str, forms: Mapping[str, str], fmt: Mapping[str, object]) -> str:
    """The form of a text for the number in ``fmt``: ``count``, else the text's last numeric
    placeholder; chosen by ``language``'s CLDR plural rules (Babel)."""
    number = fmt.get("count")
    if not isinstance(number, int | float):
        numeric = [
            value
            for name in _order(forms["other"])
            if isinstance(value := fmt.get(name), int | float) and not isinstance(value, bool)
        ]
        number = numeric[-1] if numeric else None
    if number is None:
        return forms["other"]
    category = str(BabelLocale.parse(language).plural_form(number))
    return forms.get(category, forms["other"])


def _order(template: str) -> list[str]:
    return [name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name]


def placeholders(template: str) -> frozenset[str]:
    """The ``{name}`` fields of a text; ValueError if a field is malformed or not a plain name."""
    names: set[str] = set()
    for _literal, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} must be a plain {{name}}")
        names.add(field)
    return frozenset(names)


# The only markup a text template may carry (content/data/texts.yaml's header): bold and italic.
TEXT_TAGS = ("<b>", "</b>", "<i>", "</i>")
_ESCAPED_TAGS = {_tag.replace("<", "&lt;").replace(">", "&gt;"): _tag for _tag in TEXT_TAGS}


def text_tag_problem(template: str) -> str | None:
    """Why a template's <b>/<i> tags would not make valid Telegram HTML, or None if they do."""
    open_tags: list[str] = []
    for tag in re.findall(r"</?[bi]>", template):
        name = tag.strip("</>")
        if not tag.startswith("</"):
            if name in open_tags:
                return f"<{name}> inside <{name}>"
            open_tags.append(name)
        elif not open_tags or open_tags[-1] != name:
            return f"{tag} without its opening tag"
        else:
            open_tags.pop()
    return f"<{open_tags[-1]}> is never closed" if open_tags else None


def render_template(template: str, /, **fmt: object) -> str:
    """Escape a text template and fill its placeholders with escaped values.

    The template's own ``<b>``, ``</b>``, ``<i>`` and ``</i>`` stay markup; anything else in it,
    and everything in the values, is escaped.
    """
    expected = placeholders(template)
    given = frozenset(fmt)
    if expected != given:
        missing = sorted(expected - given)
        unexpected = sorted(given - expected)
        raise ValueError(f"placeholders missing: {missing}, not in the text: {unexpected}")
    escaped = re.sub(
        r"&lt;/?[bi]&gt;", lambda match: _ESCAPED_TAGS[match.group(0)], _escape(template)
    )
    return escaped.format_map({name: _escape(str(v)) for name, v in fmt.items()})


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def visible_text(html_text: str) -> str:
    """The text Telegram shows: tags stripped, entities unescaped."""
    parser = _VisibleText()
    parser.feed(html_text)
    parser.close()
    return "".join(parser.chunks)


def visible_length(html_text: str) -> int:
    """Length of a message as Telegram's limits count it (after entity parsing, UTF-16)."""
    return utf16_length(visible_text(html_text))

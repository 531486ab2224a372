"""Rendering gives valid Telegram HTML with every content string escaped."""

from __future__ import annotations

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from content import Item, Library, render_item, visible_length, visible_text
from content.models import TEXT_PLACEHOLDERS
from content.render import render_template
from tests.content.telegram_html import telegram_html_problems


def make_item(**fields: object) -> Item:
    values: dict[str, object] = {
        "id": "sample",
        "kind": "tip",
        "title": "Title",
        "body": "Body",
        "step": 1,
        "source": "closer",
    }
    values.update(fields)
    return Item.model_validate(values)


def test_every_rendered_item_is_telegram_html_with_only_supported_closed_tags(
    library: Library,
) -> None:
    for item in library.all_items():
        assert telegram_html_problems(render_item(item)) == [], item.id


def test_every_rendered_text_is_telegram_html(library: Library) -> None:
    for key in library.texts:
        fmt = dict.fromkeys(TEXT_PLACEHOLDERS[key], "Monday <b> & co")
        assert telegram_html_problems(library.render_text(key, **fmt)) == [], key


def test_html_in_content_is_escaped_not_interpreted() -> None:
    item = make_item(
        title="Fish & <chips>",
        body="a < b && c > d <script>alert(1)</script>",
        try_this="Say &amp; mean it",
        expert="Esther Perel",
        quote="<i>not</i> & so on",
    )
    html = render_item(item)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "Fish &amp; &lt;chips&gt;" in html
    assert "Say &amp;amp; mean it" in html
    assert telegram_html_problems(html) == []
    shown = visible_text(html)
    for text in (item.title, item.body, item.try_this, item.quote):
        assert text is not None
        assert text in shown


def test_quote_is_rendered_in_italics_with_its_expert() -> None:
    item = make_item(expert="Matthew Hussey", quote="vulnerability hangover")
    assert "<i>“vulnerability hangover”</i> — Matthew Hussey" in render_item(item)


def test_expert_without_quote_renders_no_quote_line() -> None:
    html = render_item(make_item(expert="Esther Perel", body="Esther Perel suggests curiosity."))
    assert "<i>" not in html
    assert "—" not in html


def test_a_quote_without_an_expert_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="needs an expert"):
        make_item(quote="words nobody said")


def test_a_quote_from_someone_the_source_does_not_quote_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="expert"):
        make_item(expert="Someone Else", quote="words")


def test_quotes_in_the_content_appear_only_with_an_expert(library: Library) -> None:
    for item in library.all_items():
        html = render_item(item)
        if item.quote is None:
            assert "<i>" not in html, item.id
        else:
            assert item.expert is not None
            assert html.count("<i>") == 1
            assert html.endswith(f"— {item.expert}") or f"— {item.expert}\n" in html


def test_step_title_carries_its_number_and_try_this_its_label() -> None:
    html = render_item(make_item(kind="step", step=2, try_this="Breathe."))
    assert html.startswith("<b>Step 2 of 4: Title</b>")
    assert html.endswith("<b>Try this:</b> Breathe.")


def test_render_text_escapes_values_and_insists_on_its_placeholders(library: Library) -> None:
    html = library.render_text("paused", until="Mon <3 & Tue")
    assert "Mon &lt;3 &amp; Tue" in html
    with pytest.raises(ValueError, match="missing"):
        library.render_text("paused")
    with pytest.raises(ValueError, match="not in the text"):
        library.render_text("welcome", name="Ann")


def test_render_template_keeps_braces_in_values_literal() -> None:
    assert render_template("Until {until}.", until="{other}") == "Until {other}."


def test_visible_length_counts_text_after_entity_parsing_in_utf16_units() -> None:
    assert visible_length("<b>a &amp; b</b>") == 5
    assert visible_length("<i>x</i>\n\n&lt;") == 4
    assert visible_length("🙂") == 2


printable = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=80,
).filter(lambda text: text.strip() == text and text != "")


@given(title=printable, body=printable, try_this=printable)
def test_any_text_survives_rendering_exactly(title: str, body: str, try_this: str) -> None:
    html = render_item(make_item(title=title, body=body, try_this=try_this))
    assert telegram_html_problems(html) == []
    assert visible_text(html) == f"{title}\n\n{body}\n\nTry this: {try_this}"


def test_a_text_keeps_its_bold_and_italic_and_escapes_everything_else() -> None:
    html = render_template(
        "<b>Hi</b> <i>{name}</i> & <u>not this</u> <b class=x> <script>",
        name="<b>Eve</b> & co",
    )
    assert html == (
        "<b>Hi</b> <i>&lt;b&gt;Eve&lt;/b&gt; &amp; co</i> &amp; &lt;u&gt;not this&lt;/u&gt; "
        "&lt;b class=x&gt; &lt;script&gt;"
    )

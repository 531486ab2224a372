"""Telegram's formatting rules as the stand-in parses them (pure functions, no bot)."""

from __future__ import annotations

import pytest

from bot.standin import ApiError, parse_html, parse_markdown_v2, utf16_len


def test_html_tags_become_entities_with_utf16_offsets() -> None:
    text, entities = parse_html("😀 <b>bold</b> <i>it</i> <a href='https://e.org'>link</a>")
    assert text == "😀 bold it link"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "italic", "offset": 8, "length": 2},
        {"type": "text_link", "offset": 11, "length": 4, "url": "https://e.org"},
    ]


@pytest.mark.parametrize(
    ("markup", "kind"),
    [
        ("<strong>x</strong>", "bold"),
        ("<em>x</em>", "italic"),
        ("<u>x</u>", "underline"),
        ("<ins>x</ins>", "underline"),
        ("<s>x</s>", "strikethrough"),
        ("<strike>x</strike>", "strikethrough"),
        ("<del>x</del>", "strikethrough"),
        ("<tg-spoiler>x</tg-spoiler>", "spoiler"),
        ('<span class="tg-spoiler">x</span>', "spoiler"),
        ("<code>x</code>", "code"),
        ("<pre>x</pre>", "pre"),
        ("<blockquote>x</blockquote>", "blockquote"),
        ("<blockquote expandable>x</blockquote>", "expandable_blockquote"),
    ],
)
def test_every_supported_tag(markup: str, kind: str) -> None:
    assert parse_html(markup) == ("x", [{"type": kind, "offset": 0, "length": 1}])


def test_pre_with_code_language_is_one_pre_entity() -> None:
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


def test_character_references() -> None:
    text, _ = parse_html("&lt;b&gt; &amp; &quot;q&quot; &#39;s&#x27; AT&T &nbsp;")
    # unknown named references stay literal, as on Telegram
    assert text == "<b> & \"q\" 's' AT&T &nbsp;"


@pytest.mark.parametrize(
    ("markup", "detail"),
    [
        ("Hello there <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 12'),
        ("é <foo>", 'Unsupported start tag "foo" at byte offset 3'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_bad_html_is_refused_with_telegrams_words(markup: str, detail: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_html(markup)
    assert caught.value.code == 400
    assert caught.value.description == f"Bad Request: can't parse entities: {detail}"


def test_surrounding_whitespace_is_trimmed_and_entities_shift() -> None:
    assert parse_html("  \n<b>x</b>  ") == ("x", [{"type": "bold", "offset": 0, "length": 1}])


def test_markdown_v2_entities_and_escapes() -> None:
    text, entities = parse_markdown_v2(r"*b* _i_ __u__ ~s~ ||p|| `c` [l](https://e.org) 1\.5\!")
    assert text == "b i u s p c l 1.5!"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]


@pytest.mark.parametrize(
    ("markup", "detail"),
    [
        ("Done.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
    ],
)
def test_markdown_v2_unescaped_reserved_characters_are_refused(markup: str, detail: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_markdown_v2(markup)
    assert caught.value.description == f"Bad Request: can't parse entities: {detail}"


def test_utf16_len_counts_surrogate_pairs() -> None:
    assert utf16_len("a😀") == 3

"""Editorial rules for the shipped words: short, attributed, safe, in the right places."""

from __future__ import annotations

import re

from content import NUDGE_AIM, Library, render_item, visible_length

# The passages the source article attributes to a named expert. A quote must come from these,
# word for word; everything else is written in Closer's own words.
ATTRIBUTED_PASSAGES = {
    "Matthew Hussey": (
        'the vulnerability "did not negate the heroic parts" of him',
        'this "vulnerability hangover" can be so intense',
        'his partner now views him only as "insecure, needy, frail."',
    ),
    "Esther Perel": (
        "a “systematic dismantlement of their emotional lives” by an early age",
        "A significant underlying issue for men is the fear of powerlessness and the resulting "
        "fragility of masculinity. Living up to the myth of invulnerability is a ‘lie that all "
        "men perform.’",
    ),
}
QUOTE_WORD_LIMIT = 12


def test_every_nudge_fits_the_700_character_aim(library: Library) -> None:
    for item in library.all_items():
        assert visible_length(render_item(item)) <= NUDGE_AIM, item.id


def test_quotes_are_short_and_word_for_word_from_their_expert(library: Library) -> None:
    quoted = [item for item in library.all_items() if item.quote is not None]
    assert quoted, "the content credits at least one expert quote"
    for item in quoted:
        assert item.expert is not None and item.quote is not None
        assert len(item.quote.split()) <= QUOTE_WORD_LIMIT, item.id
        assert any(item.quote in passage for passage in ATTRIBUTED_PASSAGES[item.expert]), item.id


def test_an_expert_named_on_an_item_is_named_in_its_words(library: Library) -> None:
    for item in library.all_items():
        if item.expert is not None and item.quote is None:
            assert item.expert in item.body, item.id


def test_paragraphs_are_separated_by_a_blank_line(library: Library) -> None:
    """Catches YAML folding mistakes: a lone newline inside an item is almost always one."""
    for item in library.all_items():
        for text in (item.title, item.body, item.try_this or "", item.quote or ""):
            assert not re.search(r"(?<!\n)\n(?!\n)", text), item.id
            assert "\n\n\n" not in text and "  " not in text, item.id


def test_titles_are_one_short_line(library: Library) -> None:
    for item in library.all_items():
        assert "\n" not in item.title and len(item.title) <= 60, item.id


def test_welcome_says_what_is_stored_how_to_erase_it_and_where_to_get_help(
    library: Library,
) -> None:
    welcome = library.texts["welcome"].lower()
    for needle in ("/forget", "not therapy", "emergency", "domestic-abuse helpline", "keep"):
        assert needle in welcome, needle


def test_help_lists_every_command(library: Library) -> None:
    help_text = library.texts["help"]
    for command in (
        "/checklist",
        "/tip",
        "/log",
        "/progress",
        "/settings",
        "/pause",
        "/resume",
        "/export",
        "/forget",
        "/about",
    ):
        assert command in help_text, command


def test_about_credits_the_sources_and_disclaims_affiliation(library: Library) -> None:
    about = library.texts["about"]
    for needle in ("Matthew Hussey", "Esther Perel", "Why Men Withdraw", "not affiliated"):
        assert needle in about, needle


def test_free_text_reply_points_somewhere_useful(library: Library) -> None:
    reply = library.texts["free_text_reply"]
    assert "/log" in reply and "/help" in reply

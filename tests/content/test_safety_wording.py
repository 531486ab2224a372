"""Cards read by someone who may live with abuse: none of them may read as the opposite of help.

The /safety card tells withdrawal from silence used as control, and self-harm from a bad mood; the
cards must not contradict it (no promise of secrecy, no couples counselling where there is fear,
no "don't take it at face value" about words that may be about suicide).
"""

from __future__ import annotations

import re

import pytest

from content import Item, Library, TextKey, render_item, visible_text
from content.library import links_safety
from content.models import SCHEDULED_KINDS

# A card that tells her his silence or distance is not aimed at her.
NOT_AIMED_AT_HER = re.compile(
    r"\bnot (trying )?to (hurt|punish) you|\bnot attacking you|\bthan a choice to hurt you"
    r"|\bnot built to keep you out",
    re.IGNORECASE,
)
# Keywords that bring free text about silence used against her.
SILENCE_KEYWORDS = ("silent treatment", "stonewall", "ignor")


def _shown(item: Item) -> str:
    """Everything a card shows, as plain text."""
    return visible_text(render_item(item))


def _paragraphs_with(text: str, needle: str) -> list[str]:
    return [paragraph for paragraph in text.split("\n\n") if needle in paragraph]


# -- 1. withdrawal cards -----------------------------------------------------------------------


def test_cards_that_say_his_silence_is_not_aimed_at_her_are_withdrawal_cards(
    library: Library,
) -> None:
    found = [item.id for item in library.all_items() if NOT_AIMED_AT_HER.search(item.body)]
    assert {"now-he-shut-down", "acknowledge-conditioning", "withdrawal-seeks-calm"} <= set(found)
    assert [item_id for item_id in found if not library.item(item_id).withdrawal] == []


def test_cards_free_text_about_silence_reaches_are_withdrawal_cards(library: Library) -> None:
    found = [
        item
        for item in library.all_items()
        if any(word in keyword for keyword in item.keywords for word in SILENCE_KEYWORDS)
    ]
    assert {item.id for item in found} >= {"now-he-shut-down", "shutting-down-is-protection"}
    assert [item.id for item in found if not item.withdrawal] == []


def test_the_first_card_everyone_gets_is_a_withdrawal_card_that_links_safety(
    library: Library,
) -> None:
    first = library.step(1)
    assert first.id == "acknowledge-conditioning" and first.withdrawal
    assert "/safety" in first.body


def test_withdrawal_cards_sent_without_free_text_link_safety_for_punishment_or_fear(
    library: Library,
) -> None:
    """The schedule and "Talking now" send these cards as they are: the line is in the body."""
    for item in library.withdrawal_items():
        if item.kind in SCHEDULED_KINDS or item.moment is not None:
            assert links_safety(item), item.id
        for paragraph in _paragraphs_with(item.body, "/safety"):
            assert "punish" in paragraph and "afraid" in paragraph, (item.id, paragraph)


def test_the_withdrawal_line_names_punishment_and_fear_and_links_safety(library: Library) -> None:
    line = visible_text(library.render_text("withdrawal_safety_line"))
    assert "/safety" in line and "punish" in line and "afraid" in line


def test_free_text_gets_the_withdrawal_line_exactly_where_the_card_lacks_one(
    library: Library,
) -> None:
    line = library.render_text("withdrawal_safety_line")
    free_text_only = [item for item in library.withdrawal_items() if not links_safety(item)]
    assert {"script-feeling-ignored", "script-is-it-me"} <= {item.id for item in free_text_only}
    for item in library.all_items():
        expected = line if item.withdrawal and not links_safety(item) else None
        assert library.withdrawal_safety_line(item.id) == expected, item.id
    assert library.withdrawal_safety_line("now-he-shut-down") is None  # said in its body
    assert library.withdrawal_safety_line("no-negation") is None  # not a withdrawal card
    with pytest.raises(KeyError):
        library.withdrawal_safety_line("no-such-card")


# -- 2. couples counselling --------------------------------------------------------------------


def _about_couples_counselling(item: Item) -> bool:
    named = " ".join((item.title, *item.keywords)).lower()
    return "counsel" in named or "therap" in named or "couples" in _shown(item).lower()


def test_every_couples_counselling_card_says_it_is_not_the_path_where_there_is_abuse_or_fear(
    library: Library,
) -> None:
    cards = [item for item in library.all_items() if _about_couples_counselling(item)]
    assert {item.id for item in cards} >= {
        "script-suggest-counselling",
        "when-to-get-help-together",
        "how-to-suggest-counselling",
    }
    for item in cards:
        shown = _shown(item)
        assert "couples counselling is not the path" in shown, item.id
        assert "afraid of him" in shown and "hurts, threatens or controls" in shown, item.id
        assert "harm at home" in shown and "/safety" in shown, item.id


# -- 3. no unconditional secrecy ---------------------------------------------------------------

# A promise to keep what he shares to herself.
KEEPING_IT = re.compile(
    r"stays? (between us|with (me|you))|passed on|tell no ?one|not to tell|gossip|secret"
    r"|keep it (private|quiet|to yourself)",
    re.IGNORECASE,
)
UNCONDITIONAL = re.compile(r"stays? between us|anything you tell me", re.IGNORECASE)


def test_no_card_promises_unconditional_secrecy(library: Library) -> None:
    """If he talks about hurting himself, getting help comes before his privacy."""
    keeping = [item for item in library.all_items() if KEEPING_IT.search(_shown(item))]
    assert {"safety-before-closeness", "safety-recap"} <= {item.id for item in keeping}
    for item in library.all_items():
        assert not UNCONDITIONAL.search(_shown(item)), item.id
    for item in keeping:
        shown = _shown(item)
        assert "hurting himself" in shown and "get help now" in shown, item.id
        assert "/safety" in shown, item.id


# -- 4. the vulnerability hangover: the relationship, not his life -----------------------------

# Words that may be about ending his life as much as about leaving her.
AMBIGUOUS_ENDING = re.compile(
    r"\bend(ing)? things\b|\bwants? to end it\b|\bwants? out\b", re.IGNORECASE
)


def test_no_card_says_end_things_or_wants_out(library: Library) -> None:
    for item in library.all_items():
        assert not AMBIGUOUS_ENDING.search(_shown(item)), item.id


def test_cards_about_him_ending_the_relationship_set_talk_of_ending_his_life_apart(
    library: Library,
) -> None:
    cards = [item for item in library.all_items() if "end the relationship" in _shown(item)]
    assert {item.id for item in cards} >= {
        "script-cold-after-sharing",
        "after-he-opens-up",
        "why-the-hangover",
    }
    for item in cards:
        shown = _shown(item)
        assert "If he talks about ending his life, that is different" in shown, item.id
        assert "get help now" in shown and "/safety" in shown, item.id


# -- 5. after a hard conversation --------------------------------------------------------------


@pytest.mark.parametrize("key", ["response_hard", "log_logged_hard"])
def test_a_hard_outcome_first_asks_whether_she_felt_safe(library: Library, key: TextKey) -> None:
    text = visible_text(library.render_text(key))
    first = text.split("\n\n")[0]
    assert first.startswith("Did you feel safe") and "afraid" in first and "/safety" in first


def test_the_card_after_a_hard_talk_puts_safety_before_making_peace(library: Library) -> None:
    item = library.item("coming-back-after-hard")
    assert item.supportive
    body = item.body
    assert body.index("afraid") < body.index("/safety") < body.index("still all right")
    assert item.try_this is not None and item.try_this.startswith("If you felt safe")


# -- 6. nothing that reads as the opposite of help ---------------------------------------------

# Cards that say listen, don't fix, let it be or take his pace: talk of hurting himself overrides
# them (the /safety card says so too), so each says it where she reads the advice.
LISTEN_AND_WAIT = (
    "five-minute-rule",
    "listening-recap",
    "now-he-is-opening-up",
    "strength-it-took",
    "not-fixing",
    "script-he-cried",
    "invite-not-force",
    "listening-was-hard",
)


@pytest.mark.parametrize("item_id", LISTEN_AND_WAIT)
def test_listen_and_wait_cards_put_talk_of_self_harm_first(library: Library, item_id: str) -> None:
    shown = _shown(library.item(item_id))
    assert "hurting himself" in shown or "hurt himself" in shown
    assert "/safety" in shown


def test_no_card_title_says_force(library: Library) -> None:
    """ "You can invite, not force" answered "he forces me to ..." with patience."""
    for item in library.all_items():
        assert "force" not in item.title.lower(), item.id


def test_cards_about_sex_say_his_pressure_is_not_closeness(library: Library) -> None:
    cards = [item for item in library.all_items() if any("sex" in k for k in item.keywords)]
    assert {item.id for item in cards} >= {"script-he-reaches-for-you", "needs-in-other-words"}
    for item in cards:
        shown = _shown(item)
        assert "no" in shown and "/safety" in shown, item.id
        assert "pushes past" in shown or "pressures you" in shown, item.id


def test_cards_about_money_say_control_of_money_is_not_a_money_worry(library: Library) -> None:
    cards = [item for item in library.all_items() if "money" in item.keywords]
    assert {item.id for item in cards} >= {"script-money-worry", "money-and-worth"}
    for item in cards:
        shown = _shown(item)
        assert "keeps money from you" in shown and "/safety" in shown, item.id


def test_it_went_badly_puts_her_safety_before_a_calm_return(library: Library) -> None:
    body = library.moment("went-badly").body
    assert body.index("scared you") < body.index("/safety") < body.index("calm return")


@pytest.mark.parametrize(
    ("item_id", "needle"),
    [
        ("hard-is-not-failed", "frightened you"),  # sent after a hard talk on step 1
        ("a-boundary", "afraid of how he would react"),
        ("script-he-snapped", "afraid"),
        ("script-you-are-hurting", "hurting yourself"),
    ],
)
def test_cards_near_fear_or_despair_link_safety(
    library: Library, item_id: str, needle: str
) -> None:
    shown = _shown(library.item(item_id))
    assert needle in shown and "/safety" in shown

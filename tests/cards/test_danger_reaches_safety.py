"""Free text that may come from danger, and what it reaches: /safety, or a card that links it.

Messages written for this test: each names no safety keyword, so the card the matcher picks is
what she reads. Whichever card that is, it must give her the way to /safety: in its own words,
or through the withdrawal line free text adds under it.
"""

from __future__ import annotations

import pytest

from bot.cards import match_text
from content import Library, load_library
from content.library import links_safety

DANGER_NEAR_MESSAGES = (
    # silence used against her
    "he gives me the silent treatment",
    "he's stonewalling me again",
    "he ignores me for days when I upset him",
    "he shuts me out for days as punishment",
    # sex she does not want
    "he forces me to have sex",
    "he wants sex even when I say no",
    "he pressures me into sex",
    # money kept from her
    "he won't let me have any money",
    # his anger, fear after a fight
    "he blew up and I was scared",
    "we had a big fight and he broke things",
    "he yells at me every night",
    "he gets drunk and angry",
    # talk that may be about ending his life
    "he keeps saying he wants out",
    "he said he wants to end it",
    "he talked about ending it",
    "he cried and said he doesn't see the point anymore",
    "how do I help him he seems really low",
    # secrets
    "i should keep what he told me private right",
    "he told me a secret",
)


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


@pytest.mark.parametrize("message", DANGER_NEAR_MESSAGES)
def test_free_text_near_danger_reaches_safety_or_a_card_that_links_it(
    library: Library, message: str
) -> None:
    reply = match_text(message, library)
    if reply.kind == "safety":
        return
    assert reply.kind == "card" and reply.item_id is not None, (message, reply)
    card = library.item(reply.item_id)
    assert links_safety(card) or library.withdrawal_safety_line(card.id) is not None, (
        message,
        card.id,
    )

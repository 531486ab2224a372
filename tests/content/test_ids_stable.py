"""Users' progress is stored against item ids, so shipped ids must never disappear."""

from __future__ import annotations

from content import Library

# Every id ever shipped. Adding items is fine; removing or renaming one orphans users' progress.
# If that is really intended, it needs a data migration, and then this list can change.
SHIPPED_IDS = frozenset(
    {
        # steps
        "acknowledge-conditioning",
        "safety-before-closeness",
        "five-minute-rule",
        "go-first",
        # tips
        "no-negation",
        "how-to-respond",
        "curiosity-not-criticism",
        "sideways-questions",
        "name-the-barrier",
        "needs-in-other-words",
        "actions-as-currency",
        "after-he-opens-up",
        "money-and-worth",
        "a-small-share",
        "no-strings-attached",
        "hard-is-not-failed",
        "support-for-you",
        "coming-back-after-hard",
        "listening-was-hard",
        "when-he-did-not-share-back",
        # insights
        "man-up",
        "how-boys-go-quiet",
        "openness-seen-as-unmanly",
        "the-act-of-being-unhurt",
        "fear-of-losing-respect",
        "withdrawal-seeks-calm",
        "invite-not-force",
        "why-going-first-helps",
        # polls
        "connection-this-week",
        "opened-up-this-week",
        "most-doable-step",
        "how-are-you",
    }
)


def test_no_shipped_id_was_removed_or_renamed(library: Library) -> None:
    current = {item.id for item in library.all_items()} | {poll.id for poll in library.polls}
    assert sorted(SHIPPED_IDS - current) == []


def test_steps_keep_their_numbers(library: Library) -> None:
    assert [step.id for step in library.steps] == [
        "acknowledge-conditioning",
        "safety-before-closeness",
        "five-minute-rule",
        "go-first",
    ]


# Telegram reports poll answers by option position, so shipped options may only be appended to.
SHIPPED_POLL_OPTIONS = {
    "connection-this-week": (
        "Very connected",
        "Somewhat connected",
        "A little distant",
        "Very distant",
    ),
    "opened-up-this-week": (
        "Yes, we had a real moment",
        "A little",
        "Not this week",
        "I didn't see a chance",
    ),
    "most-doable-step": (
        "1. Acknowledge the conditioning",
        "2. Put safety before closeness",
        "3. The five-minute rule",
        "4. Model vulnerability first",
        "None of them yet",
    ),
    "how-are-you": ("Hopeful", "Steady", "Tired", "Worried"),
}


def test_shipped_poll_options_keep_their_positions(library: Library) -> None:
    for poll_id, shipped in SHIPPED_POLL_OPTIONS.items():
        assert library.poll(poll_id).options[: len(shipped)] == shipped

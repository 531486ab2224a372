"""Realistic free-text messages, written for this test set, with the cards that should answer them.

Each card message maps to a small set of acceptable item ids (the first is the one we would pick).
"""

from __future__ import annotations

CARD_MESSAGES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (message, frozenset(ids.split()))
    for message, ids in (
        # -- the moment itself --------------------------------------------------------------------
        (
            "he shut down again last night, what do I do?",
            "now-he-shut-down shutting-down-is-protection",
        ),
        ("He just said he's fine and walked off", "now-he-says-fine withdrawal-seeks-calm"),
        ("He keeps saying nothing's wrong but he's clearly stressed", "now-he-says-fine"),
        ("he's talking to me right now about his stress, help", "now-he-is-opening-up"),
        (
            "It went badly, I think I pushed too hard",
            "now-it-went-badly coming-back-after-hard hard-is-not-failed invite-not-force",
        ),
        (
            "we had a huge argument about the kids and I'm shaking",
            "now-it-went-badly never-ammunition script-you-are-hurting",
        ),
        (
            "he walks out of the room whenever I raise anything serious",
            "withdrawal-seeks-calm now-he-shut-down shutting-down-is-protection",
        ),
        ("he snapped at me for asking how his day was", "script-he-snapped"),
        (
            "he cried in the car and I didn't know what to say",
            "script-he-cried strength-it-took how-to-respond",
        ),
        (
            "He told me he's scared he's failing as a dad",
            "no-negation strength-it-took how-to-respond now-he-is-opening-up",
        ),
        # -- after he opened up -------------------------------------------------------------------
        (
            "he finally talked about his dad",
            "script-it-went-well when-it-went-well strength-it-took thank-him-after how-to-respond",
        ),
        (
            "he opened up yesterday and today he's acting like it never happened",
            "script-cold-after-sharing after-he-opens-up why-the-hangover",
        ),
        (
            "after our great talk he's gone all cold and distant",
            "script-cold-after-sharing after-he-opens-up why-the-hangover",
        ),
        ("we actually had a really good talk!", "script-it-went-well when-it-went-well"),
        (
            "we had a lovely evening, it felt like old times",
            "good-days-count script-it-went-well when-it-went-well small-shifts",
        ),
        (
            "he asked about my day today, small thing but it was nice",
            "his-effort-counts small-shifts good-days-count",
        ),
        # -- her side -----------------------------------------------------------------------------
        ("am I the problem?", "script-is-it-me is-it-me"),
        (
            "he goes quiet for hours and I assume it's something I did",
            "script-is-it-me is-it-me acknowledge-conditioning conditioning-your-story",
        ),
        ("I feel so alone in this", "script-feeling-ignored support-for-you what-it-costs-you"),
        (
            "I feel like he doesn't love me anymore",
            "he-wants-connection script-feeling-ignored your-needs-count what-it-costs-you",
        ),
        (
            "I'm exhausted, I can't keep being the only one who tries",
            "script-you-are-hurting support-for-you fill-your-cup a-boundary",
        ),
        ("I'm completely burnt out", "fill-your-cup script-you-are-hurting support-for-you"),
        ("I'm so sad tonight", "script-you-are-hurting"),
        ("what about my needs?", "your-needs-count"),
        ("I'm fed up of being ignored for days", "a-boundary script-feeling-ignored"),
        ("I hint that I need a hug but he never gets it", "ask-plainly"),
        ("his mum keeps having a go at me and he never backs me up", "ask-plainly a-boundary"),
        (
            "it's been months and nothing is changing",
            "change-takes-time small-shifts when-to-get-help-together",
        ),
        # -- why he is like this ------------------------------------------------------------------
        (
            "he never says how he feels",
            "acknowledge-conditioning conditioning-quiet-not-empty how-boys-go-quiet "
            "actions-as-currency",
        ),
        ("he says real men don't cry", "man-up openness-seen-as-unmanly the-act-of-being-unhurt"),
        (
            "he thinks talking about feelings makes him look weak",
            "openness-seen-as-unmanly openness-is-strength fear-of-losing-respect man-up",
        ),
        (
            "he's always been stoic, he was raised to be tough",
            "man-up how-boys-go-quiet the-act-of-being-unhurt",
        ),
        ("he's worried I'll stop respecting him", "fear-of-losing-respect"),
        ("does he even want to be close to me?", "he-wants-connection"),
        (
            "he never tells me he loves me but he fixed my bike",
            "actions-as-currency his-effort-counts",
        ),
        (
            "he spends all his time gaming and barely looks at me",
            "script-feeling-ignored withdrawal-seeks-calm",
        ),
        ("he only ever wants sex, never to talk", "script-he-reaches-for-you needs-in-other-words"),
        # -- money and work -----------------------------------------------------------------------
        ("we're so behind on bills and he won't discuss it", "script-money-worry money-and-worth"),
        (
            "he lost his job last week and barely speaks",
            "script-money-worry money-and-worth work-worry-line",
        ),
        (
            "work is crushing him, he comes home and goes straight to bed",
            "work-worry-line script-money-worry money-and-worth",
        ),
        (
            "he's moody since his promotion fell through",
            "work-worry-line money-and-worth script-money-worry",
        ),
        # -- how to talk --------------------------------------------------------------------------
        (
            "How do I even bring it up without him getting defensive?",
            "script-starting-a-talk sideways-questions curiosity-not-criticism name-the-barrier",
        ),
        (
            "what kind of questions can I ask him to get him talking?",
            "easy-questions middle-questions sideways-questions deeper-questions",
        ),
        (
            "how do I get him to tell me about his childhood?",
            "deeper-questions how-boys-go-quiet middle-questions",
        ),
        ("when is a good time to talk to him?", "calm-moments side-by-side script-starting-a-talk"),
        ("I don't want to keep nagging him", "curiosity-not-criticism"),
        ("I always want to fix his problems for him", "not-fixing listening-hold-back-advice"),
        (
            "I keep interrupting him when he talks",
            "five-minute-rule listening-was-hard listening-recap",
        ),
        (
            "I tried to just listen but I jumped in with advice",
            "listening-was-hard not-fixing listening-hold-back-advice five-minute-rule",
        ),
        (
            "I shared something personal and he just changed the subject",
            "when-he-did-not-share-back no-strings-attached",
        ),
        (
            "how can I show him it's safe to share things with me?",
            "safety-before-closeness safety-recap safety-gift-not-risk go-first",
        ),
        (
            "in a fight I threw something he told me back at him",
            "never-ammunition safety-out-of-fights",
        ),
        (
            "should I open up first about my own worries?",
            "go-first a-small-share why-going-first-helps going-first-recap",
        ),
        # -- counselling --------------------------------------------------------------------------
        (
            "should we see a counsellor?",
            "script-suggest-counselling when-to-get-help-together how-to-suggest-counselling",
        ),
        (
            "how do I suggest therapy without him feeling blamed",
            "script-suggest-counselling how-to-suggest-counselling",
        ),
    )
)

# Must always get /safety, whatever else they say (asserted at 100%).
SAFETY_MESSAGES: tuple[str, ...] = (
    "he said he doesn't want to be here anymore",
    "I'm scared of him when he drinks",
    "he checked my phone again and read all my messages",
    "he controls all the money and won't let me have a card",
    "he pushed me against the wall last night",
    "he threatens to take the kids if I tell anyone",
    "sometimes he talks about killing himself",
    "he hit me but it was only once",
    "I walk on eggshells all the time",
    "honestly I want to die",
    "he gives me the silent treatment for days to punish me",
    "he won't let me see my friends",
    "he said we'd all be better off without him",
    "he grabbed me by the arm and I'm frightened",
    "thanks. he hurt himself last night",
    "Hi, he's been talking about suicide",
    "He's self-harming again, what do I do?",
    "he shut down again and then he threatened me",
    "I feel unsafe at home",
    "He's been really controlling lately",
)

GREETING_MESSAGES: tuple[str, ...] = (
    "hi",
    "Hello there!",
    "good morning",
    "hey :)",
    "Hiya Closer",
    "good evening x",
)

THANKS_MESSAGES: tuple[str, ...] = (
    "thanks",
    "Thank you so much!",
    "ty",
    "thx",
    "thanks, that helped",
    "Cheers!",
    "hi, thank you",
)

# Greeting or thanks words with a real question behind them: a card, not a pleasantry.
NOT_JUST_SOCIAL: tuple[tuple[str, str], ...] = (
    ("thanks, but he shut down again", "now-he-shut-down"),
    ("hi, he just said he's fine again", "now-he-says-fine"),
    ("good morning. we had a really good talk last night!", "script-it-went-well"),
)

# Nothing to match: no card.
NO_MATCH_MESSAGES: tuple[str, ...] = ("ok", "asdfgh", "...", "123")

# Written after the matcher and the keywords above were tuned: a read of how it does on phrasings
# it had not seen. First run: top-1 21/25, top-3 23/25. Later general changes to the matcher (more
# stop words, keyword weighting) were checked against it, but no keyword was added for it.
HELD_OUT_MESSAGES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (message, frozenset(ids.split()))
    for message, ids in (
        (
            "he's gone totally silent on me since sunday",
            "acknowledge-conditioning now-he-shut-down shutting-down-is-protection "
            "withdrawal-seeks-calm",
        ),
        (
            "he clammed up the second I mentioned his brother",
            "now-he-shut-down shutting-down-is-protection",
        ),
        (
            "I asked what was wrong and he said nothing, like always",
            "now-he-says-fine sideways-questions",
        ),
        ("he is telling me about his panic attacks right now", "now-he-is-opening-up"),
        (
            "we argued about the holidays and now he won't look at me",
            "now-it-went-badly coming-back-after-hard now-he-shut-down",
        ),
        ("he admitted he feels like a failure", "no-negation strength-it-took how-to-respond"),
        (
            "he told me something really personal yesterday, how do I respond?",
            "how-to-respond strength-it-took thank-him-after no-negation",
        ),
        (
            "he regrets telling me about his anxiety and now he's distant",
            "script-cold-after-sharing after-he-opens-up why-the-hangover",
        ),
        ("it feels like I'm invisible to him", "script-feeling-ignored what-it-costs-you"),
        ("is this my fault?", "script-is-it-me is-it-me"),
        ("I feel so unloved", "your-needs-count what-it-costs-you script-feeling-ignored"),
        ("I have no one to talk to about this", "support-for-you script-feeling-ignored"),
        ("he yelled at me in front of the kids", "script-he-snapped"),
        (
            "he got laid off and won't talk about it",
            "script-money-worry money-and-worth work-worry-line",
        ),
        (
            "we have so much debt and he shuts down whenever I bring it up",
            "script-money-worry money-and-worth now-he-shut-down",
        ),
        (
            "is it time for marriage counselling?",
            "script-suggest-counselling when-to-get-help-together",
        ),
        (
            "he grew up with a dad who never showed emotion",
            "how-boys-go-quiet man-up acknowledge-conditioning",
        ),
        (
            "he thinks showing feelings is unmanly",
            "openness-seen-as-unmanly man-up openness-is-strength",
        ),
        (
            "I want him to be more vulnerable with me",
            "go-first why-going-first-helps openness-is-strength",
        ),
        ("what are some easy conversation starters?", "easy-questions"),
        (
            "I keep giving advice when he just wants to vent",
            "not-fixing listening-hold-back-advice five-minute-rule",
        ),
        (
            "I brought up his drinking in an argument and he went cold",
            "never-ammunition safety-out-of-fights script-cold-after-sharing",
        ),
        (
            "he told me he loved me tonight for the first time in ages",
            "script-it-went-well when-it-went-well good-days-count",
        ),
        (
            "I'm tired of always making the effort",
            "support-for-you a-boundary fill-your-cup script-you-are-hurting",
        ),
        (
            "nothing changes no matter what I try",
            "change-takes-time hard-is-not-failed small-shifts when-to-get-help-together",
        ),
    )
)

# A second batch, written blind once the matcher was done. First run: top-1 7/15, top-3 9/15, mostly
# words no card knew ("business", "limits", "disaster", "cares about me", "notices me"); those went
# into the cards' keywords as everyday vocabulary. Read its figure as "new words hurt".
FRESH_MESSAGES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (message, frozenset(ids.split()))
    for message, ids in (
        ("he stonewalled me all evening", "now-he-shut-down shutting-down-is-protection"),
        ("every time I ask how he is he says 'fine'", "now-he-says-fine sideways-questions"),
        ("he's finally telling me what's been bothering him", "now-he-is-opening-up"),
        ("that conversation was a disaster", "now-it-went-badly hard-is-not-failed"),
        ("I don't know if he even cares about me anymore", "he-wants-connection what-it-costs-you"),
        ("he seems ashamed after crying in front of me", "script-he-cried after-he-opens-up"),
        ("I'm so lonely in this marriage", "what-it-costs-you script-feeling-ignored"),
        ("he's stressed about his business failing", "script-money-worry money-and-worth"),
        ("how do I ask him deeper questions?", "middle-questions deeper-questions"),
        ("he gets angry and raises his voice", "script-he-snapped"),
        ("I need to set some limits", "a-boundary"),
        ("I want to start going to therapy on my own", "script-suggest-counselling"),
        ("maybe I should share something about myself first", "go-first a-small-share"),
        ("he said he doesn't want to talk about his feelings", "acknowledge-conditioning"),
        ("he barely notices me anymore", "script-feeling-ignored"),
    )
)

"""Which card answers a typed message: offline, deterministic, no Telegram and no database.

``match_text(text, library)`` says what to answer a message that is not a command:

- ``safety``: it mentions one of ``library.safety_keywords`` (self-harm, fear of him, control),
  whatever else it says; the caller sends /safety;
- ``greeting`` / ``thanks``: nothing but a hello or a thank-you; a short warm reply, no card;
- ``card``: the most relevant content item (``item_id``) and the next best (``alternatives``,
  for "see another card"); ``exclude`` leaves out cards already shown;
- ``none``: nothing in the library fits.

Matching: the text is normalised (lower case, accents folded, punctuation dropped, a few suffix
rules as stemming). Items score on their ``keywords`` (phrases, weighted by how specific they
are), then on the words of their title and body, weighted like IDF over the library so that
common words count for little. Scripts (cards for the moment itself) come first when the message
reads as happening now ("just", "right now", "again", "what do I do"). The index is built once
per Library and cached. Message texts are never logged or kept.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import snowballstemmer

from content import Item, Library

ReplyKind = Literal["safety", "greeting", "thanks", "card", "none"]

# How many next-best cards a reply offers for "see another card".
ALTERNATIVES = 5
# A card needs at least this score (about one specific keyword, or a few rare words).
MIN_SCORE = 1.2

# Weights. A keyword is the item's own "this is what I answer"; title words count more than
# body words. Each is multiplied by the word's (or phrase's) rarity across the library.
KEYWORD_WEIGHT = 3.0
TITLE_WEIGHT = 0.8
BODY_WEIGHT = 0.25
# A keyword whose words are common across the library counts down to this share of its weight;
# a word in at most about 1 in 20 cards (log(N/df) >= RARE_WORD) counts in full.
COMMON_KEYWORD = 0.5
RARE_WORD = 3.0
# A keyword with two or more topic words, all in the message but not as the phrase, counts this
# much ("work stress" for "the stress at work").
PARTIAL_KEYWORD = 0.5
# Kind priors: scripts are written for free text and the moment itself; a variant repeats its step.
KIND_FACTOR = {"script": 1.15, "tip": 1.0, "insight": 1.0, "step": 0.95, "variant": 0.8}
# Scripts answer the moment; a question that plans ahead is better met by a tip or an insight.
PLANNING_SCRIPT_FACTOR = 0.9
# Extra factor for scripts when the message reads as happening right now.
NOW_FACTOR = 1.35
# Two cards sharing at least this share of their topic words are near-twins (a script and the
# tip it grew from): "see another card" shows a different angle before the twin.
NEAR_TWIN = 0.25
# Tie-break order when scores are equal.
KIND_ORDER = {"script": 0, "tip": 1, "insight": 2, "step": 3, "variant": 4}

# Words that carry no topic: left out of the bag-of-words score (keyword phrases keep them).
STOPWORDS = frozenset(
    """
    a about after again all also always am an and any are as at be because been before being but
    by can could did do does doing dont ever for from get got had has have he hes her here him
    himself his how i id if im in into is it its ive just like me more most my myself never no
    not now of off on once only or our out over really so some still such than that thats the
    their them then there these they this to too up us very was we well were what when where
    which while who why will with would you your youre doesnt didnt wont cant isnt arent wasnt
    havent hasnt shouldnt wouldnt couldnt
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# A message made only of these (after normalising) is a greeting or a thank-you, not a question.
GREETING_PHRASES = (
    "hi",
    "hii",
    "hiya",
    "hey",
    "heya",
    "hello",
    "helo",
    "yo",
    "howdy",
    "good morning",
    "good afternoon",
    "good evening",
    "good night",
    "morning",
    "evening",
    "greetings",
    "hi there",
    "hello there",
    "hey there",
    "how are you",
    "how r u",
)
THANKS_PHRASES = (
    "thanks",
    "thank you",
    "thankyou",
    "thanx",
    "thx",
    "ty",
    "tysm",
    "cheers",
    "much appreciated",
    "appreciate it",
    "i appreciate it",
    "that helps",
    "that helped",
    "this helps",
    "this helped",
    "that helps a lot",
    "helpful",
    "very helpful",
    "so helpful",
)
# Words that may sit around a greeting or a thank-you without making it a question.
FILLER = frozenset(
    """
    so much very lot a loads again closer bot there you all oh ok okay okey great lovely nice x
    xx xxx xo really just and for that this it the
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# Everyday idioms that contain a safety keyword but are not about danger ("he pushed me away" is
# withdrawal, "it hit me that..." is a thought). Only these exact spans are set aside before the
# safety check; any other safety keyword in the same message still wins.
SAFETY_IDIOMS = (
    "pushed me away",
    "pushes me away",
    "pushing me away",
    "push me away",
    "it hit me",
    "it hits me",
    "hit me that",
    "hit me hard that",
)

# Phrasing that says it is happening now: scripts first.
NOW_PHRASES = (
    "just",
    "right now",
    "now",
    "again",
    "tonight",
    "last night",
    "this morning",
    "today",
    "what do i do",
    "what should i do",
    "what do i say",
    "what should i say",
    "help",
)
# Phrasing that plans ahead ("how do I...", "should we..."): no "now" boost, no script prior.
PLANNING_PHRASES = (
    "how do i",
    "how can i",
    "how should i",
    "how to",
    "should i",
    "should we",
    "what kind of",
    "when is",
)


# A negation reaches the next few words of its clause (a clause ends at punctuation, "but" or
# "and"). A keyword it reaches counts for no card; a withdrawal card's makes the message good
# news ("he did not walk off this time"): the cards with the GOOD_NEWS keyword come first.
NEGATIONS = frozenset(
    "not no never didnt dont doesnt wasnt isnt wont hasnt havent hadnt werent nor".split()  # noqa: SIM905
)
NEGATION_SCOPE = 3  # words after the bridge
# Words that may stand between a negation and what it negates ("didn't give me the silent
# treatment", "did not even walk off").
BRIDGE = frozenset(
    "give gave giving me the a do did go went get got really even once just at".split()  # noqa: SIM905
)
CLAUSE_END = frozenset({"but", "though", "although", "and", "so", "then"})
# "I don't want him to shut down": the negation is about the wish, not about what he did.
NOT_AN_EVENT = frozenset(
    """want wanna know understand think like get see mean wish need expect believe mind care
    trust remember""".split()  # noqa: SIM905
)
GOOD_NEWS = "went well"


# -- normalising -------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_NON_WORD = re.compile(r"[^a-z0-9]+")
_NON_LETTER = re.compile(r"[\W_]+")
_SNOWBALL: Final = {"es": "spanish", "ru": "russian"}


def fold(text: str, language: str = "en") -> str:
    """Lower case, accents folded, apostrophes dropped (``he's`` -> ``hes``), other marks spaces
    (in English anything but a-z and digits; in another language, anything but letters)."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("'", "")
    return (_NON_WORD if language == "en" else _NON_LETTER).sub(" ", text).strip()


@functools.cache
def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(_SNOWBALL[language])


# Irregular past tenses that messages use often; the rules below cannot see these.
IRREGULAR = {
    "told": "tell",
    "said": "say",
    "says": "say",
    "felt": "feel",
    "feels": "feel",
    "thought": "think",
    "grew": "grow",
    "went": "go",
    "gone": "go",
    "goes": "go",
    "going": "go",
    "got": "get",
    "gotten": "get",
    "froze": "freeze",
    "brought": "bring",
    "fought": "fight",
    "left": "leave",
    "spoke": "speak",
    "broke": "break",
    "lost": "lose",
    "threw": "throw",
}


def stem(word: str, language: str = "en") -> str:
    """A few English suffix rules; the same word in another form gives the same stem (in
    Spanish and Russian, Snowball's stemmer for the language).

    ``shuts``/``shutting``/``shut`` -> ``shut``; ``cried``/``cries``/``crying`` -> ``cry``;
    ``ignored``/``ignoring``/``ignore`` -> ``ignor``. Not a linguist's stemmer: it only has to be
    consistent between the message and the content.
    """
    if language != "en":
        return str(_stemmer(language).stemWord(word))
    if word in IRREGULAR:
        word = IRREGULAR[word]
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            double = len(word) >= 3 and word[-1] == word[-2]
            if double and word[-1] not in "sz" and (word[-1] != "l" or len(word) >= 6):
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def tokens(text: str, language: str = "en") -> tuple[str, ...]:
    """The stemmed words of a text in ``language``, in order."""
    return tuple(stem(word, language) for word in fold(text, language).split())


def negated_positions(text: str, language: str = "en") -> frozenset[int]:
    """Positions in ``tokens(text)`` that a negation sets aside (see NEGATIONS; English only)."""
    out: set[int] = set()
    if language != "en":
        return frozenset(out)
    position = 0
    for clause in _CLAUSES.split(text):
        words = fold(clause).split()
        scope = 0
        bridging = False
        for i, word in enumerate(words):
            if word in CLAUSE_END:
                scope = 0
            elif word in NEGATIONS:
                after = words[i + 1] if i + 1 < len(words) else ""
                scope = 0 if after in NOT_AN_EVENT else NEGATION_SCOPE
                bridging = True
            elif scope:
                out.add(position)
                bridging = bridging and word in BRIDGE
                if not bridging:
                    scope -= 1
            position += 1
    return frozenset(out)


_CLAUSES = re.compile(r"[.,;:!?\n()]+")


def _contains(haystack: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    if n == 0 or n > len(haystack):
        return False
    first = phrase[0]
    return any(
        haystack[i] == first and tuple(haystack[i : i + n]) == tuple(phrase)
        for i in range(len(haystack) - n + 1)
    )


def _grams(words: Sequence[str], longest: int) -> frozenset[tuple[str, ...]]:
    """Every run of up to ``longest`` consecutive words: a phrase is in the text if it is here."""
    return frozenset(
        tuple(words[i : i + n]) for n in range(1, longest + 1) for i in range(len(words) - n + 1)
    )


def _without(words: list[str], phrase: Sequence[str]) -> list[str]:
    """The words with every occurrence of the phrase taken out."""
    n, out, i = len(phrase), [], 0
    while i < len(words):
        if tuple(words[i : i + n]) == tuple(phrase):
            i += n
        else:
            out.append(words[i])
            i += 1
    return out


def _phrases(words: Iterable[str], language: str = "en") -> tuple[tuple[str, ...], ...]:
    return tuple(dict.fromkeys(tokens(word, language) for word in words if tokens(word, language)))


# -- the index ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer a typed message; see the module docstring."""

    kind: ReplyKind
    item_id: str | None = None
    alternatives: tuple[str, ...] = ()


@dataclass(slots=True)
class _Entry:
    item: Item
    keywords: tuple[tuple[str, ...], ...]
    title: frozenset[str]
    body: frozenset[str]
    words: frozenset[str]  # title and body
    keyword_words: tuple[frozenset[str], ...]  # each keyword's topic words


@dataclass(slots=True)
class CardIndex:
    """The library prepared for matching; build once per Library with ``index_for``."""

    library: Library
    entries: tuple[_Entry, ...]
    # How rare a word (or keyword phrase) is across the library: log(N / items that have it).
    word_weight: dict[str, float]
    keyword_weight: dict[tuple[str, ...], float]
    safety: tuple[tuple[str, ...], ...]
    idioms: tuple[tuple[str, ...], ...]
    greetings: tuple[tuple[str, ...], ...]
    thanks: tuple[tuple[str, ...], ...]
    filler: frozenset[str]
    now: tuple[tuple[str, ...], ...]
    planning: tuple[tuple[str, ...], ...]
    longest: int  # words in the longest phrase to look for
    good_news: tuple[str, ...]
    by_word: dict[str, list[int]] = field(default_factory=dict)
    by_id: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, library: Library) -> CardIndex:
        lang = library.language
        entries = []
        for item in library.all_items():
            body = " ".join(part for part in (item.body, item.try_this or "") if part)
            entries.append(
                _Entry(
                    item=item,
                    keywords=_phrases(item.keywords, lang),
                    title=_content_words(tokens(item.title, lang)),
                    body=_content_words(tokens(body, lang)),
                    words=_content_words(tokens(f"{item.title} {body}", lang)),
                    keyword_words=tuple(_content_words(p) for p in _phrases(item.keywords, lang)),
                )
            )
        count = len(entries) or 1
        word_df: dict[str, int] = defaultdict(int)
        keyword_df: dict[tuple[str, ...], int] = defaultdict(int)
        for entry in entries:
            for word in entry.title | entry.body:
                word_df[word] += 1
            for phrase in entry.keywords:
                keyword_df[phrase] += 1
        safety = _phrases(library.safety_keywords, lang)
        now, planning = _phrases(NOW_PHRASES), _phrases(PLANNING_PHRASES)
        phrases = [p for entry in entries for p in entry.keywords] + [*safety, *now, *planning]
        by_word: dict[str, list[int]] = defaultdict(list)
        for position, entry in enumerate(entries):
            keyword_words = {p[0] for p in entry.keywords}.union(*entry.keyword_words)
            for word in entry.title | entry.body | keyword_words:
                by_word[word].append(position)
        return cls(
            library=library,
            entries=tuple(entries),
            word_weight={w: math.log(count / df) for w, df in word_df.items()},
            # A keyword that three or more cards share is less telling (a script and its tip may
            # share one freely); so is one made of words the whole library uses ("tell me").
            keyword_weight={
                p: _rarity(p, word_df, count) / math.sqrt(max(1, df - 1))
                for p, df in keyword_df.items()
            },
            safety=safety,
            idioms=_phrases(SAFETY_IDIOMS),
            greetings=_phrases(GREETING_PHRASES),
            thanks=_phrases(THANKS_PHRASES),
            filler=frozenset(stem(word) for word in FILLER),
            now=now,
            planning=planning,
            longest=max((len(p) for p in phrases), default=1),
            good_news=tokens(GOOD_NEWS),
            by_word=dict(by_word),
            by_id={entry.item.id: position for position, entry in enumerate(entries)},
        )

    # -- matching ------------------------------------------------------------------------------

    def match(self, text: str, *, exclude: Collection[str] = ()) -> Reply:
        """What to answer ``text``; see ``match_text``."""
        words = tokens(text, self.library.language)
        if not words:
            return Reply("none")
        if self.is_safety(words):
            return Reply("safety")
        social = self._social(words)
        if social is not None:
            return Reply(social)
        negated = negated_positions(text, self.library.language)
        ranked = self.diversify(self.rank(words, exclude=exclude, negated=negated), shown=exclude)
        if not ranked:
            return Reply("none")
        return Reply("card", ranked[0], tuple(ranked[1 : 1 + ALTERNATIVES]))

    def diversify(self, ranked: Sequence[str], *, shown: Collection[str] = ()) -> list[str]:
        """The ranking with near-twins of a card shown or placed before moved to the end.

        "See another card" should bring a new angle, not the same advice in other words (a script
        and the tip it grew from share most of their words).
        """
        placed: list[str] = [item_id for item_id in shown if item_id in self.by_id]
        first: list[str] = []
        later: list[str] = []
        for item_id in ranked:
            if any(self.overlap(item_id, other) >= NEAR_TWIN for other in placed):
                later.append(item_id)
            else:
                first.append(item_id)
                placed.append(item_id)
        return first + later

    def overlap(self, a: str, b: str) -> float:
        """How many topic words two cards share (Jaccard over title and body words)."""
        words_a = self.entries[self.by_id[a]].words
        words_b = self.entries[self.by_id[b]].words
        union = len(words_a | words_b)
        return len(words_a & words_b) / union if union else 0.0

    def rank(
        self,
        words: Sequence[str],
        *,
        exclude: Collection[str] = (),
        negated: Collection[int] = frozenset(),
    ) -> list[str]:
        """Item ids that fit these (stemmed) words, best first, at or above MIN_SCORE.

        A keyword at ``negated`` positions counts for no card; a withdrawal card's makes the
        message good news (``GOOD_NEWS``: "he did not walk off this time"). Content can still
        name a negative phrase as a keyword ("never opens up"): its negation is part of it.
        """
        if negated:
            kept = list(words)
            good_news = False
            spans = [
                (range(i, i + len(phrase)), entry.item.withdrawal)
                for entry in self.entries
                for phrase in entry.keywords
                for i in range(len(words) - len(phrase) + 1)
                if tuple(words[i : i + len(phrase)]) == phrase
            ]
            # A keyword that holds its own negation ("never opens up") keeps its words.
            held = {j for span, _ in spans if not all(j in negated for j in span) for j in span}
            for span, withdrawal in spans:
                if all(j in negated and j not in held for j in span):
                    for j in span:
                        kept[j] = "\0"  # negated: counts for no card
                    good_news = good_news or withdrawal
            words = [word for word in kept if word != "\0"]
            grams = _grams(kept, self.longest)
        else:
            good_news = False
            grams = _grams(words, self.longest)
        planning = any(phrase in grams for phrase in self.planning)
        now = not planning and any(phrase in grams for phrase in self.now)
        query = _content_words(words)
        candidates: set[int] = set()
        for word in set(words):
            candidates.update(self.by_word.get(word, ()))
        scored: list[tuple[float, int, int, str]] = []
        for position in candidates:
            entry = self.entries[position]
            if entry.item.id in exclude:
                continue
            found: list[float] = []
            matched: set[str] = set()
            for phrase, phrase_words in zip(entry.keywords, entry.keyword_words, strict=True):
                weight = KEYWORD_WEIGHT * (1.0 + 0.5 * (len(phrase) - 1))
                weight *= self.keyword_weight[phrase]
                if phrase in grams:
                    found.append(weight)
                    matched.update(phrase)
                elif len(phrase_words) > 1 and phrase_words <= query:
                    # Its topic words are all there, with other words around them.
                    found.append(PARTIAL_KEYWORD * weight)
                    matched.update(phrase_words)
            score = sum(found)
            for word in query - matched:
                weight = self.word_weight.get(word, 0.0)
                if word in entry.title:
                    score += TITLE_WEIGHT * weight
                elif word in entry.body:
                    score += BODY_WEIGHT * weight
            kind = entry.item.kind
            score *= PLANNING_SCRIPT_FACTOR if planning and kind == "script" else KIND_FACTOR[kind]
            if now and kind == "script":
                score *= NOW_FACTOR
            if score >= MIN_SCORE:
                scored.append((-score, KIND_ORDER[kind], position, entry.item.id))
        scored.sort()
        ranked = [item_id for *_, item_id in scored]
        if good_news:  # the cards for good news first, then the rest as ranked
            glad = [e.item.id for e in self.entries if self.good_news in e.keywords]
            ranked = [i for i in glad if i not in exclude] + [i for i in ranked if i not in glad]
        return ranked

    def is_safety(self, words: Sequence[str]) -> bool:
        """Whether these (stemmed) words mention a safety keyword, idioms set aside."""
        rest = list(words)
        for idiom in self.idioms:
            rest = _without(rest, idiom)
        grams = _grams(rest, self.longest)
        return any(phrase in grams for phrase in self.safety)

    def _social(self, words: Sequence[str]) -> Literal["greeting", "thanks"] | None:
        """Greeting or thanks, when the message is nothing more than that; otherwise None."""
        rest = list(words)
        found: set[str] = set()
        for kind, phrases in (("thanks", self.thanks), ("greeting", self.greetings)):
            # Longest phrases first, so "thank you" goes before "thank".
            for phrase in sorted(phrases, key=len, reverse=True):
                if _contains(rest, phrase):
                    rest = _without(rest, phrase)
                    found.add(kind)
        if not found or any(word not in self.filler for word in rest):
            return None
        return "thanks" if "thanks" in found else "greeting"


def _rarity(phrase: Sequence[str], word_df: Mapping[str, int], count: int) -> float:
    """From COMMON_KEYWORD (all its words are everywhere) to 1 (its words are rare)."""
    words = _content_words(phrase)
    if not words:
        return COMMON_KEYWORD
    mean = sum(math.log(count / word_df[w]) if w in word_df else math.log(count) for w in words)
    mean /= len(words)
    return COMMON_KEYWORD + (1 - COMMON_KEYWORD) * min(1.0, mean / RARE_WORD)


def _content_words(words: Iterable[str]) -> frozenset[str]:
    """The stemmed words that carry a topic."""
    return frozenset(w for w in words if w not in _STOP_STEMS and len(w) > 1 and not w.isdigit())


_STOP_STEMS = frozenset(stem(word) for word in STOPWORDS)


# -- one index per library ---------------------------------------------------------------------

_INDEXES: dict[int, CardIndex] = {}
_MAX_INDEXES = 8


def index_for(library: Library) -> CardIndex:
    """The index of this library, built on first use and kept (a few libraries at most)."""
    index = _INDEXES.get(id(library))
    if index is None or index.library is not library:
        if len(_INDEXES) >= _MAX_INDEXES:
            _INDEXES.pop(next(iter(_INDEXES)))
        index = CardIndex.build(library)
        _INDEXES[id(library)] = index
    return index


def match_text(text: str, library: Library, *, exclude: Collection[str] = ()) -> Reply:
    """What to answer a typed message: safety, greeting, thanks, a card (with others), or none.

    Safety comes first: a message that mentions any of ``library.safety_keywords`` is "safety"
    whatever else it says. ``exclude`` holds ids of cards already shown; they are left out of
    both ``item_id`` and ``alternatives``.
    """
    return index_for(library).match(text, exclude=exclude)


def card_for(text: str, library: Library, *, exclude: Collection[str] = ()) -> Reply:
    """The card that fits ``text`` (or none), its safety keywords left aside: for a message the
    danger check (``bot.hearing``) has already heard."""
    index = index_for(library)
    words = tokens(text, library.language)
    negated = negated_positions(text, library.language)
    ranked = index.diversify(index.rank(words, exclude=exclude, negated=negated), shown=exclude)
    if not ranked:
        return Reply("none")
    return Reply("card", ranked[0], tuple(ranked[1 : 1 + ALTERNATIVES]))

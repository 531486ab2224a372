"""Danger in what she types: self-harm (hers or his), violence, sexual coercion, control, fear.

``check(text, locales)`` matches every language's lexicon (``content/data/locales/*/danger.yaml``,
format in ``content.locales.DangerLexicon``) against the message, whatever language it seems to
be in: recall comes first, and a message may mix languages. Offline, deterministic, no storage.

How a word matches a lexicon term:
- a plain word: the same Snowball stem in the lexicon's language, or, from six letters of stem,
  one edit away (two from nine): a typo, a transposition, a letter left out (a deletion index
  finds the candidates, rapidfuzz's OSA distance confirms them);
- ``word*``: the word starts so (a prefix of seven letters or more also tolerates one edit);
- ``=word``: exactly that word.

A pattern's slots are found in order with up to ``GAP`` other words between them (``~``: in any
order within ``WINDOW`` words). Harmless idioms ("I could kill for a coffee") take their words
out of play first. A match with a negation word just before or inside it ("he has never once
raised a hand") is set aside as plainly benign only when nothing else in the message is danger
and no breaker word ("but", "until", "yesterday") says things changed; it still earns a line to
/safety (``worry``). Self-harm is never set aside by a negation: "I'd never kill myself" still
gets a gentle word about help.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

from rapidfuzz.distance import OSA

from bot.hearing.model import load_model
from bot.hearing.text import Lang, stem, words
from content.locales import DANGER_CATEGORIES, DangerCategory, DangerLexicon, Locales

GAP: Final = 3  # other words allowed between two slots of a pattern
WINDOW: Final = 8  # words an unordered (~) pattern may span
NEGATION_REACH: Final = 4  # words before a match where a negation counts
SUBJECT_REACH: Final = 8  # words before a self-harm match where "he" or "I" tells whose it is
BACKSTOP_FROM_WORDS: Final = 3  # "hello?" carries too little for the learned model to judge
MAX_WORDS: Final = 1500  # a Telegram message (4,096 characters) has fewer
FUZZY_FROM: Final = 6  # stem length from which one edit is tolerated
FUZZY_TWO_FROM: Final = 9  # ... and two
FUZZY_PREFIX_FROM: Final = 7  # a prefix term tolerates one edit from this length

Level = Literal["danger", "maybe", "worry", "none"]
_NEVER_NEGATED: Final = frozenset({"self_harm_her", "self_harm_his", "self_harm"})
_HIS_WORDS: Final = frozenset(
    {"he", "him", "his", "hes", "himself", "husband", "boyfriend", "partner", "bf", "hubby"}
    | {"el", "novio", "marido", "esposo", "pareja", "su"}
    | {"он", "его", "ему", "него", "нему", "муж", "парень", "мужа", "мужу", "себя"}
)
_HER_WORDS: Final = frozenset(
    {"i", "im", "ive", "id", "me", "my", "myself", "yo", "mi", "я", "мне", "меня", "моя"}
)


@dataclass(frozen=True, slots=True)
class Danger:
    """What the check found: categories most urgent first, ``worry`` last."""

    categories: tuple[DangerCategory, ...] = ()
    langs: tuple[Lang, ...] = ()  # the lexicons that heard it, most matches first
    maybe: bool = False  # the lexicons heard no danger, the learned backstop did

    @property
    def level(self) -> Level:
        if self.categories and self.categories != ("worry",):
            return "danger"
        if self.maybe:
            return "maybe"
        return "worry" if self.categories else "none"

    @property
    def gives_help(self) -> bool:
        """Whether the reply gives the help lines: danger, or maybe danger."""
        return self.level in ("danger", "maybe")

    @property
    def first(self) -> DangerCategory | None:
        return self.categories[0] if self.categories else None


NOTHING: Final = Danger()


# -- compiling a lexicon -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pattern:
    category: DangerCategory
    slots: tuple[frozenset[int], ...]
    unordered: bool
    negating: bool  # a slot of its own is a negation ("don't feel safe"): not negated again


def _deletions(key: str, depth: int) -> set[str]:
    found = {key}
    frontier = {key}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def _edits_allowed(length: int) -> int:
    if length >= FUZZY_TWO_FROM:
        return 2
    return 1 if length >= FUZZY_FROM else 0


class _Lexicon:
    """One language's lexicon compiled to term ids, with indexes for fast lookup."""

    def __init__(self, lang: Lang, lexicon: DangerLexicon) -> None:
        self.lang = lang
        self._ids: dict[tuple[str, str], int] = {}
        self._stems: dict[str, set[int]] = defaultdict(set)
        self._exact: dict[str, set[int]] = defaultdict(set)
        self._prefixes: dict[str, set[int]] = defaultdict(set)  # by the prefix itself
        self._prefix_lengths: set[int] = set()
        self._fuzzy: dict[str, set[str]] = defaultdict(set)  # a deletion -> stems/prefixes
        self.negations = frozenset(w for n in lexicon.negations for w in words(n.lstrip("=")))
        self.breakers = frozenset(w for b in lexicon.breakers for w in words(b.lstrip("=")))
        self.groups = lexicon.groups
        self.idioms = tuple(p for idiom in lexicon.idioms for p in self._compile("worry", idiom))
        self.patterns = tuple(
            compiled
            for category in DANGER_CATEGORIES
            for pattern in lexicon.patterns.get(category, ())
            for compiled in self._compile(category, pattern)
        )
        self._cache: dict[str, frozenset[int]] = {}

    def _term(self, raw: str) -> set[int]:
        if raw.startswith("@"):
            return {t for member in self.groups[raw[1:]] for t in self._term(member)}
        if raw.startswith("="):
            kind, value = "exact", "".join(words(raw[1:]))
        elif raw.endswith("*"):
            kind, value = "prefix", "".join(words(raw[:-1]))
        else:
            kind, value = "stem", stem("".join(words(raw)), self.lang)
        if not value:
            return set()
        key = (kind, value)
        if key not in self._ids:
            term_id = self._ids[key] = len(self._ids)
            if kind == "exact":
                self._exact[value].add(term_id)
            elif kind == "prefix":
                self._prefixes[value].add(term_id)
                self._prefix_lengths.add(len(value))
            else:
                self._stems[value].add(term_id)
            if kind != "exact":
                for deletion in _deletions(value, _edits_allowed(len(value))):
                    self._fuzzy[deletion].add(value)
        return {self._ids[key]}

    def _compile(self, category: DangerCategory, pattern: str) -> list[_Pattern]:
        """A pattern as written, expanded into plain ones (one per choice of its groups)."""
        flags = pattern[: len(pattern) - len(pattern.lstrip("~! "))]
        unordered, sticky = "~" in flags, "!" in flags
        body = pattern.lstrip("~! ")
        compiled: list[_Pattern] = []
        for slots_text in _expand(body):
            slots: list[frozenset[int]] = []
            negating = sticky
            for slot in slots_text:
                ids: set[int] = set()
                for alternative in slot.split("|"):
                    ids |= self._term(alternative)
                plain = {w for a in slot.split("|") for w in words(a.lstrip("=@").rstrip("*"))}
                negating = negating or bool(plain & self.negations)
                if ids:
                    slots.append(frozenset(ids))
            if slots:
                compiled.append(_Pattern(category, tuple(slots), unordered, negating))
        return compiled

    def terms_of(self, token: str) -> frozenset[int]:
        """The term ids a word of the message matches (cached per word)."""
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        found: set[int] = set(self._exact.get(token, ()))
        token_stem = stem(token, self.lang)
        found |= self._stems.get(token_stem, set())
        for length in self._prefix_lengths:
            if len(token) >= length:
                found |= self._prefixes.get(token[:length], set())
        for key in self._near(token_stem, token):
            found |= self._stems.get(key, set()) | self._prefixes.get(key, set())
        result = frozenset(found)
        if len(self._cache) < 100_000:
            self._cache[token] = result
        return result

    def _near(self, token_stem: str, token: str) -> set[str]:
        """Stems and prefixes of the lexicon one or two edits from this word (typos)."""
        allowed = _edits_allowed(len(token_stem))
        if not allowed:
            return set()
        candidates: set[str] = set()
        for deletion in _deletions(token_stem, allowed):
            candidates |= self._fuzzy.get(deletion, set())
        for length in self._prefix_lengths:  # a prefix term against the word's start
            if length >= FUZZY_PREFIX_FROM and len(token) >= length:
                for cut in (length - 1, length, length + 1):
                    for deletion in _deletions(token[:cut], 1):
                        candidates |= self._fuzzy.get(deletion, set())
        near: set[str] = set()
        for candidate in candidates:
            limit = _edits_allowed(len(candidate))
            if candidate in self._prefixes:
                if len(candidate) < FUZZY_PREFIX_FROM:
                    continue
                if any(
                    OSA.distance(token[:cut], candidate, score_cutoff=limit) <= limit
                    for cut in (len(candidate) - 1, len(candidate), len(candidate) + 1)
                    if cut <= len(token)
                ):
                    near.add(candidate)
            elif OSA.distance(token_stem, candidate, score_cutoff=limit) <= limit:
                near.add(candidate)
        return near


def _expand(body: str) -> list[list[str]]:
    """``a (b c|d)? e`` -> ``[[a, b, c, e], [a, d, e], [a, e]]`` (``?``: may be left out)."""
    results: list[list[str]] = [[]]
    rest = body.strip()
    while rest:
        if rest.startswith("("):
            close = rest.index(")")
            phrases = [c.split() for c in rest[1:close].split("|")]
            singles = [p[0] for p in phrases if len(p) == 1]
            # One-word choices stay one slot; only phrases branch (no explosion of patterns).
            choices = [["|".join(singles)]] if singles else []
            choices += [p for p in phrases if len(p) > 1]
            rest = rest[close + 1 :]
            if rest.startswith("?"):  # optional: the pattern also without the group
                choices.append([])
                rest = rest[1:]
            results = [r + c for r in results for c in choices]
            rest = rest.strip()
            continue
        slot, _, rest = rest.partition(" ")
        rest = rest.strip()
        if slot != "...":
            results = [[*r, slot] for r in results]
    return results


# -- matching ----------------------------------------------------------------------------------


def _match(pattern: _Pattern, where: dict[int, list[int]]) -> tuple[int, ...] | None:
    """The word positions of the first match of a pattern, or None.

    ``where`` holds, for each term the message has, the positions (idioms left out) it is at.
    """
    hits_per_slot: list[list[int]] = []
    for slot in pattern.slots:
        present = slot.intersection(where)
        if not present:
            return None
        hits_per_slot.append(sorted({i for term in present for i in where[term]}))
    if pattern.unordered:
        for start in hits_per_slot[0]:
            chosen = [start]
            for hits in hits_per_slot[1:]:
                near = [i for i in hits if abs(i - start) <= WINDOW and i not in chosen]
                if not near:
                    break
                chosen.append(min(near, key=lambda i: abs(i - start)))
            else:
                return tuple(sorted(chosen))
        return None
    for start in hits_per_slot[0]:
        chosen = [start]
        for hits in hits_per_slot[1:]:
            after = [i for i in hits if chosen[-1] < i <= chosen[-1] + GAP + 1]
            if not after:
                break
            chosen.append(after[0])
        else:
            return tuple(chosen)
    return None


def _positions(terms: Sequence[frozenset[int]], free: Sequence[bool]) -> dict[int, list[int]]:
    where: dict[int, list[int]] = defaultdict(list)
    for i, found in enumerate(terms):
        if free[i]:
            for term in found:
                where[term].append(i)
    return where


def _idiom_match(pattern: _Pattern, where: dict[int, list[int]]) -> list[int]:
    """Every position an idiom covers (its slots next to each other, in order)."""
    sets: list[set[int]] = []
    for slot in pattern.slots:
        present = slot.intersection(where)
        if not present:
            return []
        sets.append({i for term in present for i in where[term]})
    covered: list[int] = []
    for start in sets[0]:
        if all(start + k in sets[k] for k in range(1, len(sets))):
            covered.extend(range(start, start + len(sets)))
    return covered


@dataclass(frozen=True, slots=True)
class _Found:
    category: DangerCategory
    negated: bool
    lang: Lang


def _whose(tokens: Sequence[str], start: int) -> DangerCategory:
    """Self-harm with no subject in its pattern: his if he is the nearest person before it."""
    for i in range(start - 1, max(-1, start - SUBJECT_REACH - 1), -1):
        if tokens[i] in _HIS_WORDS:
            return "self_harm_his"
        if tokens[i] in _HER_WORDS:
            return "self_harm_her"
    return "self_harm_her"


def _idiom_words(lexicon: _Lexicon, positions: Sequence[frozenset[int]]) -> set[int]:
    """The positions of the words that harmless idioms take out of play."""
    everywhere = _positions(positions, [True] * len(positions))
    return {i for idiom in lexicon.idioms for i in _idiom_match(idiom, everywhere)}


def _check_language(lexicon: _Lexicon, tokens: Sequence[str], idioms: set[int]) -> list[_Found]:
    """What one lexicon hears; adds the positions its idioms cover to ``idioms``."""
    positions = [lexicon.terms_of(token) for token in tokens]
    covered = _idiom_words(lexicon, positions)
    idioms |= covered
    where = _positions(positions, [i not in covered for i in range(len(tokens))])
    found: list[_Found] = []
    for pattern in lexicon.patterns:
        hit = _match(pattern, where)
        if hit is None:
            continue
        category = pattern.category
        if category == "self_harm":
            category = _whose(tokens, hit[0])
        negated = False
        if category not in _NEVER_NEGATED and not pattern.negating:
            span = range(max(0, hit[0] - NEGATION_REACH), hit[-1] + 1)
            negated = any(tokens[i] in lexicon.negations for i in span if i not in hit)
        found.append(_Found(category, negated, lexicon.lang))
    return found


def check(text: str, locales: Locales) -> Danger:
    """What danger ``text`` speaks of, if any; see the module docstring."""
    tokens = words(text)[:MAX_WORDS]
    if not tokens:
        return NOTHING
    found: list[_Found] = []
    breakers: set[str] = set()
    idioms: set[int] = set()
    for lexicon in _compiled(locales):
        found.extend(_check_language(lexicon, tokens, idioms))
        breakers |= lexicon.breakers
    broken = any(token in breakers for token in tokens)
    categories: set[DangerCategory] = set()
    benign_only = True
    for item in found:
        if item.negated and not broken:
            continue
        categories.add(item.category)
        if item.category != "worry":
            benign_only = False
    if benign_only and any(item.negated and item.category != "worry" for item in found):
        categories.add("worry")  # "he never once raised a hand": still a line to /safety
    heard_in = Counter(item.lang for item in found if not (item.negated and not broken))
    heard = Danger(
        tuple(c for c in DANGER_CATEGORIES if c in categories),
        tuple(lang for lang, _ in heard_in.most_common()),
    )
    if heard.level == "danger" or len(tokens) < BACKSTOP_FROM_WORDS:
        return heard
    backstop = load_model().heard(_without(tokens, idioms))
    if backstop == "danger":
        return replace(heard, maybe=True)
    if backstop == "worry" and heard.level == "none":
        return replace(heard, categories=("worry",))
    return heard


def _without(tokens: Sequence[str], idioms: set[int]) -> str:
    return " ".join(token for i, token in enumerate(tokens) if i not in idioms)


def model_text(text: str, locales: Locales) -> str:
    """What the learned backstop reads: the words, less those harmless idioms take out of play
    ("he pushed back on my plan" -> "he on my plan"). Training reads texts the same way."""
    tokens = words(text)[:MAX_WORDS]
    idioms: set[int] = set()
    for lexicon in _compiled(locales):
        idioms |= _idiom_words(lexicon, [lexicon.terms_of(token) for token in tokens])
    return _without(tokens, idioms)


_COMPILED: dict[int, tuple[Locales, tuple[_Lexicon, ...]]] = {}


def _compiled(locales: Locales) -> tuple[_Lexicon, ...]:
    """Each language's lexicon, compiled once per Locales (a few at most)."""
    kept = _COMPILED.get(id(locales))
    if kept is None or kept[0] is not locales:
        if len(_COMPILED) >= 8:
            _COMPILED.pop(next(iter(_COMPILED)))
        lexicons = tuple(_Lexicon(code, locale.danger) for code, locale in locales.by_code.items())
        kept = _COMPILED[id(locales)] = (locales, lexicons)
    return kept[1]


def explain(text: str, locales: Locales) -> list[str]:
    """Which patterns matched (for tuning at a terminal; never logged)."""
    tokens = words(text)[:MAX_WORDS]
    lines: list[str] = []
    for lexicon in _compiled(locales):
        where = _positions([lexicon.terms_of(token) for token in tokens], [True] * len(tokens))
        for pattern in lexicon.patterns:
            hit = _match(pattern, where)
            if hit is not None:
                lines.append(f"{lexicon.lang} {pattern.category}: {[tokens[i] for i in hit]}")
    return lines

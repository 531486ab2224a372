"""Phrases in a message: a lexicon of patterns compiled once, matched word by word.

The engine under the danger check (``bot.hearing.danger``) and the requests in words
(``bot.hearing.requests``). A lexicon is written per language (``content/data/locales/<lang>/``)
as patterns of slots; the format is described in ``content.locales.DangerLexicon``.

How a word matches a lexicon term:
- a plain word: the same Snowball stem in the lexicon's language, or, from six letters of stem,
  one edit away (two from nine): a typo, a transposition, a letter left out (a deletion index
  finds the candidates, rapidfuzz's OSA distance confirms them);
- ``word*``: the word starts so (a prefix of seven letters or more also tolerates one edit);
- ``=word``: exactly that word;
- ``@GROUP``: any word of a group.

A pattern's slots are found in order with up to ``GAP`` other words between them (``~``: in any
order within ``WINDOW`` words). Other leading flags are kept on the compiled pattern for the
caller to read (``!``, ``^``, ``<``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from rapidfuzz.distance import OSA

from bot.hearing.text import Lang, stem, words

GAP: Final = 3  # other words allowed between two slots of a pattern
WINDOW: Final = 8  # words an unordered (~) pattern may span
FUZZY_FROM: Final = 6  # stem length from which one edit is tolerated
FUZZY_TWO_FROM: Final = 9  # ... and two
FUZZY_PREFIX_FROM: Final = 7  # a prefix term tolerates one edit from this length
FLAGS: Final = "~!^<"  # the leading flags a pattern may carry


@dataclass(frozen=True, slots=True)
class Pattern:
    """One pattern, compiled: its slots as sets of term ids."""

    label: str  # what it means: a danger category, a request
    slots: tuple[frozenset[int], ...]
    unordered: bool
    negating: bool  # a slot of its own is a negation ("don't feel safe"): not negated again
    flags: str = ""  # the leading flags as written ("~", "!", "^", "<")


def _index(patterns: Sequence[Pattern]) -> dict[int, list[int]]:
    """Term id -> the positions of the patterns whose smallest slot holds it."""
    index: dict[int, list[int]] = defaultdict(list)
    for position, pattern in enumerate(patterns):
        for term in min(pattern.slots, key=len):
            index[term].append(position)
    return dict(index)


def _pick(
    patterns: Sequence[Pattern], index: Mapping[int, list[int]], where: Mapping[int, object]
) -> list[Pattern]:
    found = {position for term in where for position in index.get(term, ())}
    return [patterns[position] for position in sorted(found)]


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


class PhraseLexicon:
    """One language's lexicon compiled to term ids, with indexes for fast lookup."""

    def __init__(
        self,
        lang: Lang,
        patterns: Sequence[tuple[str, Sequence[str]]],
        *,
        groups: Mapping[str, Sequence[str]] | None = None,
        negations: Sequence[str] = (),
        breakers: Sequence[str] = (),
        idioms: Sequence[str] = (),
    ) -> None:
        self.lang = lang
        self._ids: dict[tuple[str, str], int] = {}
        self._stems: dict[str, set[int]] = defaultdict(set)
        self._exact: dict[str, set[int]] = defaultdict(set)
        self._prefixes: dict[str, set[int]] = defaultdict(set)  # by the prefix itself
        self._prefix_lengths: set[int] = set()
        self._fuzzy: dict[str, set[str]] = defaultdict(set)  # a deletion -> stems/prefixes
        self.negations = frozenset(w for n in negations for w in words(n.lstrip("=")))
        self.breakers = frozenset(w for b in breakers for w in words(b.lstrip("=")))
        self.groups: Mapping[str, Sequence[str]] = groups or {}
        self.idioms = tuple(p for idiom in idioms for p in self._compile("idiom", idiom))
        self.patterns = tuple(
            compiled
            for label, written in patterns
            for pattern in written
            for compiled in self._compile(label, pattern)
        )
        self._cache: dict[str, frozenset[int]] = {}
        self._pattern_index = _index(self.patterns)
        self._idiom_index = _index(self.idioms)

    def candidates(self, where: Mapping[int, object]) -> list[Pattern]:
        """The patterns that may match a message whose terms are ``where``'s keys, in the
        lexicon's order: those with a term of the message in their most selective slot (a
        pattern matches only if every slot has one). ``match`` decides."""
        return _pick(self.patterns, self._pattern_index, where)

    def idiom_candidates(self, where: Mapping[int, object]) -> list[Pattern]:
        """``candidates`` for the idioms."""
        return _pick(self.idioms, self._idiom_index, where)

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

    def _compile(self, label: str, pattern: str) -> list[Pattern]:
        """A pattern as written, expanded into plain ones (one per choice of its groups)."""
        body = pattern.lstrip(FLAGS + " ")
        flags = pattern[: len(pattern) - len(body)].replace(" ", "")
        unordered, sticky = "~" in flags, "!" in flags
        compiled: list[Pattern] = []
        for slots_text in expand(body):
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
                compiled.append(Pattern(label, tuple(slots), unordered, negating, flags))
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


def expand(body: str) -> list[list[str]]:
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


# -- matching ------------------------------------------------------------------------------------


def match(pattern: Pattern, where: dict[int, list[int]]) -> tuple[int, ...] | None:
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


def term_positions(terms: Sequence[frozenset[int]], free: Sequence[bool]) -> dict[int, list[int]]:
    where: dict[int, list[int]] = defaultdict(list)
    for i, found in enumerate(terms):
        if free[i]:
            for term in found:
                where[term].append(i)
    return where


def idiom_match(pattern: Pattern, where: dict[int, list[int]]) -> list[int]:
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

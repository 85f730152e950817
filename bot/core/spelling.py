"""Typo tolerance for the lexical side: map an unknown query word to a known index term.

A symmetric-delete lookup (every term indexed under itself and its one-letter deletions) finds
known terms within one edit of the query word, and most within two, in microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class SpellIndex:
    """Known terms, indexed for lookups of near misses."""

    MIN_LENGTH = 4

    def __init__(self, terms: Iterable[str], frequency: dict[str, int] | None = None) -> None:
        self._known = frozenset(terms)
        self._frequency = frequency or {}
        self._by_delete: dict[str, list[str]] = {}
        for term in self._known:
            if len(term) < self.MIN_LENGTH or not term.isalpha():
                continue
            for key in _deletes(term) | {term}:
                self._by_delete.setdefault(key, []).append(term)

    def with_terms(self, terms: Iterable[str], frequency: dict[str, int] | None = None) -> SpellIndex:
        """A new index of ``terms`` (with ``frequency``), equal to ``SpellIndex(terms, frequency)``,
        made from this one by indexing only the terms it lacks and dropping the ones gone: a
        re-index after one article changed touches a handful of terms, not the whole vocabulary.
        This index is left as it was (it may still be answering)."""
        fresh = SpellIndex((), frequency)
        fresh._known = frozenset(terms)
        gone, added = self._known - fresh._known, fresh._known - self._known
        if not gone and not added:
            fresh._by_delete = self._by_delete  # never changed in place, so shared
            return fresh
        by_delete = dict(self._by_delete)  # the lists are replaced below, never changed in place
        for term in gone:
            if len(term) >= self.MIN_LENGTH and term.isalpha():
                for key in _deletes(term) | {term}:
                    left = [t for t in by_delete.get(key, ()) if t != term]
                    if left:
                        by_delete[key] = left
                    else:
                        by_delete.pop(key, None)
        for term in added:
            if len(term) >= self.MIN_LENGTH and term.isalpha():
                for key in _deletes(term) | {term}:
                    by_delete[key] = [*by_delete.get(key, ()), term]
        fresh._by_delete = by_delete
        return fresh

    def __contains__(self, term: str) -> bool:
        return term in self._known

    def correct(self, word: str) -> str | None:
        """The known term closest to ``word`` (one or two edits), or None when there is none.

        Words shorter than four letters, or with digits, are never corrected: too many short
        abbreviations are one letter apart.
        """
        if word in self._known:
            return word
        if len(word) < self.MIN_LENGTH or not word.isalpha():
            return None
        candidates: set[str] = set(self._by_delete.get(word, ()))
        for key in _deletes(word):
            candidates.update(self._by_delete.get(key, ()))
        candidates = {c for c in candidates if _distance(word, c) <= (1 if len(word) < 7 else 2)}
        if not candidates:
            return None
        return min(candidates, key=lambda c: (_distance(word, c), -self._frequency.get(c, 0), c))


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count as one edit)."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, rows[i - 2][j - 2] + 1)
            rows[i][j] = best
    return rows[len(a)][len(b)]

"""Lexical side of the index: our tokenizer, the glossary's concept tokens, and BM25 through bm25s.

Tokens are lowercased, NFKC-normalised word pieces with English stopwords removed and Snowball
stems. Every glossary group that a text mentions (any of its terms, as a phrase) adds one concept
token such as ``~g12`` to that text, in documents and in queries alike, so "wow", "cow" and
"workstation on wheels" match each other with the IDF of the concept rather than of each word.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import Stemmer

from indexer.bm25 import TermCounts

if TYPE_CHECKING:
    from indexer.bm25_weights import CountsBM25

# Bump when tokenization changes: builds made with another version re-tokenize (vectors are reused).
LEXICAL_VERSION = "3"
# What an index holds for a chunk without any token, so that every chunk has a length.
EMPTY_TOKEN = "~empty"

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")

# Function words that carry no topic; "not"/"no" style negations are dropped too because nearly
# every support article has them and BM25 would reward their frequency, not their meaning.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having he
    her here hers herself him himself his how i i'm i've if in into is isn't it it's its itself
    just let's me more most my myself no nor not of off on once only or other ought our ours
    ourselves out over own same she should shouldn't so some such than that that's the their theirs
    them themselves then there these they this those through to too under until up very was wasn't
    we were weren't what when where which while who whom why will with won't would wouldn't you
    your yours yourself yourselves im ive id dont cant wont doesnt isnt didnt please thanks thank
    hi hello hey pls plz also get got keeps keep still any anyone someone something
    """.split()  # noqa: SIM905
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lowercased word tokens of ``text`` (NFKC-normalised, apostrophes unified), nothing dropped."""
    normal = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    return _WORD.findall(normal)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning: stopwords and one-letter tokens removed, not stemmed."""
    return [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def stem_all(tokens: Sequence[str]) -> list[str]:
    """Snowball (English) stems of ``tokens``, in order."""
    return list(_stemmer().stemWords(list(tokens)))


@dataclass(frozen=True)
class Glossary:
    """Groups of terms that mean the same thing to staff (abbreviations, synonyms, brand names).

    Each term is kept as its tuple of words; a text mentions a group when one of the group's terms
    appears in it as consecutive words.
    """

    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()

    @classmethod
    def from_terms(cls, groups: Iterable[Iterable[str]]) -> Glossary:
        """Build a glossary from lists of synonymous terms; empty terms and groups are ignored."""
        built: list[tuple[tuple[str, ...], ...]] = []
        for group in groups:
            terms = tuple(t for t in (tuple(words(str(term))) for term in group) if t)
            if len(terms) >= 1:
                built.append(terms)
        return cls(tuple(built))

    def to_json(self) -> list[list[str]]:
        """The groups as lists of space-joined terms (the form saved beside an index)."""
        return [[" ".join(term) for term in group] for group in self.groups]

    @cached_property
    def _by_first_word(self) -> dict[str, list[tuple[int, tuple[str, ...]]]]:
        index: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for g, group in enumerate(self.groups):
            for term in group:
                index.setdefault(term[0], []).append((g, term))
        return index

    def matches(self, tokens: Sequence[str]) -> list[int]:
        """Indexes of the groups one of whose terms occurs in ``tokens`` (plain words), in order."""
        found: set[int] = set()
        by_first = self._by_first_word
        for start, tok in enumerate(tokens):
            for g, term in by_first.get(tok, ()):
                if g not in found and tuple(tokens[start : start + len(term)]) == term:
                    found.add(g)
        return sorted(found)

    def expansions(self, tokens: Sequence[str]) -> list[str]:
        """For each group the tokens mention, its terms that are not already in the text."""
        present = set(tokens)
        extra: list[str] = []
        for g in self.matches(tokens):
            for term in self.groups[g]:
                if not set(term) <= present:
                    extra.append(" ".join(term))
        return extra


def concept_token(group: int) -> str:
    """The token that stands for glossary group ``group`` in the lexical index."""
    return f"~g{group}"


def with_bigrams(stems: Sequence[str]) -> list[str]:
    """``stems`` followed by each pair of neighbouring stems joined with ``_`` ("print_blank").

    Pairs reward phrases ("shared mailbox", "label printer") that single words cannot tell apart;
    on the officedocs dev queries they lifted Recall@1 by about three points.
    """
    return [*stems, *(f"{a}_{b}" for a, b in itertools.pairwise(stems))]


def lexical_tokens(text: str, glossary: Glossary) -> list[str]:
    """What BM25 sees of ``text``: stemmed content words, their bigrams, and glossary concept tokens."""
    plain = words(text)
    tokens = with_bigrams(stem_all([w for w in plain if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]))
    tokens.extend(concept_token(g) for g in glossary.matches(plain))
    return tokens


class LexicalIndex:
    """BM25 over chunk texts, weighed and scored by bm25s; plain files on disk.

    What is kept (and saved) is each chunk's term counts (``TermCounts``), so a rebuild after an
    edit tokenizes only the chunks that changed. bm25s's weight matrix depends on every chunk (the
    average length, the document frequencies), so it is derived from the counts when the index is
    first searched (``prepare``), which takes a fraction of a second, rather than stored.
    """

    K1 = 1.5
    B = 0.75

    def __init__(self, counts: TermCounts, glossary: Glossary) -> None:
        self.counts = counts
        self.glossary = glossary
        self.size = counts.n_docs

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every token some chunk has."""
        return frozenset(self.counts.terms)

    @cached_property
    def _columns(self) -> dict[str, int]:
        return dict(zip(self.counts.terms, range(len(self.counts.terms)), strict=True))

    @cached_property
    def _model(self) -> CountsBM25 | None:
        """bm25s indexed over the chunks' term counts (None for no chunks)."""
        if self.counts.n_docs == 0:
            return None
        from indexer.bm25_weights import CountedCorpus, CountsBM25  # bm25s and scipy: only to search

        model = CountsBM25(k1=self.K1, b=self.B)
        model.index(CountedCorpus(self.counts), show_progress=False)
        return model

    def prepare(self) -> LexicalIndex:
        """Compute everything searching needs now rather than on the first query; returns self."""
        _ = self._model, self._columns, self.vocabulary
        return self

    @classmethod
    def build(cls, texts: Sequence[str], glossary: Glossary) -> LexicalIndex:
        """Index ``texts`` (one per chunk, in chunk order)."""
        return cls(TermCounts.of([lexical_tokens(t, glossary) or [EMPTY_TOKEN] for t in texts]), glossary)

    def update(self, rows: np.ndarray, texts: Mapping[int, str]) -> LexicalIndex:
        """The index of a new list of ``len(rows)`` chunks, with this index's glossary.

        Chunk ``i`` keeps the tokens of this index's chunk ``rows[i]`` when ``rows[i] >= 0`` (its
        text is unchanged), else its text is ``texts[i]``. Equal to ``build`` over the new texts;
        only the new texts are tokenized.
        """
        documents = {
            i: lexical_tokens(text, self.glossary) or [EMPTY_TOKEN]
            for i, text in texts.items()
            if rows[i] < 0
        }
        return LexicalIndex(self.counts.update(rows, documents), self.glossary)

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (created if needed): the term counts (.npy, and the terms
        one a line in ``terms.txt``), BM25 parameters and the glossary (JSON)."""
        folder.mkdir(parents=True, exist_ok=True)
        counts = self.counts
        terms = "\n".join(counts.terms)
        if terms.count("\n") != max(len(counts.terms) - 1, 0):
            raise ValueError("a lexical token holds a line break")  # words() never makes one
        (folder / "terms.txt").write_text(terms, encoding="utf-8")
        for name, array in (
            ("indptr.npy", counts.indptr),
            ("docs.npy", counts.docs),
            ("counts.npy", counts.counts),
        ):
            np.save(folder / name, array, allow_pickle=False)
        params = {"k1": self.K1, "b": self.B, "num_docs": counts.n_docs, "lexical_version": LEXICAL_VERSION}
        (folder / "params.json").write_text(json.dumps(params), encoding="utf-8")
        (folder / "glossary.json").write_text(json.dumps(self.glossary.to_json()), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read an index written by :meth:`save`; ValueError if its files do not fit together."""
        params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        text = (folder / "terms.txt").read_text(encoding="utf-8")
        terms = text.split("\n") if text else []
        indptr, docs, counts = (
            np.load(folder / f"{name}.npy", allow_pickle=False) for name in ("indptr", "docs", "counts")
        )
        n_docs = int(params["num_docs"])
        if (
            indptr.shape != (len(terms) + 1,)
            or docs.shape != (int(indptr[-1]),)
            or counts.shape != docs.shape
            or (docs.size and (int(docs.min()) < 0 or int(docs.max()) >= n_docs))
        ):
            raise ValueError(f"the lexical index in {folder} is damaged")
        glossary = Glossary.from_terms(json.loads((folder / "glossary.json").read_text(encoding="utf-8")))
        return cls(TermCounts(tuple(terms), indptr, docs, counts, n_docs), glossary)

    def postings(self, token: str) -> np.ndarray:
        """Indexes of the chunks that contain ``token`` (empty when the index never saw it)."""
        column = self._columns.get(token)
        if column is None:
            return np.zeros(0, dtype=np.int32)
        indptr = self.counts.indptr
        return self.counts.docs[indptr[column] : indptr[column + 1]]

    def document_frequencies(self) -> dict[str, int]:
        """How many chunks contain each known token."""
        return dict(zip(self.counts.terms, self.counts.document_frequencies().tolist(), strict=True))

    def idf(self, token: str) -> float:
        """Inverse document frequency of ``token`` over chunks: log(1 + N / df); 0 when unseen."""
        df = self.postings(token).size
        return float(np.log1p(self.size / df)) if df else 0.0

    def ideal_score(self, tokens: Sequence[str]) -> float:
        """The BM25 score a chunk of average length holding each of ``tokens`` once would get.

        With BM25's (Lucene's) term weight that is the sum of the tokens' IDFs, log(1 + (N - df +
        0.5) / (df + 0.5)): a scale that says how much lexical evidence the query could give, so a
        chunk that matches only a common word of it stays low even when it is the best there is.
        """
        total = 0.0
        for token in tokens:
            df = self.postings(token).size
            if df:
                total += float(np.log1p((self.size - df + 0.5) / (df + 0.5)))
        return total

    def query_tokens(self, text: str) -> list[str]:
        """The query's lexical tokens that the index knows (others cannot score)."""
        return [t for t in lexical_tokens(text, self.glossary) if t in self.vocabulary]

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the query ``tokens`` (bm25s; zeros when none is known)."""
        known = [t for t in tokens if t in self._columns]
        if not known or self._model is None:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)

    def search(self, tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best chunks as (indexes, scores), best first; chunks scoring 0 are left out."""
        scores = self.scores(tokens)
        if scores.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        keep = scores[top] > 0
        return top[keep].astype(np.int64), scores[top][keep]

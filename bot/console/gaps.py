"""What staff asked that the bot could not settle, grouped by topic, most people first (pure).

Questions are grouped by their embeddings (the index's own encoder, unit vectors) with
average-linkage agglomerative clustering: every question starts alone, and the two groups whose
questions are most similar on average (mean pairwise cosine) merge, again and again, while that
mean is at least ``threshold``. The result depends only on the set of questions, not on the order
they came in (ties aside), and one stray question can't drag a topic's centre away as a running
centroid can. Identical texts are grouped once and weighted by how often they were asked, which
is the same clustering (they would merge first, at cosine 1) for less work.

``DEFAULT_THRESHOLD`` (``ITBOT_CONSOLE_GAP_SIMILARITY``) was chosen on the dev half of
``benchmarks/gaps/labelled.jsonl`` with all-MiniLM-L6-v2 (``benchmarks/gap_purity.py --split dev``):
the middle of the range 0.38..0.42 where purity stays 0.94 and completeness is highest; below 0.37
purity falls fast. The test half was read once, after the choice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from indexer.encoder import Encoder

DEFAULT_THRESHOLD = 0.4
EXAMPLES = 3
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Asked:
    """One unsettled question: its scrubbed text, who asked (a chat identity, may be empty), and
    what happened (escalate, clarify, or stuck)."""

    text: str
    who: str
    outcome: str


@dataclass
class Gap:
    """A group of questions on one topic."""

    questions: list[Asked] = field(default_factory=list)

    @property
    def people(self) -> int:
        """How many people asked (a question without an identity counts as one person)."""
        named = {q.who for q in self.questions if q.who}
        return len(named) + sum(1 for q in self.questions if not q.who)

    @property
    def examples(self) -> list[str]:
        """Up to three different questions of the group, as asked."""
        seen: list[str] = []
        for question in self.questions:
            if question.text not in seen:
                seen.append(question.text)
        return seen[:EXAMPLES]

    @property
    def outcomes(self) -> dict[str, int]:
        """How many questions ended each way."""
        counts: dict[str, int] = {}
        for question in self.questions:
            counts[question.outcome] = counts.get(question.outcome, 0) + 1
        return counts

    @property
    def draft_id(self) -> str:
        """An article id for a new draft on this topic (``drafts/<words of the first question>``)."""
        words = _SLUG.sub("-", self.questions[0].text.lower()).strip("-")[:60].strip("-")
        return f"drafts/{words or 'new-article'}"


def average_linkage(vectors: np.ndarray, weights: Sequence[int], *, threshold: float) -> list[list[int]]:
    """Row indexes of ``vectors`` (unit rows) in clusters: average-linkage agglomeration over cosine
    similarity, each row counting ``weights[i]`` times, merging while the best pair of clusters has
    a mean pairwise similarity of at least ``threshold``. Each cluster's indexes are ascending;
    clusters come in the order of their first index."""
    n = len(vectors)
    if n == 0:
        return []
    similarity = (vectors @ vectors.T).astype(np.float64)
    np.fill_diagonal(similarity, -np.inf)
    size = np.asarray(weights, dtype=np.float64)
    members = [[i] for i in range(n)]
    alive = np.ones(n, dtype=bool)
    while alive.sum() > 1:
        best = int(np.argmax(similarity))
        i, j = divmod(best, n)
        if similarity[i, j] < threshold:
            break
        i, j = min(i, j), max(i, j)
        # Lance-Williams for average linkage: the merged group's mean similarity to any other group
        # is the size-weighted mean of its two parts'.
        merged = (size[i] * similarity[i] + size[j] * similarity[j]) / (size[i] + size[j])
        similarity[i], similarity[:, i] = merged, merged
        similarity[i, i] = -np.inf
        similarity[j, :], similarity[:, j] = -np.inf, -np.inf
        size[i] += size[j]
        members[i].extend(members[j])
        alive[j] = False
    return [sorted(members[i]) for i in range(n) if alive[i]]


def group_questions(
    asked: Sequence[Asked], encoder: Encoder, *, threshold: float = DEFAULT_THRESHOLD
) -> list[Gap]:
    """``asked`` grouped by topic (each group's questions in the order given), the groups most
    people asked first, then the biggest, then the earliest asked."""
    if not asked:
        return []
    texts = list(dict.fromkeys(a.text for a in asked))
    position = {text: i for i, text in enumerate(texts)}
    weights = [0] * len(texts)
    for question in asked:
        weights[position[question.text]] += 1
    vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
    cluster_of: dict[int, int] = {}
    for number, cluster in enumerate(average_linkage(vectors, weights, threshold=threshold)):
        for index in cluster:
            cluster_of[index] = number
    gaps: dict[int, Gap] = {}
    for question in asked:
        gaps.setdefault(cluster_of[position[question.text]], Gap()).questions.append(question)
    return sorted(gaps.values(), key=lambda g: (-g.people, -len(g.questions)))

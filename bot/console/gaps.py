"""What staff asked that the bot could not settle, grouped by topic, most people first (pure).

Questions are grouped by their embeddings (the index's own encoder, unit vectors): each question
joins the group whose centroid it is most similar to when that cosine is at least ``threshold``,
otherwise it starts a group of its own (one pass, oldest question first, so the result does not
depend on how many came after). ``DEFAULT_THRESHOLD`` (``ITBOT_CONSOLE_GAP_SIMILARITY``) is a starting
point chosen by reading a handful of made-up paraphrases with all-MiniLM-L6-v2 (paraphrases 0.76 to
0.95, different topics under 0.5), not tuned on any question set; a curator sees every question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from indexer.encoder import Encoder

DEFAULT_THRESHOLD = 0.6
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


def group_questions(
    asked: Sequence[Asked], encoder: Encoder, *, threshold: float = DEFAULT_THRESHOLD
) -> list[Gap]:
    """``asked`` grouped by topic, the groups most people asked first (then the biggest)."""
    if not asked:
        return []
    vectors = encoder.encode([a.text for a in asked])
    gaps: list[Gap] = []
    sums: list[np.ndarray] = []
    for question, vector in zip(asked, vectors, strict=True):
        best, best_score = -1, threshold
        for index, total in enumerate(sums):
            norm = float(np.linalg.norm(total))
            score = float(np.dot(total, vector)) / norm if norm else 0.0
            if score >= best_score:
                best, best_score = index, score
        if best < 0:
            gaps.append(Gap())
            sums.append(np.zeros_like(vector, dtype=np.float32))
            best = len(gaps) - 1
        gaps[best].questions.append(question)
        sums[best] = sums[best] + vector
    return sorted(gaps, key=lambda g: (-g.people, -len(g.questions)))

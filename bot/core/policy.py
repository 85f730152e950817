"""The answer policy: from ranked articles to answer, clarify or escalate.

Cheap signals, each explainable to IT:

* ``score``: the article's fused score (cosine and normalised BM25, see ``fusion.py``) plus a small
  nudge when its title or matched section names the question's words (``Hit.heading_match``);
* ``margin``: how far the best article is ahead of the runner-up;
* ``dense``: the cosine of the article's best section, the evidence by meaning alone;
* ``known share``: the share of the question's content words that the knowledge base uses at all
  (after typo correction). A question about "spotify" or "cafeteria hours" has words no article
  uses; no similarity score sees that, because the nearest article is always *somewhere*;
* ``coverage``: the IDF-weighted share of the question's words that occur in the article, a word no
  article uses counting as much as the rarest one ("my desk phone has no dial tone" lands on the
  unit-smartphone article by meaning, but most of its words are not in that article).

The rules, in order: escalate when the question is mostly unknown words, the best article scores
below ``clarify_score`` or holds less than ``escalate_coverage`` of the question. Answer the best
article when it is strong and well ahead ("confident"); when it is strong and both kinds of evidence
pick it, ahead of the runner-up by meaning and holding at least as much of the question ("meaning
and words agree"), however close the fused scores; when its title or matched section names most of
the question and it is somewhat ahead ("named by its title": "how do I reset my password" onto
"Reset your network or Epic password"); or when no other article is within
``clarify_window`` ("no close rival"). Otherwise offer the articles within ``clarify_window`` of the
best, and only those: a choice is never padded with articles far behind.

What was tuned where: every number in ``PolicyParams`` and ``FusionParams.heading_weight`` was
chosen by ``benchmarks/policy_calibration.py`` on the DEV half of the hospital question set
(148 questions) alone: among the settings that keep, on dev, helped >= 97%, wrong confident answers
<= 1.4% (two questions) and not-in-KB questions handled >= 95%, the one that answers the most
questions outright with the right article and escalates the most not-in-KB ones. On dev that is
73.5% answered right outright (53.8% before these rules), helped 97.4%, wrong 1.4%. Dev is small
and the grid picks among thousands of settings, so dev figures flatter: on the fresh ``test2`` half
(``benchmarks/hospital.py --split test2``, run once) the settings without the "named by its
title" rule gave 73.8% answered right outright, helped 97.2%, wrong 2.9%, not-in-KB handled
90.3%. That rule was added afterwards, calibrated on dev alone, so ``test2`` is spent: the next
report needs a fresh half. The officedocs splits were not used for any of these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.models import Decision
from bot.core.retrieval import Hit, SearchResult


@dataclass(frozen=True)
class PolicyParams:
    """Thresholds of the answer policy (see the module docstring for what each signal means)."""

    answer_score: float = 0.68
    answer_margin: float = 0.12
    answer_coverage: float = 0.3
    agree_score: float = 0.7
    agree_dense_margin: float = 0.02
    agree_coverage: float = 0.5
    named_heading: float = 0.8
    named_margin: float = 0.05
    clarify_score: float = 0.5
    escalate_coverage: float = 0.3
    clarify_window: float = 0.2
    min_known_share: float = 0.5
    max_choices: int = 3


@dataclass(frozen=True)
class Verdict:
    """What the policy decided and on which articles (best first)."""

    decision: Decision
    hits: tuple[Hit, ...]
    reason: str


def decide(result: SearchResult, params: PolicyParams | None = None) -> Verdict:
    """Decide how to reply to a search result.

        ``escalate`` (no articles) when the question is mostly words the knowledge base never uses, or
        its best article is weak or holds little of the question. Otherwise ``answer`` with the best
        article alone when it is clearly right: strong and well ahead of the runner-up ("confident"),
        named by its title or section and ahead ("named"), or the only plausible article, no other
        within ``clarify_window`` ("no close rival"); that lone article is offered rather than answered
    when it holds too little of the question. Only when articles are genuinely close does it
        ``clarify``, offering those close articles and nothing else (two to ``max_choices``).
    """
    p = params or PolicyParams()
    hits = result.hits
    if not result.analysis.content_words or not hits:
        return Verdict(Decision.ESCALATE, (), "no content")
    if result.analysis.known_share < p.min_known_share:
        return Verdict(Decision.ESCALATE, (), "unknown words")
    top = hits[0]
    if top.score < p.clarify_score:
        return Verdict(Decision.ESCALATE, (), "weak match")
    if top.coverage < p.escalate_coverage:
        return Verdict(Decision.ESCALATE, (), "little overlap")
    runner_up = hits[1] if len(hits) > 1 else None
    margin = top.score - (runner_up.score if runner_up else 0.0)
    covered = top.coverage >= p.answer_coverage
    if covered and top.score >= p.answer_score and margin >= p.answer_margin:
        return Verdict(Decision.ANSWER, (top,), "confident")
    if top.score >= p.agree_score and top.coverage >= p.agree_coverage and _ahead_on_both(top, runner_up, p):
        return Verdict(Decision.ANSWER, (top,), "meaning and words agree")
    if covered and top.heading_match >= p.named_heading and margin >= p.named_margin:
        return Verdict(Decision.ANSWER, (top,), "named by its title")
    close = tuple(h for h in hits[: p.max_choices] if top.score - h.score <= p.clarify_window)
    if len(close) < 2:
        if covered:
            return Verdict(Decision.ANSWER, (top,), "no close rival")
        return Verdict(Decision.CLARIFY, (top,), "one possible article")
    return Verdict(Decision.CLARIFY, close, "close candidates")


def _ahead_on_both(top: Hit, runner_up: Hit | None, p: PolicyParams) -> bool:
    """Whether ``top`` leads the runner-up by meaning (its best section's cosine, by at least
    ``agree_dense_margin``) and by words (it holds at least as much of the question).

    Two articles a few hundredths apart in fused score are a toss-up when the two kinds of evidence
    disagree, but not when both point at the same one.
    """
    if runner_up is None:
        return True
    return top.dense - runner_up.dense >= p.agree_dense_margin and top.coverage >= runner_up.coverage

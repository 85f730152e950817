"""The answer policy on hand-built search results.

Most tests state the threshold rules (``answer_confidence=0``); the last ones the calibrated
confidence that decides by default. Scores are placed relative to the thresholds (read, never
copied), so these tests state the policy's shape and survive recalibration of its numbers.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.models import Decision
from bot.core.policy import PolicyParams, Verdict, confidence
from bot.core.policy import decide as policy_decide
from bot.core.retrieval import Hit, QueryAnalysis, SearchResult
from indexer.store import StoredChunk

P = PolicyParams(answer_confidence=0.0)
# A gap smaller than both the answer margin and the clarify window: "close" by either measure.
CLOSE = min(P.answer_margin, P.clarify_window) / 4
STRONG = P.answer_score + 0.05
UNSURE = (P.clarify_score + P.answer_score) / 2
KNOWN = QueryAnalysis(content_words=("epic", "password"), known=("epic", "password"))


def hit(article_id: str, score: float, *, coverage: float = 1.0, dense: float = 0.5) -> Hit:
    """A hit; by default every hit has the same cosine, so meaning alone tells none apart."""
    chunk = StoredChunk(
        id=f"{article_id}#0",
        article_id=article_id,
        ordinal=0,
        title=article_id.title(),
        section="Fix it",
        text=f"{article_id} > Fix it\nsteps",
        markdown="## Fix it\n\n1. Do this.",
        hash=article_id,
        line=1,
    )
    return Hit(article_id, article_id.title(), score, dense, score, chunk, coverage)


def decide(search: SearchResult, params: PolicyParams = P) -> Verdict:
    """The policy with the threshold rules (unless ``params`` say otherwise)."""
    return policy_decide(search, params)


def result(*hits: Hit, analysis: QueryAnalysis = KNOWN) -> SearchResult:
    return SearchResult(list(hits), analysis)


def ids(hits: tuple[Hit, ...]) -> list[str]:
    return [h.article_id for h in hits]


def test_the_default_thresholds_are_ordered_as_the_policy_assumes() -> None:
    assert 0 < P.clarify_score < P.answer_score
    assert 0 <= P.escalate_coverage <= P.answer_coverage <= 1
    assert P.max_choices >= 2


def test_a_question_without_content_words_escalates_with_no_articles() -> None:
    verdict = decide(result(hit("epic", STRONG), analysis=QueryAnalysis()))
    assert verdict.decision is Decision.ESCALATE
    assert verdict.hits == ()


def test_a_question_with_no_hits_escalates() -> None:
    assert decide(result()).decision is Decision.ESCALATE


def test_a_strong_clear_winner_is_answered_with_that_article_alone() -> None:
    top = hit("epic", STRONG)
    runner_up = hit("citrix", STRONG - P.answer_margin - 0.05)
    verdict = decide(result(top, runner_up))
    assert verdict.decision is Decision.ANSWER
    assert verdict.hits == (top,)


def test_a_strong_single_hit_is_answered() -> None:
    verdict = decide(result(hit("epic", STRONG)))
    assert verdict.decision is Decision.ANSWER
    assert ids(verdict.hits) == ["epic"]


def test_several_close_strong_candidates_ask_the_person_to_choose() -> None:
    hits = [hit(name, STRONG - n * CLOSE) for n, name in enumerate(["epic", "citrix", "vpn", "printer"])]
    verdict = decide(result(*hits))
    assert verdict.decision is Decision.CLARIFY
    assert 2 <= len(verdict.hits) <= P.max_choices
    assert len(set(ids(verdict.hits))) == len(verdict.hits)
    assert verdict.hits[0].article_id == "epic"


def test_several_close_middling_candidates_ask_the_person_to_choose() -> None:
    verdict = decide(result(hit("epic", UNSURE), hit("citrix", UNSURE - CLOSE)))
    assert verdict.decision is Decision.CLARIFY
    assert ids(verdict.hits) == ["epic", "citrix"]


def test_choices_leave_out_candidates_far_behind_the_best() -> None:
    far = STRONG - P.clarify_window - 0.05
    verdict = decide(result(hit("epic", STRONG), hit("citrix", STRONG - CLOSE), hit("vpn", far)))
    assert verdict.decision is Decision.CLARIFY
    assert ids(verdict.hits) == ["epic", "citrix"]


def test_choices_are_at_most_max_choices() -> None:
    hits = [hit(f"article-{n}", STRONG - n * CLOSE / 10) for n in range(P.max_choices + 3)]
    verdict = decide(result(*hits))
    assert verdict.decision is Decision.CLARIFY
    assert len(verdict.hits) == P.max_choices


def test_close_candidates_are_answered_when_meaning_and_words_both_favour_the_best() -> None:
    top = hit("vpn", P.agree_score + 0.01, dense=0.6 + P.agree_dense_margin, coverage=1.0)
    rival = hit("vpn-connected", P.agree_score, dense=0.6, coverage=1.0)
    verdict = decide(result(top, rival))
    assert verdict.decision is Decision.ANSWER
    assert verdict.hits == (top,)


def test_close_candidates_are_offered_when_the_runner_up_is_closer_in_meaning() -> None:
    top = hit("vpn", P.agree_score + 0.01, dense=0.6, coverage=1.0)
    rival = hit("vpn-connected", P.agree_score, dense=0.6 + P.agree_dense_margin, coverage=1.0)
    assert decide(result(top, rival)).decision is Decision.CLARIFY


def test_close_candidates_are_offered_when_the_runner_up_holds_more_of_the_question() -> None:
    top = hit("vpn", P.agree_score + 0.01, dense=0.7, coverage=P.agree_coverage)
    rival = hit("vpn-connected", P.agree_score, dense=0.6, coverage=1.0)
    assert decide(result(top, rival)).decision is Decision.CLARIFY


def test_agreement_needs_a_strong_enough_best_article() -> None:
    top = hit("vpn", P.agree_score - 0.05, dense=0.7, coverage=1.0)
    rival = hit("vpn-connected", P.agree_score - 0.05 - CLOSE, dense=0.5, coverage=0.5)
    assert top.score >= P.clarify_score
    assert decide(result(top, rival)).decision is Decision.CLARIFY


def test_an_article_whose_title_names_the_question_is_answered_when_somewhat_ahead() -> None:
    top = replace(hit("password-reset", UNSURE, dense=0.5), heading_match=P.named_heading)
    rival = hit("fingerprint", UNSURE - P.named_margin - 0.01, dense=0.5)
    assert UNSURE - rival.score < P.clarify_window
    verdict = decide(result(top, rival))
    assert verdict.decision is Decision.ANSWER
    assert verdict.hits == (top,)


def test_a_title_naming_the_question_does_not_settle_a_tie() -> None:
    top = replace(hit("password-reset", UNSURE, dense=0.5), heading_match=1.0)
    rival = hit("fingerprint", UNSURE - P.named_margin / 2, dense=0.5)
    assert decide(result(top, rival)).decision is Decision.CLARIFY


def test_the_only_plausible_article_is_answered_even_when_middling() -> None:
    top = hit("epic", UNSURE, coverage=max(P.answer_coverage, P.escalate_coverage))
    far = hit("citrix", UNSURE - P.clarify_window - 0.05)
    verdict = decide(result(top, far))
    assert verdict.decision is Decision.ANSWER
    assert verdict.hits == (top,)


def test_the_only_plausible_article_holding_little_of_the_question_is_offered_alone() -> None:
    params = PolicyParams(escalate_coverage=0.2, answer_coverage=0.6)
    top = hit("epic", UNSURE, coverage=0.4)
    far = hit("citrix", UNSURE - P.clarify_window - 0.05)
    verdict = decide(result(top, far), params)
    assert verdict.decision is Decision.CLARIFY
    assert verdict.hits == (top,)


def test_choices_are_never_padded_with_articles_far_behind() -> None:
    top = hit("epic", UNSURE)
    near = hit("citrix", UNSURE - CLOSE)
    unrelated = [hit(f"far-{n}", UNSURE - P.clarify_window - 0.01 - n / 100) for n in range(3)]
    verdict = decide(result(top, near, *unrelated))
    assert verdict.decision is Decision.CLARIFY
    assert ids(verdict.hits) == ["epic", "citrix"]


def test_a_weak_best_match_escalates() -> None:
    verdict = decide(result(hit("epic", P.clarify_score - 0.05)))
    assert verdict.decision is Decision.ESCALATE
    assert verdict.hits == ()


def test_a_strong_score_with_little_word_overlap_escalates() -> None:
    verdict = decide(result(hit("epic", STRONG, coverage=P.escalate_coverage / 2)))
    assert verdict.decision is Decision.ESCALATE


def test_a_question_mostly_of_words_the_knowledge_base_never_uses_escalates() -> None:
    content = tuple(f"word{n}" for n in range(20))
    known_count = max(0, int(P.min_known_share * len(content)) - 1)
    analysis = QueryAnalysis(
        content_words=content, known=content[:known_count], unknown=content[known_count:]
    )
    assert analysis.known_share < P.min_known_share
    verdict = decide(result(hit("epic", STRONG), analysis=analysis))
    assert verdict.decision is Decision.ESCALATE
    assert verdict.hits == ()


def test_corrected_typos_count_as_known_words() -> None:
    analysis = QueryAnalysis(
        content_words=("pasword", "epic"), known=("epic",), corrected=(("pasword", "password"),)
    )
    assert analysis.known_share == 1.0
    assert decide(result(hit("epic", STRONG), analysis=analysis)).decision is Decision.ANSWER


def test_given_params_replace_the_defaults() -> None:
    strict = PolicyParams(answer_score=0.99, clarify_score=0.98, answer_confidence=0.0)
    assert decide(result(hit("epic", 0.9)), strict).decision is Decision.ESCALATE
    lenient = PolicyParams(answer_score=0.1, answer_margin=0.01, clarify_score=0.05, answer_confidence=0.0)
    assert decide(result(hit("epic", 0.2)), lenient).decision is Decision.ANSWER


@pytest.mark.parametrize(
    ("search", "decision"),
    [
        (result(hit("epic", STRONG)), Decision.ANSWER),
        (result(hit("epic", UNSURE), hit("citrix", UNSURE - CLOSE)), Decision.CLARIFY),
        (result(hit("epic", P.clarify_score - 0.05)), Decision.ESCALATE),
    ],
    ids=["answer", "clarify", "escalate"],
)
def test_every_verdict_names_its_reason(search: SearchResult, decision: Decision) -> None:
    verdict = decide(search)
    assert verdict.decision is decision
    assert verdict.reason


# --- the calibrated confidence (the default) ----------------------------------------------------

DEFAULT = PolicyParams()


def test_confidence_grows_with_the_lead_in_meaning_and_in_words() -> None:
    top = hit("epic", 0.75, dense=0.7, coverage=1.0)
    behind_in_meaning = hit("citrix", 0.74, dense=0.6, coverage=1.0)
    level = hit("citrix", 0.74, dense=0.7, coverage=1.0)
    behind_in_words = hit("citrix", 0.74, dense=0.6, coverage=0.5)
    assert confidence(top, level) < confidence(top, behind_in_meaning) < confidence(top, behind_in_words)
    assert 0.0 < confidence(top, level) < 1.0


def test_a_clearly_right_article_is_answered_by_default() -> None:
    top = hit("epic", 0.85, dense=0.75, coverage=1.0)
    rival = hit("citrix", 0.6, dense=0.45, coverage=0.4)
    assert confidence(top, rival) >= DEFAULT.answer_confidence
    verdict = policy_decide(result(top, rival))
    assert verdict.decision is Decision.ANSWER
    assert ids(verdict.hits) == ["epic"]
    assert verdict.reason == "likely right"


def test_a_close_call_by_both_kinds_of_evidence_offers_the_close_articles() -> None:
    top = hit("epic", 0.72, dense=0.6, coverage=0.8)
    rival = hit("citrix", 0.7, dense=0.6, coverage=0.8)
    far = hit("vpn", 0.72 - DEFAULT.clarify_window - 0.05)
    assert confidence(top, rival) < DEFAULT.answer_confidence
    verdict = policy_decide(result(top, rival, far))
    assert verdict.decision is Decision.CLARIFY
    assert ids(verdict.hits) == ["epic", "citrix"]


def test_an_unsure_article_with_no_close_rival_is_offered_alone_not_answered() -> None:
    top = hit("epic", DEFAULT.clarify_score + 0.02, dense=0.4, coverage=0.6)
    far = hit("vpn", top.score - DEFAULT.clarify_window - 0.05, dense=0.38, coverage=0.6)
    assert confidence(top, far) < DEFAULT.answer_confidence
    verdict = policy_decide(result(top, far))
    assert verdict.decision is Decision.CLARIFY
    assert ids(verdict.hits) == ["epic"]


def test_the_escalation_rules_come_before_the_confidence() -> None:
    weak = hit("epic", DEFAULT.clarify_score - 0.05, dense=0.9, coverage=1.0)
    assert policy_decide(result(weak)).decision is Decision.ESCALATE

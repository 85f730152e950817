"""Grouping unanswered questions by topic (with the hashing encoder: shared words, shared topic)."""

from __future__ import annotations

import numpy as np

from bot.console.gaps import Asked, Gap, average_linkage, group_questions
from indexer.encoder import HashingEncoder

QUESTIONS = [
    ("pager app crashes on my phone", "u1"),
    ("the pager app keeps crashing", "u2"),
    ("fax machine jams on ward 4", "u3"),
    ("pager app crashed again on phone", "u1"),
    ("fax machine keeps jamming", "u4"),
    ("how do I order a new badge", ""),
]


def test_questions_on_one_topic_group_and_the_most_asked_topic_comes_first() -> None:
    asked = [Asked(text, who, "escalate") for text, who in QUESTIONS]
    gaps = group_questions(asked, HashingEncoder(), threshold=0.2)
    assert [g.examples for g in gaps] == [
        ["pager app crashes on my phone", "the pager app keeps crashing", "pager app crashed again on phone"],
        ["fax machine jams on ward 4", "fax machine keeps jamming"],
        ["how do I order a new badge"],
    ]
    assert [g.people for g in gaps] == [2, 2, 1]


def test_people_count_identities_once_and_anonymous_questions_each() -> None:
    gap = Gap(
        questions=[
            Asked("a", "u1", "escalate"),
            Asked("a", "u1", "stuck"),
            Asked("b", "", "clarify"),
            Asked("c", "", "escalate"),
        ]
    )
    assert gap.people == 3
    assert gap.outcomes == {"escalate": 2, "stuck": 1, "clarify": 1}
    assert gap.examples == ["a", "b", "c"]


def test_a_draft_id_is_a_safe_slug_under_drafts() -> None:
    assert Gap(questions=[Asked("Can't print to 5-West's printer!!", "", "escalate")]).draft_id == (
        "drafts/can-t-print-to-5-west-s-printer"
    )
    assert Gap(questions=[Asked("???", "", "escalate")]).draft_id == "drafts/new-article"


def test_no_questions_no_groups() -> None:
    assert group_questions([], HashingEncoder()) == []


def test_the_groups_do_not_depend_on_the_order_questions_came_in() -> None:
    asked = [Asked(text, who, "escalate") for text, who in QUESTIONS]
    forward = group_questions(asked, HashingEncoder(), threshold=0.2)
    backward = group_questions(list(reversed(asked)), HashingEncoder(), threshold=0.2)
    assert sorted(sorted(g.examples) for g in forward) == sorted(sorted(g.examples) for g in backward)


def test_a_question_asked_twice_counts_twice_in_its_group() -> None:
    asked = [Asked("fax machine jams", "u1", "escalate"), Asked("fax machine jams", "u2", "stuck")]
    [gap] = group_questions(asked, HashingEncoder(), threshold=0.2)
    assert gap.questions == asked
    assert gap.people == 2


def test_average_linkage_merges_while_the_mean_similarity_reaches_the_threshold() -> None:
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    # 0 and 1: cosine 0.8; the pair and 2: mean of 0.0 and 0.6 = 0.3.
    assert average_linkage(vectors, [1, 1, 1], threshold=0.5) == [[0, 1], [2]]
    assert average_linkage(vectors, [1, 1, 1], threshold=0.3) == [[0, 1, 2]]
    # Weighted: row 0 asked three times pulls the pair's mean to 2 down to (0 * 3 + 0.6) / 4.
    assert average_linkage(vectors, [3, 1, 1], threshold=0.2) == [[0, 1], [2]]

"""A conversation as a ticket keeps it (``bot.tickets.transcripts``): scrubbed, summarised, readable."""

from __future__ import annotations

from typing import Any

from bot.tickets.transcripts import (
    NO_QUESTION,
    appended,
    one_line,
    person_texts,
    scrub_turns,
    summary_of,
    ticket_turns,
    transcript_text,
)

TURNS: list[dict[str, Any]] = [
    {"role": "user", "text": "epic froze for pt Okonkwo MRN 00482913", "at": "2026-11-02T09:10:05+00:00"},
    {
        "role": "bot",
        "decision": "answer",
        "articles": ["ehr/epic-slow-or-freezing"],
        "at": "2026-11-02T09:10:06",
    },
    {"role": "event", "text": "feedback: still stuck", "at": "2026-11-02T09:12:00+00:00"},
    {"role": "user", "text": "still doesn't work", "at": "2026-11-02T09:12:30+00:00"},
]


def test_every_text_is_scrubbed_and_other_keys_are_kept() -> None:
    cleaned = scrub_turns([{**TURNS[0], "escalation": {"reason": "stuck"}}])

    assert cleaned[0]["text"] == "epic froze for pt [NAME] MRN [MRN]"
    assert cleaned[0]["escalation"] == {"reason": "stuck"}


def test_a_ticket_keeps_role_text_decision_articles_and_time_only() -> None:
    kept = ticket_turns([{**TURNS[1], "escalation": {"reason": "stuck"}, "interaction_id": "i-1"}])

    assert kept == [
        {"role": "bot", "decision": "answer", "articles": ["ehr/epic-slow-or-freezing"], "at": TURNS[1]["at"]}
    ]


def test_the_summary_is_the_first_message_stating_a_problem() -> None:
    turns = [{"role": "user", "text": "talk to a human"}, *TURNS]

    assert summary_of(turns) == "epic froze for pt [NAME] MRN [MRN]"


def test_without_a_problem_stated_the_summary_falls_back_to_what_there_is() -> None:
    assert summary_of([{"role": "user", "text": "talk to a human"}]) == "talk to a human"
    assert summary_of([], "printer on 4W jammed") == "printer on 4W jammed"
    assert summary_of([]) == NO_QUESTION


def test_long_text_is_cut_at_a_word_on_one_line() -> None:
    text = "word " * 60 + "\nend"

    cut = one_line(text, 30)

    assert len(cut) <= 30 and cut.endswith("…") and "\n" not in cut and "wor…" not in cut


def test_the_transcript_text_says_who_said_what_when() -> None:
    assert transcript_text(TURNS).splitlines() == [
        "[09:10] person: epic froze for pt [NAME] MRN [MRN]",
        "[09:10] bot (answer): offered ehr/epic-slow-or-freezing",
        "[09:12] event: feedback: still stuck",
        "[09:12] person: still doesn't work",
    ]


def test_person_texts_are_the_users_turns_only() -> None:
    assert person_texts(TURNS) == ["epic froze for pt [NAME] MRN [MRN]", "still doesn't work"]


def test_appending_keeps_the_newest_forty_turns_scrubbed() -> None:
    many = [{"role": "user", "text": f"message {n}"} for n in range(39)]

    result = appended(many, [{"role": "user", "text": "call 555-123-4567"}, {"role": "event", "text": "x"}])

    assert len(result) == 40
    assert result[0]["text"] == "message 1"
    assert result[-2]["text"] == "call [PHONE]"

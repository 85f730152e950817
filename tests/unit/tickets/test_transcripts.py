"""A conversation as a ticket keeps it (``bot.tickets.transcripts``): scrubbed, summarised, readable."""

from __future__ import annotations

from typing import Any

import pytest

from bot.tickets.transcripts import (
    NO_QUESTION,
    answered_articles,
    appended,
    current_problem,
    earlier_problem_articles,
    is_own_question,
    one_line,
    person_texts,
    problem_articles,
    scrub_turns,
    states_problem,
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


def test_neither_asking_for_a_person_nor_still_not_working_is_the_problem() -> None:
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


# --- the problem escalated --------------------------------------------------------------------------------


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "text": text}


def answered(*articles: str) -> dict[str, Any]:
    return {"role": "bot", "decision": "answer", "articles": list(articles)}


def event(text: str) -> dict[str, Any]:
    return {"role": "event", "text": text}


def test_after_fixed_the_next_question_is_a_new_problem_however_short() -> None:
    turns = [user("citrix frozen"), answered("apps/citrix"), event("fixed"), user("wifi down")]

    problem = current_problem(turns)

    assert problem.question == "wifi down" and problem.texts == ("wifi down",)
    assert summary_of(turns) == "wifi down"


def test_a_ticket_opened_earlier_ends_a_problem_too() -> None:
    turns = [user("citrix frozen"), event("ticket IT-000001 opened"), user("the badge reader is dead")]

    assert current_problem(turns).question == "the badge reader is dead"


def test_the_newest_question_of_its_own_is_the_problem() -> None:
    turns = [
        user("epic keeps logging me out every few minutes"),
        answered("ehr/epic-login-problems"),
        user("the label printer on 4 West prints blank labels"),
    ]

    assert summary_of(turns) == "the label printer on 4 West prints blank labels"


@pytest.mark.parametrize("follow_up", ["still not working", "what about on the wow", "and on the other pc"])
def test_a_follow_up_belongs_to_the_question_before_it(follow_up: str) -> None:
    turns = [user("epic keeps logging me out every few minutes"), answered("ehr/epic-login-problems")]

    problem = current_problem([*turns, user(follow_up)])

    assert problem.question == "epic keeps logging me out every few minutes"
    assert problem.texts == ("epic keeps logging me out every few minutes", follow_up)


def test_a_short_message_naming_another_system_is_a_question_of_its_own() -> None:
    assert is_own_question("can't hear on vocera")
    assert not is_own_question("what about on the wow")
    assert not is_own_question("still doesn't work")


def test_a_bare_ask_for_a_person_states_no_problem() -> None:
    assert current_problem([user("talk to a human please")]).question == ""
    assert not states_problem("can I speak to someone please")
    assert states_problem("talk to a human, vocera can't hear")


def test_the_details_state_the_problem_only_without_the_unit_and_urgency() -> None:
    turns = [user("talk to a human"), user("ICU bed 7, vocera can't hear anything, no patient waiting")]

    assert summary_of(turns, "ICU bed 7, vocera can't hear anything, no patient waiting") == (
        "vocera can't hear anything"
    )


def test_details_never_replace_a_problem_already_stated() -> None:
    turns = [user("can't hear anything on my vocera badge"), user("ICU bed 7, no")]

    assert summary_of(turns, "ICU bed 7, no") == "can't hear anything on my vocera badge"


def test_only_the_articles_of_the_problem_escalated_are_its_own() -> None:
    turns = [
        user("epic keeps logging me out every few minutes"),
        answered("ehr/epic-login-problems"),
        event("fixed"),
        user("label printer prints blank labels on 4 West"),
        {"role": "bot", "decision": "clarify", "articles": ["printing/printer-offline"]},
        answered("printing/label-printer"),
    ]

    assert problem_articles(turns) == ["printing/label-printer"]
    assert earlier_problem_articles(turns) == ["ehr/epic-login-problems"]
    assert answered_articles(turns) == ["printing/label-printer", "ehr/epic-login-problems"]


def test_an_ask_for_a_person_that_says_the_problem_is_summarised_without_the_ask() -> None:
    assert summary_of([user("talk to a human, vocera can't hear")]) == "vocera can't hear"
    assert summary_of([user("epic is down on 4 West, get me a technician")]) == "epic is down on 4 West"

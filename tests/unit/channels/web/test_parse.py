"""Reading a POST /api/ask body: every odd body becomes a bounded, clean question."""

from __future__ import annotations

from bot.channels.web.input import AskInput, clean_text, parse_ask
from bot.core.models import Citation, Decision, Question, Reply, Turn
from bot.interactions.recording import interaction_from_reply


def test_a_plain_body_is_read_whole() -> None:
    parsed = parse_ask(
        {"text": "citrix frozen", "user": "web-1a2b", "history": [{"role": "user", "text": "hi"}]},
        max_chars=100,
    )

    assert parsed == AskInput(text="citrix frozen", user="web-1a2b", history=(Turn("user", "hi"),))


def test_odd_bodies_become_an_empty_question() -> None:
    payloads: list[object] = [None, [], "text", 5, {"text": 5}, {"text": None}, {}]
    for payload in payloads:
        assert parse_ask(payload, max_chars=100).text == ""


def test_control_characters_go_and_surrogates_are_replaced() -> None:
    assert clean_text("a\x00b\x07c\r\nd\te 😡", limit=100) == "abc \nd\te 😡"
    assert clean_text("\ud83d x", limit=100) == "\ufffd x"


def test_text_is_cut_to_the_limit() -> None:
    assert len(parse_ask({"text": "x" * 50_000}, max_chars=4000).text) == 4000


def test_user_ids_keep_only_id_characters_and_are_short() -> None:
    assert parse_ask({"text": "x", "user": "John Smith <js@x.org>"}, max_chars=10).user == "JohnSmithjs@x.org"
    assert len(parse_ask({"text": "x", "user": "u" * 500}, max_chars=10).user) == 64


def test_history_keeps_the_last_valid_turns_only() -> None:
    history = [{"role": "user", "text": f"t{i}"} for i in range(30)] + [
        {"role": "system", "text": "x"},
        "junk",
    ]

    parsed = parse_ask({"text": "x", "history": history}, max_chars=10)

    assert [t.text for t in parsed.history] == [f"t{i}" for i in range(22, 30)]


def test_article_and_render_are_optional() -> None:
    parsed = parse_ask({"text": "x", "article": " printing/label ", "render": "html"}, max_chars=10)

    assert parsed.article == "printing/label" and parsed.render_html
    assert parse_ask({"text": "x", "article": 3}, max_chars=10).article is None


def test_the_stored_row_holds_the_scrubbed_question_never_the_raw_one() -> None:
    question = Question(text="MRN 00123456 epic", channel="web", user="web-1")
    reply = Reply(
        Decision.ANSWER,
        "steps",
        (Citation("ehr/a", "A", "Fix it", 0.71234), Citation("ehr/b", "B", "", 0.5)),
        actions=("fixed", "stuck"),
        signals={"top_score": 0.7},
        asked="MRN [MRN] epic",
    )

    row = interaction_from_reply(question=question, reply=reply, latency_ms=12)

    assert row.question == "MRN [MRN] epic"
    assert row.top_article == "ehr/a" and row.top_score == 0.7
    assert row.citations == [{"article": "ehr/a", "score": 0.7123}, {"article": "ehr/b", "score": 0.5}]
    assert (row.channel, row.user_id, row.decision, row.latency_ms) == ("web", "web-1", "answer", 12)

"""A core ``Reply`` as Slack Block Kit: mrkdwn conversion, button values, sections and the Home tab.

Pure functions on hand-built ``Reply`` fixtures; Slack's limits (3,000 characters a section, 75 a
button label, 2,000 a button value) are read from the module, never copied.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.channels.slack.blocks import (
    ACTION_CHOOSE_PREFIX,
    ACTION_FIXED,
    ACTION_NOTIFY,
    ACTION_STUCK,
    ACTIONS_BLOCK_ID,
    MAX_BUTTON_TEXT,
    MAX_FALLBACK_CHARS,
    MAX_SECTION_CHARS,
    MAX_VALUE_CHARS,
    OUTCOME_BLOCK_ID,
    absolute_url,
    decode_value,
    encode_value,
    escape,
    home_view,
    plain_text,
    reply_blocks,
    to_mrkdwn,
    with_outcome,
)
from bot.core.models import Citation, Decision, Reply

SLACK_SECTION_LIMIT = 3000
BASE = "https://itbot.hospital.example"
EPIC = Citation(
    "ehr/epic-login-problems", "Can't log in to Epic", "Fix it", 0.91, "/kb/ehr/epic-login-problems"
)
CITRIX = Citation("citrix/citrix-frozen", "Citrix is frozen", "Fix it", 0.62, "/kb/citrix/citrix-frozen")
PRINTER = Citation("printing/office-printer-offline", "Office printer shows offline", "Overview", 0.6)


def answer(text: str = "**Can't log in to Epic** — Fix it\n\n1. Check **Caps Lock**.", **kw: Any) -> Reply:
    values: dict[str, Any] = {"citations": (EPIC,), "actions": ("fixed", "stuck"), "interaction_id": "int-42"}
    values.update(kw)
    return Reply(Decision.ANSWER, text, **values)


def clarify(*citations: Citation, interaction_id: str | None = "int-7") -> Reply:
    actions = (*(f"choose:{c.article}" for c in citations), "stuck")
    text = "I found a few articles that could fit. Which one matches your problem?"
    return Reply(Decision.CLARIFY, text, citations, None, actions, interaction_id)


def of_type(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == kind]


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in of_type(blocks, "actions") for e in b["elements"]]


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in of_type(blocks, "section")]


def context_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for b in of_type(blocks, "context") for e in b["elements"]]


# --- escaping and mrkdwn -------------------------------------------------------------------------------


def test_escape_replaces_the_three_characters_slack_reserves() -> None:
    assert escape("AT&T <b> > 3") == "AT&amp;T &lt;b&gt; &gt; 3"


def test_escape_escapes_an_ampersand_once() -> None:
    assert escape("&lt;") == "&amp;lt;"


@pytest.mark.parametrize("markup", ["<!channel>", "<!here>", "<@U0SOMEONE>", "<https://evil.example|login>"])
def test_slack_control_sequences_in_markdown_are_shown_as_text_not_obeyed(markup: str) -> None:
    mrkdwn = to_mrkdwn(f"Reset it {markup} now")

    assert markup not in mrkdwn
    assert escape(markup) in mrkdwn


def test_markdown_bold_becomes_slack_bold() -> None:
    assert to_mrkdwn("Check **Caps Lock** and __Num Lock__.") == "Check *Caps Lock* and *Num Lock*."


@pytest.mark.parametrize("heading", ["# Fix it", "## Fix it", "###### Fix it", "  ### Fix it ###"])
def test_a_markdown_heading_becomes_a_bold_line(heading: str) -> None:
    assert to_mrkdwn(heading) == "*Fix it*"


def test_a_hash_without_a_space_is_not_a_heading() -> None:
    assert to_mrkdwn("#4west printer") == "#4west printer"


def test_a_heading_keeps_the_blank_lines_around_it() -> None:
    assert (
        to_mrkdwn("Try this first.\n\n## Fix it\n\n1. Restart.")
        == "Try this first.\n\n*Fix it*\n\n1. Restart."
    )


def test_an_absolute_link_becomes_a_slack_link() -> None:
    assert (
        to_mrkdwn("See [the portal](https://reset.example/pw).")
        == "See <https://reset.example/pw|the portal>."
    )


def test_a_relative_link_is_made_absolute_against_the_public_url() -> None:
    mrkdwn = to_mrkdwn("[Can't log in](/kb/ehr/epic-login-problems)", BASE + "/")

    assert mrkdwn == f"<{BASE}/kb/ehr/epic-login-problems|Can't log in>"


def test_a_relative_link_without_a_public_url_keeps_only_its_text() -> None:
    assert to_mrkdwn("Full article: [Epic](/kb/ehr/epic-login-problems)") == "Full article: Epic"


@pytest.mark.parametrize("url", ["javascript:void", "kb/relative", "mailto:it@hospital.example"])
def test_a_link_slack_cannot_open_keeps_only_its_text(url: str) -> None:
    assert to_mrkdwn(f"[click here]({url})", BASE) == "click here"


def test_a_pipe_in_a_link_label_cannot_end_the_label_early() -> None:
    mrkdwn = to_mrkdwn("[Epic | Hyperspace](https://epic.example/)")

    assert mrkdwn == "<https://epic.example/|Epic / Hyperspace>"


def test_text_around_a_link_is_escaped_but_the_link_still_works() -> None:
    mrkdwn = to_mrkdwn("Q&A: [reset](https://reset.example/?a=1&b=2) if x < 3")

    assert mrkdwn == "Q&amp;A: <https://reset.example/?a=1&amp;b=2|reset> if x &lt; 3"


# --- absolute_url ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://kb.example/a", "http://intranet/a"])
def test_an_absolute_url_is_kept_as_it_is(url: str) -> None:
    assert absolute_url(url, "") == url
    assert absolute_url(url, BASE) == url


def test_a_site_path_is_joined_to_the_public_url_with_one_slash() -> None:
    assert absolute_url("/kb/x", BASE) == f"{BASE}/kb/x"
    assert absolute_url("/kb/x", BASE + "/") == f"{BASE}/kb/x"


@pytest.mark.parametrize(
    ("url", "base"),
    [("/kb/x", ""), ("/kb/x", "itbot.local"), ("kb/x", BASE), ("javascript:alert(1)", BASE), ("", BASE)],
)
def test_a_url_that_cannot_be_made_absolute_is_empty(url: str, base: str) -> None:
    assert absolute_url(url, base) == ""


# --- plain_text (the notification fallback) -------------------------------------------------------------


def test_plain_text_drops_markup_and_keeps_link_text() -> None:
    text = plain_text("## Fix it\n\n1. Check **Caps Lock**.\n\nFull article: [Epic login](/kb/ehr/epic)")

    assert text == "Fix it 1. Check Caps Lock. Full article: Epic login"


def test_plain_text_of_a_short_reply_is_not_cut() -> None:
    assert plain_text("Restart the printer.") == "Restart the printer."


def test_plain_text_is_cut_to_its_limit_with_an_ellipsis() -> None:
    text = plain_text("word " * 500)

    assert len(text) <= MAX_FALLBACK_CHARS
    assert text.endswith("…")
    assert len(plain_text("word " * 500, limit=40)) <= 40


# --- button values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"i": "int-42"},
        {"a": "printing/office-printer-offline", "i": ""},
        {"a": 'quote " brace } comma , colon :', "i": "ünïcödé ✓"},
    ],
)
def test_a_button_value_round_trips(fields: dict[str, str]) -> None:
    assert decode_value(encode_value(**fields)) == fields


def test_a_button_value_over_slacks_limit_is_refused_when_encoding() -> None:
    with pytest.raises(ValueError):
        encode_value(a="x" * MAX_VALUE_CHARS)


NOT_OURS: dict[str, object] = {
    "none": None,
    "number": 42,
    "bytes": b'{"i": "1"}',
    "empty": "",
    "not-json": "int-42",
    "truncated-json": '{"i": "1"',
    "json-list": '["i", "1"]',
    "json-string": '"int-42"',
    "json-null": "null",
    "too-long": json.dumps({"i": "x" * MAX_VALUE_CHARS}),
}


@pytest.mark.parametrize("value", NOT_OURS.values(), ids=NOT_OURS.keys())
def test_a_value_that_is_not_one_of_ours_decodes_to_nothing(value: object) -> None:
    assert decode_value(value) == {}


def test_a_deeply_nested_value_within_the_length_limit_decodes_to_nothing_rather_than_raising() -> None:
    depth = MAX_VALUE_CHARS // 2
    value = "[" * depth + "]" * depth

    assert decode_value(value) == {}


def test_decoding_keeps_only_string_fields() -> None:
    value = json.dumps({"i": "int-1", "n": 3, "l": ["a"], "d": {"a": "b"}, "z": None})

    assert decode_value(value) == {"i": "int-1"}


# --- reply_blocks ----------------------------------------------------------------------------------------


def test_an_answer_renders_its_text_as_mrkdwn() -> None:
    blocks = reply_blocks(answer())

    assert blocks[0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Can't log in to Epic* — Fix it\n\n1. Check *Caps Lock*."},
    }


def test_an_answer_names_its_source_article_with_a_link() -> None:
    sources = context_texts(reply_blocks(answer(), BASE))

    assert sources == [
        f":page_facing_up: Source: <{BASE}/kb/ehr/epic-login-problems|Can't log in to Epic › Fix it>"
    ]


def test_a_source_without_a_usable_link_is_named_in_bold() -> None:
    (source,) = context_texts(reply_blocks(answer(citations=(EPIC,)), ""))

    assert source == ":page_facing_up: Source: *Can't log in to Epic* › Fix it"


def test_a_source_line_leaves_out_an_overview_section() -> None:
    (source,) = context_texts(reply_blocks(answer(citations=(PRINTER,)), BASE))

    assert source == ":page_facing_up: Source: *Office printer shows offline*"


def test_a_source_title_is_escaped() -> None:
    odd = Citation("x/y", "Printers <4 West> & labs", "", 0.9, "https://kb.example/x")
    (source,) = context_texts(reply_blocks(answer(citations=(odd,))))

    assert "<https://kb.example/x|Printers &lt;4 West&gt; &amp; labs>" in source


def test_only_an_answer_gets_a_source_line() -> None:
    assert context_texts(reply_blocks(clarify(EPIC, CITRIX), BASE)) == []


def test_an_answer_offers_fixed_and_stuck_buttons_carrying_the_interaction() -> None:
    blocks = reply_blocks(answer(interaction_id="int-42"))
    fixed, stuck = buttons(blocks)

    assert of_type(blocks, "actions")[0]["block_id"] == ACTIONS_BLOCK_ID
    assert (fixed["action_id"], fixed["text"]["text"], fixed.get("style")) == (
        ACTION_FIXED,
        "That fixed it",
        "primary",
    )
    assert (stuck["action_id"], stuck["text"]["text"]) == (ACTION_STUCK, "Still stuck")
    assert decode_value(fixed["value"]) == {"i": "int-42"}
    assert decode_value(stuck["value"]) == {"i": "int-42"}


def test_an_outage_reply_offers_tell_me_when_its_fixed_carrying_the_notice() -> None:
    outage = Reply(
        Decision.OUTAGE, "**Known issue:** Epic is slow.", actions=("notify:7",), interaction_id="int-9"
    )

    [notify] = buttons(reply_blocks(outage))

    assert (notify["action_id"], notify["text"]["text"]) == (ACTION_NOTIFY, "Tell me when it's fixed")
    assert decode_value(notify["value"]) == {"n": "7", "i": "int-9"}


def test_a_reply_without_an_interaction_id_still_has_decodable_buttons() -> None:
    for button in buttons(reply_blocks(answer(interaction_id=None))):
        assert decode_value(button["value"]) == {"i": ""}


def test_a_choice_is_a_button_titled_with_the_article_carrying_its_id_and_the_interaction() -> None:
    epic, citrix, stuck = buttons(reply_blocks(clarify(EPIC, CITRIX, interaction_id="int-7")))

    assert [epic["text"]["text"], citrix["text"]["text"]] == [EPIC.title, CITRIX.title]
    assert decode_value(epic["value"]) == {"a": EPIC.article, "i": "int-7"}
    assert decode_value(citrix["value"]) == {"a": CITRIX.article, "i": "int-7"}
    assert epic["action_id"].startswith(ACTION_CHOOSE_PREFIX)
    assert citrix["action_id"].startswith(ACTION_CHOOSE_PREFIX)
    assert stuck["action_id"] == ACTION_STUCK


def test_every_button_of_a_reply_has_its_own_action_id() -> None:
    ids = [b["action_id"] for b in buttons(reply_blocks(clarify(EPIC, CITRIX, PRINTER)))]

    assert len(ids) == len(set(ids)) == 4


def test_a_choice_of_an_article_not_cited_is_titled_with_its_id() -> None:
    reply = Reply(Decision.CLARIFY, "Which one?", (), None, ("choose:network/vpn",), "int-1")
    (button,) = buttons(reply_blocks(reply))

    assert button["text"]["text"] == "network/vpn"
    assert decode_value(button["value"]) == {"a": "network/vpn", "i": "int-1"}


def test_a_long_article_title_is_cut_to_slacks_button_limit() -> None:
    long = Citation("x/long", "A very long article title " * 10, "Fix it", 0.5)
    (button, _stuck) = buttons(reply_blocks(clarify(long)))

    assert len(button["text"]["text"]) <= MAX_BUTTON_TEXT
    assert button["text"]["text"].endswith("…")


def test_unknown_actions_make_no_buttons() -> None:
    reply = Reply(Decision.ESCALATE, "Call the service desk.", (), None, ("call", "chat"), "int-1")

    assert of_type(reply_blocks(reply), "actions") == []


def test_an_escalation_has_its_text_and_nothing_else() -> None:
    reply = Reply(Decision.ESCALATE, "This needs a person from IT. Call x4357.")

    assert reply_blocks(reply) == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "This needs a person from IT. Call x4357."}}
    ]


def test_an_empty_reply_still_renders_a_section_slack_accepts() -> None:
    (section,) = section_texts(reply_blocks(Reply(Decision.CLARIFY, "  \n ")))

    assert section.strip() == "" and len(section) >= 1


def test_a_long_reply_is_split_into_sections_under_slacks_limit_at_line_ends() -> None:
    lines = [f"{n}. Step number {n} of a long procedure, written out in full." for n in range(200)]
    texts = section_texts(reply_blocks(Reply(Decision.ANSWER, "\n".join(lines))))

    assert len(texts) > 1
    assert all(len(t) <= MAX_SECTION_CHARS <= SLACK_SECTION_LIMIT for t in texts)
    assert "\n".join(texts) == "\n".join(lines)


def test_a_long_reply_without_line_ends_is_split_without_losing_text() -> None:
    text = "x" * (MAX_SECTION_CHARS * 2 + 17)
    texts = section_texts(reply_blocks(Reply(Decision.ANSWER, text)))

    assert [len(t) for t in texts] == [MAX_SECTION_CHARS, MAX_SECTION_CHARS, 17]
    assert "".join(texts) == text


def test_the_buttons_come_after_the_text_and_the_source() -> None:
    kinds = [b["type"] for b in reply_blocks(answer(), BASE)]

    assert kinds == ["section", "context", "actions"]


# --- with_outcome ----------------------------------------------------------------------------------------


def test_an_outcome_removes_the_buttons_and_ends_with_the_note() -> None:
    posted = reply_blocks(answer(), BASE)
    updated = with_outcome(posted, ":white_check_mark: Glad that fixed it.")

    assert of_type(updated, "actions") == []
    assert updated[:-1] == [b for b in posted if b["type"] != "actions"]
    assert updated[-1] == {
        "type": "context",
        "block_id": OUTCOME_BLOCK_ID,
        "elements": [{"type": "mrkdwn", "text": ":white_check_mark: Glad that fixed it."}],
    }


def test_a_second_outcome_replaces_the_first() -> None:
    once = with_outcome(reply_blocks(answer(), BASE), "first")
    twice = with_outcome(once, "second")

    assert context_texts(twice)[-1] == "second"
    assert "first" not in context_texts(twice)
    assert len([b for b in twice if b.get("block_id") == OUTCOME_BLOCK_ID]) == 1


def test_an_outcome_leaves_the_posted_blocks_as_they_were() -> None:
    posted = reply_blocks(answer(), BASE)
    before = json.dumps(posted)
    with_outcome(posted, "note")

    assert json.dumps(posted) == before


# --- home_view -------------------------------------------------------------------------------------------


def test_the_home_tab_is_a_home_view_opening_with_a_header() -> None:
    view = home_view(phone="x4357")

    assert view["type"] == "home"
    assert view["blocks"][0]["type"] == "header"
    assert view["blocks"][-1]["type"] != "divider"


def test_the_home_tab_gives_the_service_desk_phone_escaped() -> None:
    text = "\n".join(section_texts(home_view(phone="x4357 <option 2> & ask")["blocks"]))

    assert "*x4357 &lt;option 2&gt; &amp; ask*" in text


def test_the_home_tab_mentions_the_bot_by_id_when_known() -> None:
    known = "\n".join(section_texts(home_view(phone="x4357", bot_user_id="UBOT")["blocks"]))
    unknown = "\n".join(section_texts(home_view(phone="x4357")["blocks"]))

    assert "<@UBOT>" in known
    assert "@itbot" in unknown and "<@" not in unknown


def test_the_home_tab_warns_against_pasting_patient_details() -> None:
    text = "\n".join(section_texts(home_view(phone="x4357")["blocks"]))

    assert "patient details" in text


def test_every_home_section_fits_slacks_limit() -> None:
    assert all(len(t) <= SLACK_SECTION_LIMIT for t in section_texts(home_view(phone="x" * 200)["blocks"]))


def test_a_markdown_quote_stays_a_slack_quote_while_other_angle_brackets_are_escaped() -> None:
    text = to_mrkdwn("Open *Start > Settings*.\n\n> **Note:** cancel the print job first.")

    assert "Start &gt; Settings" in text
    assert "\n> *Note:* cancel the print job first." in text

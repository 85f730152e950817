"""Notice messages as Block Kit: the text, the "Got it" button with its count, and the count edited
in place on the message someone tapped."""

from __future__ import annotations

from bot.channels.slack.blocks import decode_value
from bot.channels.slack.notice_acks import with_count
from bot.channels.slack.notice_post_blocks import ACTION_NOTICE_ACK, ACTION_NOTICE_PROCEDURE, notice_blocks
from bot.notices.sender import NoticeMessage


def test_an_upgrade_message_has_a_got_it_button_naming_its_notice_and_the_count() -> None:
    blocks = notice_blocks(NoticeMessage(text="**Planned upgrade: Epic**", ack_notice_id=12, ack_count=1))
    button = blocks[1]["elements"][0]
    assert blocks[0]["text"]["text"] == "*Planned upgrade: Epic*"
    assert button["action_id"] == ACTION_NOTICE_ACK and decode_value(button["value"]) == {"n": "12"}
    assert blocks[2]["elements"][0]["text"] == "1 person got it"


def test_a_message_without_ack_has_no_button() -> None:
    assert [b["type"] for b in notice_blocks(NoticeMessage(text="Resolved"))] == ["section"]


def test_the_count_under_the_button_is_replaced_and_nothing_else() -> None:
    blocks = notice_blocks(NoticeMessage(text="x", ack_notice_id=3, ack_count=0))
    edited = with_count(blocks, 5)
    assert edited[:2] == blocks[:2] and edited[2]["elements"][0]["text"] == "5 people got it"


def test_the_downtime_procedure_is_a_link_and_a_button_to_its_article_page() -> None:
    message = NoticeMessage(
        text="Downtime procedure: [downtime/ehr](/kb/downtime/ehr)",
        ack_notice_id=4,
        procedure_article="downtime/ehr",
    )

    blocks = notice_blocks(message, "https://itbot.example")

    assert (
        blocks[0]["text"]["text"]
        == "Downtime procedure: <https://itbot.example/kb/downtime/ehr|downtime/ehr>"
    )
    [button] = blocks[1]["elements"]
    assert (
        button["action_id"] == ACTION_NOTICE_PROCEDURE
        and button["url"] == "https://itbot.example/kb/downtime/ehr"
    )
    assert blocks[2]["elements"][0]["action_id"] == ACTION_NOTICE_ACK


def test_without_the_public_url_the_procedure_keeps_its_id_and_gets_no_button() -> None:
    message = NoticeMessage(
        text="Downtime procedure: [downtime/ehr](/kb/downtime/ehr)", procedure_article="downtime/ehr"
    )

    blocks = notice_blocks(message)

    assert [b["type"] for b in blocks] == ["section"] and "downtime/ehr" in blocks[0]["text"]["text"]

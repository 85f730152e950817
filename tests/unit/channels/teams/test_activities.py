"""What a Teams activity means: who wrote it, in which conversation, mention removed; and which
service URLs replies may go to."""

from __future__ import annotations

from bot.channels.teams.activities import message_from_activity
from bot.channels.teams.auth import service_url_allowed

BOT = "28:bot"


def activity(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "message",
        "id": "1",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": "29:u", "aadObjectId": "aad-u"},
        "recipient": {"id": BOT},
        "conversation": {"id": "a:chat", "conversationType": "personal", "tenantId": "t"},
        "text": "epic is slow",
    }
    base.update(fields)
    return base


def test_a_personal_message_is_a_stream_keyed_by_its_conversation() -> None:
    message = message_from_activity(activity())
    assert message is not None
    assert (message.thread_key, message.stream, message.user, message.text) == (
        "a:chat",
        True,
        "aad-u",
        "epic is slow",
    )
    assert message.reference["service_url"] == "https://smba.trafficmanager.net/emea/"
    assert message.reference["tenant"] == "t" and message.reference["bot"] == BOT


def test_a_channel_mention_is_a_thread_with_the_mention_removed() -> None:
    mention = {"type": "mention", "text": "<at>itbot</at>", "mentioned": {"id": BOT}}
    conversation = {"id": "19:c@thread.tacv2;messageid=1", "conversationType": "channel"}
    message = message_from_activity(
        activity(text="<at>itbot</at> epic is&nbsp;slow", entities=[mention], conversation=conversation)
    )
    assert message is not None
    assert message.mentioned and not message.stream and message.in_channel_thread
    assert message.text == "epic is slow"


def test_a_mention_of_someone_else_is_not_a_mention_of_the_bot() -> None:
    other = {"type": "mention", "text": "<at>Sam</at>", "mentioned": {"id": "29:sam"}}
    message = message_from_activity(activity(text="<at>Sam</at> lunch?", entities=[other]))
    assert message is not None and not message.mentioned


def test_the_bots_own_messages_updates_and_empty_messages_are_ignored() -> None:
    assert message_from_activity(activity(**{"from": {"id": BOT}})) is None
    assert message_from_activity(activity(type="conversationUpdate")) is None
    assert message_from_activity(activity(text="<at>itbot</at>")) is None


def test_a_card_click_carries_its_data_and_the_card_it_was_on() -> None:
    message = message_from_activity(
        activity(text="", value={"itbot": "stuck", "i": "x"}, replyToId="posted-1")
    )
    assert message is not None and message.click is not None
    assert (message.click.kind, message.click.interaction_id, message.card_id) == ("stuck", "x", "posted-1")


def test_an_adaptive_card_action_invoke_is_a_click_too() -> None:
    value = {"action": {"type": "Action.Execute", "data": {"itbot": "fixed", "i": "y"}}}
    message = message_from_activity(activity(type="invoke", name="adaptiveCard/action", text="", value=value))
    assert message is not None and message.click is not None and message.click.kind == "fixed"


def test_service_urls_are_allowed_by_prefix_at_a_path_boundary() -> None:
    allowed = ("https://smba.trafficmanager.net/", "http://127.0.0.1:5000/connector")
    assert service_url_allowed("https://smba.trafficmanager.net/emea/", allowed)
    assert service_url_allowed("HTTPS://SMBA.trafficmanager.net/amer/", allowed)
    assert service_url_allowed("http://127.0.0.1:5000/connector/", allowed)
    assert not service_url_allowed("http://127.0.0.1:5000/connector-evil/", allowed)
    assert not service_url_allowed("https://smba.trafficmanager.net.evil.example/", allowed)
    assert not service_url_allowed("http://127.0.0.1:5001/connector/", allowed)
    assert not service_url_allowed("", allowed) and not service_url_allowed("::not a url::", allowed)

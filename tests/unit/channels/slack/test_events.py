"""What a Slack payload means: which events are a person's message, where the bot answers, which
deliveries are retries of one another, and which requests are signed by Slack.

Events are built with ``tests/slack_payloads.py`` (Slack's documented shapes), so these tests and the
integration tests speak about the same payloads.
"""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.channels.slack.blocks import reply_blocks
from bot.channels.slack.events import (
    MAX_AGE_SECONDS,
    SlackMessage,
    check_signature,
    delivery_key,
    message_from_event,
    sign,
    strip_mentions,
    thread_key,
)
from bot.core.models import Decision, Reply
from tests.fakes.slack_api import BOT_USER_ID
from tests.slack_payloads import block_action, channel_message, dm, event_body, mention, slash_command

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_800_000_000.0
BODY = b'{"type":"event_callback","event_id":"Ev1"}'
SIGNED = "<the correct signature>"


def read(event: dict[str, Any]) -> SlackMessage | None:
    return message_from_event(event, bot_user_id=BOT_USER_ID)


def message(**fields: Any) -> SlackMessage:
    values: dict[str, Any] = {"channel": "C4WEST", "user": "UNURSE1", "text": "q", "ts": "1800000000.000100"}
    values.update(fields)
    values.setdefault("thread_ts", None)
    values.setdefault("is_dm", values["channel"].startswith("D"))
    return SlackMessage(**values)


# --- which events are a person's message -------------------------------------------------------------------


def test_a_direct_message_is_read_as_a_dm_from_its_author() -> None:
    got = read(dm("citrix frozen on the wow", user="UNURSE1", channel="DNURSE1", ts="1800000000.000001"))

    assert got == SlackMessage(
        channel="DNURSE1",
        user="UNURSE1",
        text="citrix frozen on the wow",
        ts="1800000000.000001",
        thread_ts=None,
        is_dm=True,
    )


def test_a_mention_is_read_without_the_mention() -> None:
    got = read(mention("label printer printing blank", channel="C4WEST"))

    assert got is not None
    assert got.text == "label printer printing blank"
    assert (got.channel, got.is_dm, got.thread_ts) == ("C4WEST", False, None)


def test_a_message_in_a_thread_knows_its_thread() -> None:
    got = read(
        channel_message("what about on the wow?", ts="1800000000.000009", thread_ts="1800000000.000001")
    )

    assert got is not None
    assert got.thread_ts == "1800000000.000001"
    assert got.ts == "1800000000.000009"


def test_the_workspace_is_kept_when_the_event_names_it() -> None:
    got = read(dm("printer offline") | {"team": "T0HOSPITAL"})

    assert got is not None
    assert got.team == "T0HOSPITAL"


def test_a_dm_is_recognised_by_its_channel_when_the_channel_type_is_missing() -> None:
    event = dm("printer offline", channel="D0ABC")
    del event["channel_type"]
    got = read(event)

    assert got is not None
    assert got.is_dm


def test_a_channel_message_is_not_a_dm() -> None:
    got = read(channel_message("printer offline", channel="C4WEST"))

    assert got is not None
    assert not got.is_dm


@pytest.mark.parametrize("subtype", ["file_share", "thread_broadcast"])
def test_a_file_share_or_a_reply_also_sent_to_the_channel_is_still_a_persons_message(subtype: str) -> None:
    got = read(channel_message("screenshot of the error", subtype=subtype))

    assert got is not None
    assert got.text == "screenshot of the error"


@pytest.mark.parametrize(
    "subtype",
    ["message_changed", "message_deleted", "channel_join", "channel_leave", "bot_message", "channel_topic"],
)
def test_edits_deletions_joins_and_other_system_messages_are_ignored(subtype: str) -> None:
    assert read(channel_message("printer offline", subtype=subtype)) is None


def test_the_bots_own_messages_are_ignored() -> None:
    assert read(dm("Here is what I found", user=BOT_USER_ID)) is None


@pytest.mark.parametrize(
    "marker", [{"bot_id": "B0OTHER"}, {"bot_profile": {"id": "B0OTHER", "name": "pager"}}]
)
def test_messages_from_other_bots_are_ignored(marker: dict[str, Any]) -> None:
    assert read(channel_message("ALERT: printer offline", **marker)) is None


@pytest.mark.parametrize("kind", ["reaction_added", "member_joined_channel", "app_home_opened", None])
def test_events_that_are_not_messages_are_ignored(kind: str | None) -> None:
    event = channel_message("printer offline")
    event["type"] = kind
    assert read(event) is None


@pytest.mark.parametrize("field", ["user", "channel", "ts"])
@pytest.mark.parametrize("broken", ["missing", "", 42, None])
def test_a_message_without_a_usable_author_channel_or_ts_is_ignored(field: str, broken: object) -> None:
    event = dm("printer offline")
    if broken == "missing":
        del event[field]
    else:
        event[field] = broken
    assert read(event) is None


def test_an_empty_thread_ts_means_not_in_a_thread() -> None:
    got = read(channel_message("printer offline") | {"thread_ts": ""})

    assert got is not None
    assert got.thread_ts is None


# --- strip_mentions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<@UBOT> citrix frozen", "citrix frozen"),
        ("citrix <@UBOT|itbot> frozen", "citrix frozen"),
        ("  <@UBOT>\n\tcitrix   frozen <@W0GRID>  ", "citrix frozen"),
        ("<@UBOT>", ""),
    ],
)
def test_mentions_are_removed_and_whitespace_collapsed(raw: str, text: str) -> None:
    assert strip_mentions(raw) == text


def test_only_user_mentions_are_removed() -> None:
    text = "printer in <#C4WEST|4-west> see <https://kb.example|kb>"

    assert strip_mentions(text) == text


# --- where the bot answers, and which conversation a message belongs to ----------------------------------


def test_a_top_level_dm_is_answered_alongside_not_in_a_thread() -> None:
    assert message(channel="DNURSE1", is_dm=True).reply_thread is None


def test_a_dm_written_in_a_thread_is_answered_in_that_thread() -> None:
    got = message(channel="DNURSE1", is_dm=True, thread_ts="1800000000.000001", ts="1800000000.000005")

    assert got.reply_thread == "1800000000.000001"


def test_a_top_level_channel_message_starts_a_thread_on_itself() -> None:
    assert message(channel="C4WEST", ts="1800000000.000100").reply_thread == "1800000000.000100"


def test_a_channel_message_in_a_thread_is_answered_in_that_thread() -> None:
    got = message(channel="C4WEST", ts="1800000000.000200", thread_ts="1800000000.000100")

    assert got.reply_thread == "1800000000.000100"


def test_a_mention_and_the_replies_in_its_thread_are_one_conversation() -> None:
    first = message(channel="C4WEST", ts="1800000000.000100")
    reply = message(channel="C4WEST", ts="1800000000.000200", thread_ts="1800000000.000100")

    assert first.thread_key == reply.thread_key == "C4WEST:1800000000.000100"


def test_top_level_dms_are_one_conversation_and_a_dm_thread_is_another() -> None:
    one = message(channel="DNURSE1", is_dm=True, ts="1800000000.000001")
    two = message(channel="DNURSE1", is_dm=True, ts="1800000000.000002")
    threaded = message(channel="DNURSE1", is_dm=True, ts="1800000000.000003", thread_ts="1800000000.000001")

    assert one.thread_key == two.thread_key == "DNURSE1:dm"
    assert threaded.thread_key == "DNURSE1:1800000000.000001"


def test_two_threads_in_one_channel_are_different_conversations() -> None:
    assert thread_key("C4WEST", "1800000000.000100") != thread_key("C4WEST", "1800000000.000200")
    assert thread_key("C4WEST", "1800000000.000100") != thread_key("C5EAST", "1800000000.000100")


# --- delivery_key: one key per Slack delivery, the same on its retries -------------------------------------


def test_an_event_and_its_retry_share_a_key_by_event_id() -> None:
    body = event_body(dm("printer offline"), event_id="Ev0PRINTER")
    retry = event_body(dm("printer offline"), event_id="Ev0PRINTER")

    assert delivery_key(body) == delivery_key(retry) == "slack:event:Ev0PRINTER"


def test_two_events_have_two_keys() -> None:
    assert delivery_key(event_body(dm("a"))) != delivery_key(event_body(dm("a")))


def posted_answer() -> dict[str, Any]:
    reply = Reply(Decision.ANSWER, "Restart it.", actions=("fixed", "stuck"), interaction_id="int-1")
    return {"channel": "DNURSE1", "blocks": reply_blocks(reply)}


def test_a_click_and_its_retry_share_a_key_by_user_time_and_button() -> None:
    click = block_action(posted_answer(), "itbot_fixed", user="UNURSE1")
    action_ts = click["actions"][0]["action_ts"]

    assert delivery_key(click) == delivery_key(dict(click)) == f"slack:action:UNURSE1:{action_ts}:itbot_fixed"


def test_clicks_by_other_people_other_buttons_or_at_other_times_have_other_keys() -> None:
    click = block_action(posted_answer(), "itbot_fixed", user="UNURSE1")
    base = click["actions"][0]
    other_user = click | {"user": {"id": "UNURSE2"}}
    other_button = click | {"actions": [base | {"action_id": "itbot_stuck"}]}
    other_time = click | {"actions": [base | {"action_ts": "1800000001.000000"}]}

    keys = {delivery_key(b) for b in (click, other_user, other_button, other_time)}
    assert len(keys) == 4


def test_a_slash_command_is_keyed_by_its_trigger_id() -> None:
    fields = slash_command("printer offline", response_url="http://127.0.0.1:9/respond")

    assert delivery_key(fields) == f"slack:trigger:{fields['trigger_id']}"


def test_a_modal_submission_is_keyed_by_its_trigger_id() -> None:
    assert delivery_key({"type": "view_submission", "trigger_id": "t123"}) == "slack:trigger:t123"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "url_verification", "challenge": "abc"},
        {"type": "event_callback", "event": {"type": "message"}},
        {"type": "event_callback", "event_id": 12345},
        {"type": "block_actions", "actions": [], "user": {"id": "U1"}, "trigger_id": "t1"},
        {"type": "block_actions", "actions": "nope", "user": {"id": "U1"}},
        {"type": "block_actions", "actions": [{"action_id": "x"}], "user": "U1"},
        {},
    ],
    ids=[
        "url-verification",
        "no-event-id",
        "numeric-event-id",
        "no-actions",
        "odd-actions",
        "odd-user",
        "empty",
    ],
)
def test_a_body_without_a_delivery_id_has_no_key(body: dict[str, Any]) -> None:
    assert delivery_key(body) is None


# --- signatures ---------------------------------------------------------------------------------------------


def check(
    *,
    secret: str = SECRET,
    body: bytes = BODY,
    timestamp: str | None = str(int(NOW)),
    signature: str | None = SIGNED,
    now: float = NOW,
) -> str | None:
    """``check_signature`` with a correct signature unless the test gives another."""
    if signature == SIGNED:
        signature = sign(secret=secret or "x", body=body, timestamp=timestamp or "")
    return check_signature(secret=secret, body=body, timestamp=timestamp, signature=signature, now=now)


def test_a_request_signed_with_the_secret_is_accepted() -> None:
    assert check() is None


def test_the_signature_is_the_one_slack_sends() -> None:
    reference = SignatureVerifier(SECRET).generate_signature(timestamp="1531420618", body=BODY)

    assert sign(secret=SECRET, body=BODY, timestamp="1531420618") == reference


def test_a_signature_is_v0_and_a_hex_sha256() -> None:
    version, digest = sign(secret=SECRET, body=BODY, timestamp="1").split("=")

    assert version == "v0"
    assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


def test_a_request_that_slack_sdk_accepts_is_accepted() -> None:
    ts = str(int(NOW))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=BODY)

    assert check(timestamp=ts, signature=signature) is None


@pytest.mark.parametrize("age", [0, 1, MAX_AGE_SECONDS - 1, MAX_AGE_SECONDS])
@pytest.mark.parametrize("direction", [1, -1], ids=["past", "future"])
def test_a_timestamp_within_five_minutes_either_way_is_accepted(age: int, direction: int) -> None:
    assert check(timestamp=str(int(NOW) - direction * age)) is None


@pytest.mark.parametrize("age", [MAX_AGE_SECONDS + 1, 3600, int(NOW) - 1])
@pytest.mark.parametrize("direction", [1, -1], ids=["replayed", "from-the-future"])
def test_a_timestamp_more_than_five_minutes_away_is_refused_as_stale(age: int, direction: int) -> None:
    assert check(timestamp=str(int(NOW) - direction * age)) == "stale_timestamp"


def test_a_stale_request_is_refused_even_with_a_correct_signature() -> None:
    old = str(int(NOW) - MAX_AGE_SECONDS - 60)

    assert check(timestamp=old, signature=sign(secret=SECRET, body=BODY, timestamp=old)) == "stale_timestamp"


@pytest.mark.parametrize("timestamp", [None, ""])
def test_a_request_without_a_timestamp_is_refused(timestamp: str | None) -> None:
    assert check(timestamp=timestamp) == "missing_timestamp"


@pytest.mark.parametrize("timestamp", ["soon", "-1800000000", "1800000000.5", " 1800000000", "1e9", "9" * 13])
def test_a_timestamp_that_is_not_a_plain_number_is_refused_as_malformed(timestamp: str) -> None:
    assert check(timestamp=timestamp) == "malformed_timestamp"


@pytest.mark.parametrize("timestamp", ["1800000000²", "¹²³"])
def test_a_timestamp_of_superscript_digits_is_refused_as_malformed_not_an_error(timestamp: str) -> None:
    # Headers are read as Latin-1, which has ¹ ² ³: str.isdigit() says yes, int() says no.
    assert check(timestamp=timestamp) == "malformed_timestamp"


@pytest.mark.parametrize("signature", [None, ""])
def test_a_request_without_a_signature_is_refused(signature: str | None) -> None:
    assert check(signature=signature) == "missing_signature"


@pytest.mark.parametrize(
    "signature",
    [
        sign(secret="another-apps-secret", body=BODY, timestamp=str(int(NOW))),
        sign(secret=SECRET, body=BODY, timestamp=str(int(NOW) - 1)),
        sign(secret=SECRET, body=BODY, timestamp=str(int(NOW))).replace("v0=", "v1="),
        sign(secret=SECRET, body=BODY, timestamp=str(int(NOW))).upper(),
        "v0=" + "0" * 64,
        "v0=ünïcödé",
    ],
    ids=["other-secret", "other-timestamp", "other-version", "upper-case", "zeros", "non-ascii"],
)
def test_a_signature_that_does_not_match_is_refused(signature: str) -> None:
    assert check(signature=signature) == "bad_signature"


def test_a_body_changed_after_signing_is_refused() -> None:
    signature = sign(secret=SECRET, body=BODY, timestamp=str(int(NOW)))

    assert check(body=BODY + b" ", signature=signature) == "bad_signature"


def test_without_a_signing_secret_every_request_is_refused() -> None:
    assert (
        check(secret="", signature=sign(secret="", body=BODY, timestamp=str(int(NOW)))) == "no_signing_secret"
    )


def test_the_timestamp_is_judged_before_the_signature() -> None:
    assert check(timestamp="soon", signature=None) == "malformed_timestamp"
    assert check(timestamp=str(int(NOW) - 3600), signature="v0=bad") == "stale_timestamp"

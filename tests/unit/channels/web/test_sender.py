"""IT's messages in a web conversation: ids, cursors, and what the sender says when it can't deliver."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.channels.web.sender import (
    MAX_SEQ,
    WebChatSender,
    is_conversation_id,
    it_messages,
    next_seq,
)
from bot.conversations.models import Conversation
from bot.tickets.delivery import DeliveryError

CONVERSATION = "web-" + "5e" * 16
SEND = {"text": "hi", "actions": [], "ticket_number": "IT-000001", "kind": "requester"}


def conversation(*turns: dict[str, Any]) -> Conversation:
    return Conversation(channel="web", thread_key=CONVERSATION, turns=list(turns))


def it_turn(seq: object, text: str = "reply", ticket: str = "IT-000001") -> dict[str, Any]:
    return {"role": "it", "text": text, "seq": seq, "ticket": ticket, "at": "2026-01-05T10:00:00+00:00"}


class DownSession:
    """A session whose database is unreachable."""

    def __enter__(self) -> DownSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def exec(self, *_args: object, **_kwargs: object) -> None:
        raise OperationalError("select", {}, Exception("connection refused"))


def unused_sessions() -> Session:
    raise AssertionError("the database should not be touched")


@pytest.mark.parametrize(
    "value",
    [CONVERSATION, "web-" + "0" * 32, "web-" + "abcdef0123456789" * 2],
)
def test_conversation_ids_are_web_and_32_lowercase_hex_digits(value: str) -> None:
    assert is_conversation_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "web-",
        "web-" + "A" * 32,
        "web-" + "a" * 31,
        "web-" + "a" * 33,
        "slack-" + "a" * 32,
        " " + CONVERSATION,
        CONVERSATION + "\n",
        None,
        5,
        ["web-" + "a" * 32],
    ],
)
def test_anything_else_is_not_a_conversation_id(value: object) -> None:
    assert not is_conversation_id(value)


def test_only_it_turns_after_the_cursor_are_messages_oldest_first() -> None:
    stored = conversation(
        {"role": "user", "text": "printer jammed", "seq": 99},
        it_turn(30, "third"),
        it_turn(10, "first"),
        {"role": "bot", "decision": "escalate"},
        it_turn(20, "second"),
        it_turn("40", "a cursor that is not a number"),
        it_turn(True, "nor is a boolean"),
    )

    assert [m.text for m in it_messages(stored)] == ["first", "second", "third"]
    assert [m.index for m in it_messages(stored, after=10)] == [20, 30]
    assert it_messages(stored, after=30) == []
    assert it_messages(None) == []


def test_the_next_cursor_follows_the_newest_kept_reply_and_never_falls_behind_the_clock() -> None:
    assert next_seq(conversation(), now_ms=1_000) == 1_000
    assert next_seq(conversation(it_turn(5_000)), now_ms=1_000) == 5_001
    assert next_seq(conversation(it_turn(5_000)), now_ms=9_000) == 9_000
    # Every earlier reply dropped from the conversation: the clock still moves the cursor on.
    assert next_seq(conversation({"role": "user", "text": "x"}), now_ms=9_000) == 9_000
    assert next_seq(conversation(it_turn(MAX_SEQ)), now_ms=1) == MAX_SEQ


def test_a_reply_to_without_a_web_conversation_is_refused_for_good() -> None:
    sender = WebChatSender(unused_sessions)

    for reply_to in ({}, {"channel": "C123", "thread_ts": "1.2"}, {"conversation": "web-nope"}):
        with pytest.raises(DeliveryError) as refused:
            sender.send(reply_to=reply_to, **SEND)  # type: ignore[arg-type]
        assert refused.value.permanent and refused.value.code == "no_conversation"


def test_a_database_outage_is_a_retry_later_not_a_dead_letter() -> None:
    sender = WebChatSender(lambda: cast(Session, DownSession()))

    with pytest.raises(DeliveryError) as down:
        sender.send(reply_to={"conversation": CONVERSATION}, **SEND)  # type: ignore[arg-type]

    assert down.value.unavailable and not down.value.permanent
    assert down.value.code == "OperationalError"

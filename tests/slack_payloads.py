"""Slack deliveries as tests send them: event, button-click and slash-command bodies, signed.

Shapes follow Slack's documented payloads, trimmed to the fields itbot reads plus a few it ignores.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from typing import Any

import httpx

from bot.channels.slack.events import sign
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"

_ids = itertools.count(1)


def next_ts() -> str:
    """A fresh message ts."""
    return f"1800000000.{next(_ids):06d}"


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An Events API ``event_callback`` around ``event``."""
    return {
        "token": "unused",
        "team_id": TEAM_ID,
        "api_app_id": "A0ITBOT",
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        "event": event,
    }


def _event(
    kind: str, text: str, *, user: str, channel: str, ts: str | None, thread_ts: str | None, **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts or next_ts(),
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(
    text: str,
    *,
    user: str = "UNURSE1",
    channel: str = "DNURSE1",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A direct-message ``message`` event."""
    return _event("message", text, user=user, channel=channel, ts=ts, thread_ts=thread_ts, channel_type="im")


def mention(
    text: str,
    *,
    user: str = "UNURSE1",
    channel: str = "C4WEST",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """An ``app_mention`` event in a channel."""
    return _event(
        "app_mention", f"<@{BOT_USER_ID}> {text}", user=user, channel=channel, ts=ts, thread_ts=thread_ts
    )


def channel_message(
    text: str,
    *,
    user: str = "UNURSE1",
    channel: str = "C4WEST",
    ts: str | None = None,
    thread_ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A ``message`` event in a channel (in a thread when ``thread_ts`` is given)."""
    return _event(
        "message",
        text,
        user=user,
        channel=channel,
        ts=ts,
        thread_ts=thread_ts,
        channel_type="channel",
        **extra,
    )


def block_action(
    posted: dict[str, Any], action_id: str, *, user: str = "UNURSE1", message_ts: str = "1700000000.000001"
) -> dict[str, Any]:
    """A ``block_actions`` payload: ``user`` clicked ``action_id`` on the message the bot ``posted``."""
    button = next(
        e
        for b in posted["blocks"]
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    message = {
        "type": "message",
        "ts": message_ts,
        "text": posted.get("text", ""),
        "blocks": posted["blocks"],
    }
    container = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    if posted.get("thread_ts"):
        message["thread_ts"] = posted["thread_ts"]
        container["thread_ts"] = posted["thread_ts"]
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": user},
        "api_app_id": "A0ITBOT",
        "container": container,
        "trigger_id": f"trig{next(_ids)}",
        "channel": {"id": posted["channel"]},
        "message": message,
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "itbot_actions",
                "value": button["value"],
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def slash_command(
    text: str, *, response_url: str, user: str = "UNURSE1", channel: str = "C4WEST"
) -> dict[str, str]:
    """The form fields of a ``/itbot`` slash command."""
    return {
        "token": "unused",
        "team_id": TEAM_ID,
        "channel_id": channel,
        "user_id": user,
        "command": "/itbot",
        "text": text,
        "response_url": response_url,
        "trigger_id": f"trig{next(_ids)}",
        "api_app_id": "A0ITBOT",
    }


def signed_headers(
    body: bytes,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The headers Slack sends with ``body``: timestamp and signature."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": sign(secret=secret, body=body, timestamp=ts),
    }


def encode_event(body: dict[str, Any]) -> bytes:
    """An Events API body as bytes."""
    return json.dumps(body).encode()


def encode_interaction(payload: dict[str, Any]) -> bytes:
    """A button click as Slack sends it: a form with one ``payload`` field of JSON."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def encode_form(fields: dict[str, str]) -> bytes:
    """A slash command as Slack sends it: form fields."""
    return urllib.parse.urlencode(fields).encode()


def post_event(client: httpx.Client, base_url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    """POST a signed event to ``/slack/events``."""
    raw = encode_event(body)
    return client.post(f"{base_url}/slack/events", content=raw, headers={**signed_headers(raw), **headers})


def post_interaction(client: httpx.Client, base_url: str, payload: dict[str, Any]) -> httpx.Response:
    """POST a signed button click to ``/slack/events``."""
    raw = encode_interaction(payload)
    headers = signed_headers(raw, content_type="application/x-www-form-urlencoded")
    return client.post(f"{base_url}/slack/events", content=raw, headers=headers)


def post_command(client: httpx.Client, base_url: str, fields: dict[str, str]) -> httpx.Response:
    """POST a signed slash command to ``/slack/events``."""
    raw = encode_form(fields)
    headers = signed_headers(raw, content_type="application/x-www-form-urlencoded")
    return client.post(f"{base_url}/slack/events", content=raw, headers=headers)

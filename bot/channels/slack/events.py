"""What a Slack payload means, as plain values. Pure functions: no client, no database.

The adapter answers a message when it is a direct message to the bot, a mention of the bot, or a
message in a thread the bot is already part of. Everything else is ignored here: messages from bots
(the bot itself included), edits and deletions, joins and other system subtypes. A message with no
text left (a bare mention) is still a message: the core asks what is wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

SIGNATURE_VERSION = "v0"
MAX_AGE_SECONDS = 5 * 60

# Slack's own bodies nest a dozen levels (rich text in blocks in a message); far deeper is an attack.
MAX_BODY_DEPTH = 64

# Subtypes that are still a person writing to the bot; every other subtype is a system event.
_PERSON_SUBTYPES = frozenset({"", "file_share", "thread_broadcast"})
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


@dataclass(frozen=True)
class SlackMessage:
    """A message a person sent, as the adapter needs it.

    ``thread_ts`` is the thread's root when the message is in a thread; ``is_dm`` is a direct message
    to the bot.
    """

    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str | None
    is_dm: bool
    team: str = ""

    @property
    def reply_thread(self) -> str | None:
        """Where the bot answers: in the message's thread, or starting one in a channel; in a DM,
        alongside unless the person wrote in a thread."""
        if self.thread_ts:
            return self.thread_ts
        return None if self.is_dm else self.ts

    @property
    def thread_key(self) -> str:
        """The conversation this message belongs to (see ``thread_key``)."""
        return thread_key(self.channel, self.reply_thread)


def thread_key(channel: str, thread_ts: str | None) -> str:
    """A conversation's key: the channel and its thread, or the DM itself for top-level DM messages."""
    return f"{channel}:{thread_ts}" if thread_ts else f"{channel}:dm"


def unescape(text: str) -> str:
    """Slack's message text with its three escapes (``&amp;``, ``&lt;``, ``&gt;``) turned back.

    ``<`` and ``>`` are unescaped before ``&``, so "&amp;lt;" (a person typing "&lt;") stays "&lt;".
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def strip_mentions(text: str) -> str:
    """``text`` without ``<@U…>`` mentions, whitespace collapsed."""
    return " ".join(_MENTION.sub(" ", text).split())


def message_from_event(event: Mapping[str, Any], *, bot_user_id: str) -> SlackMessage | None:
    """The person's message in a ``message`` or ``app_mention`` event, or None when the bot must ignore it."""
    if event.get("type") not in ("message", "app_mention"):
        return None
    if str(event.get("subtype") or "") not in _PERSON_SUBTYPES:
        return None
    user = event.get("user")
    if not isinstance(user, str) or not user or user == bot_user_id:
        return None
    if event.get("bot_id") or event.get("bot_profile"):
        return None
    channel, ts = event.get("channel"), event.get("ts")
    if not isinstance(channel, str) or not isinstance(ts, str) or not channel or not ts:
        return None
    raw = event.get("text")
    text = unescape(strip_mentions(raw)) if isinstance(raw, str) else ""
    thread = event.get("thread_ts")
    is_dm = event.get("channel_type") == "im" or channel.startswith("D")
    team = event.get("team")
    return SlackMessage(
        channel=channel,
        user=user,
        text=text,
        ts=ts,
        thread_ts=thread if isinstance(thread, str) and thread else None,
        is_dm=is_dm,
        team=team if isinstance(team, str) else "",
    )


def delivery_key(body: Mapping[str, Any]) -> str | None:
    """The id Slack gives this delivery, the same on every retry of it; None when it has none.

    Events carry ``event_id``; a button click is one ``action_ts`` of one user; a slash command and a
    modal submission carry a ``trigger_id``.
    """
    kind = body.get("type")
    if kind == "event_callback" and isinstance(body.get("event_id"), str):
        return f"slack:event:{body['event_id']}"
    if kind == "block_actions":
        actions = body.get("actions")
        user = body.get("user", {})
        if isinstance(actions, list) and actions and isinstance(actions[0], dict) and isinstance(user, dict):
            clicked = actions[0]
            who, when = user.get("id", ""), clicked.get("action_ts", "")
            return f"slack:action:{who}:{when}:{clicked.get('action_id', '')}"
        return None
    if isinstance(body.get("trigger_id"), str):
        return f"slack:trigger:{body['trigger_id']}"
    return None


def check_signature(
    *, secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> str | None:
    """Why a request is not from Slack, or None when its signature and timestamp hold.

    Slack signs ``v0:<timestamp>:<body>`` with the app's signing secret (HMAC-SHA256). A missing or
    non-numeric timestamp, one more than five minutes from ``now`` either way (a replay), a missing
    signature, or a signature that does not match is refused; the comparison takes constant time.
    """
    if not secret:
        return "no_signing_secret"
    if not timestamp:
        return "missing_timestamp"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "malformed_timestamp"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "stale_timestamp"
    if not signature:
        return "missing_signature"
    expected = sign(secret=secret, body=body, timestamp=timestamp)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "bad_signature"
    return None


def sign(*, secret: str, body: bytes, timestamp: str) -> str:
    """The ``X-Slack-Signature`` Slack would send for ``body`` at ``timestamp``."""
    base = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def body_problem(body: str, content_type: str | None) -> str | None:
    """What is wrong with a delivery's body, as a word for the log, or None when bolt can read it.

    Read as bolt reads it: JSON when the type is ``application/json`` or the body starts with ``{``;
    otherwise a form, whose ``payload`` field (button clicks, modals) holds JSON. The JSON must be an
    object nested at most ``MAX_BODY_DEPTH`` deep, whose fields bolt reads have the types Slack sends.
    Problems: ``invalid_json``, ``invalid_payload_json``, ``not_an_object``, ``too_deep``,
    ``wrong_shape``. An empty body or a plain form (a slash
    command) is no problem here.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not body:
        return None
    if media == "application/json" or body.startswith("{"):
        text, invalid = body, "invalid_json"
    elif "payload" in body:
        payload = dict(parse_qsl(body, keep_blank_values=True)).get("payload")
        if payload is None:
            return None
        text, invalid = payload, "invalid_payload_json"
    else:
        return None
    try:
        document = json.loads(text)
    except RecursionError:
        return "too_deep"
    except ValueError:
        return invalid
    if not isinstance(document, dict):
        return "not_an_object"
    if _deeper_than(document, MAX_BODY_DEPTH):
        return "too_deep"
    return None if _typed_as_slack_sends(document) else "wrong_shape"


# The fields bolt's matchers and our handlers read, by the type Slack sends them as (null = absent):
# one of another type (``"event": "x"``, ``"actions": "x"``) would fail deep inside bolt.
_TOP_FIELDS: dict[str, type] = {
    "type": str,
    "token": str,
    "team_id": str,
    "api_app_id": str,
    "callback_id": str,
    "trigger_id": str,
    "response_url": str,
    "event": dict,
    "team": dict,
    "enterprise": dict,
    "user": dict,
    "channel": dict,
    "container": dict,
    "message": dict,
    "view": dict,
    "actions": list,
    "authorizations": list,
}
_ITEM_FIELDS: dict[str, dict[str, type]] = {
    "event": {"type": str, "subtype": str, "channel": str, "ts": str, "thread_ts": str, "channel_type": str},
    "view": {"id": str, "type": str, "callback_id": str, "private_metadata": str, "state": dict},
    "actions": {"type": str, "action_id": str, "block_id": str, "value": str},
    "authorizations": {"team_id": str, "user_id": str, "enterprise_id": str},
}


def _typed_as_slack_sends(document: dict[str, Any]) -> bool:
    for name, kind in _TOP_FIELDS.items():
        value = document.get(name)
        if value is not None and not isinstance(value, kind):
            return False
    for name, fields in _ITEM_FIELDS.items():
        value = document.get(name)
        items = value if isinstance(value, list) else [value] if value is not None else []
        for item in items:
            if not isinstance(item, dict):
                return False
            if any(item.get(f) is not None and not isinstance(item.get(f), k) for f, k in fields.items()):
                return False
    return True


def _deeper_than(document: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False

"""Teams activities as the Bot Connector delivers them, and a helper that posts them signed."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.fakes.teams import BOT_ID, TENANT_ID, FakeTeams

_ids = itertools.count(1)
NURSE = "29:nurse-1"
NURSE_AAD = "aad-nurse-1"


def _base(
    teams: FakeTeams, conversation: dict[str, Any], *, user: str = NURSE, aad: str = NURSE_AAD
) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"act-{next(_ids)}",
        "timestamp": "2026-12-04T03:00:00.000Z",
        "serviceUrl": teams.service_url,
        "channelId": "msteams",
        "from": {"id": user, "name": "A Nurse", "aadObjectId": aad},
        "conversation": conversation,
        "recipient": {"id": BOT_ID, "name": "itbot"},
        "channelData": {"tenant": {"id": TENANT_ID}},
        "locale": "en-US",
    }


def personal(teams: FakeTeams, text: str, *, chat: str = "a:personal-nurse-1", **who: str) -> dict[str, Any]:
    """A message in a personal chat with the bot."""
    conversation = {"id": chat, "conversationType": "personal", "tenantId": TENANT_ID}
    return {**_base(teams, conversation, **who), "text": text, "textFormat": "plain"}


def channel_post(
    teams: FakeTeams,
    text: str,
    *,
    root: str | None = None,
    mention: bool = True,
    channel: str = "19:ward4@thread.tacv2",
) -> dict[str, Any]:
    """A message in a Teams channel: a new post (``root`` None: its own id is the thread's root) or
    a reply in the thread of ``root``; ``mention`` puts ``<at>itbot</at>`` in front."""
    activity = _base(teams, {})
    thread_root = root or activity["id"]
    activity["conversation"] = {
        "id": f"{channel};messageid={thread_root}",
        "conversationType": "channel",
        "isGroup": True,
        "tenantId": TENANT_ID,
    }
    activity["channelData"]["channel"] = {"id": channel}
    if mention:
        activity["text"] = f"<at>itbot</at> {text}"
        activity["entities"] = [
            {"type": "mention", "text": "<at>itbot</at>", "mentioned": {"id": BOT_ID, "name": "itbot"}}
        ]
    else:
        activity["text"] = text
    return activity


def group_chat(teams: FakeTeams, text: str, *, mention: bool = True) -> dict[str, Any]:
    """A message in a group chat the bot is a member of."""
    conversation = {"id": "19:group-chat-1@thread.v2", "conversationType": "groupChat", "isGroup": True}
    activity = _base(teams, conversation)
    activity["text"] = f"<at>itbot</at> {text}" if mention else text
    if mention:
        activity["entities"] = [
            {"type": "mention", "text": "<at>itbot</at>", "mentioned": {"id": BOT_ID, "name": "itbot"}}
        ]
    return activity


def click(teams: FakeTeams, posted: Any, data: dict[str, str], *, like: dict[str, Any]) -> dict[str, Any]:
    """A click on the card ``posted`` (a ``ConnectorCall``): an Action.Submit message with its data,
    in the conversation of ``like`` (the activity the card answered)."""
    activity = _base(teams, dict(like["conversation"]))
    activity["replyToId"] = posted.posted_id
    activity["value"] = dict(data)
    return activity


def button_data(posted: Any, title: str) -> dict[str, str]:
    """The data of the card's button titled ``title``."""
    for action in posted.card.get("actions", []):
        if action.get("title") == title:
            return dict(action["data"])
    raise AssertionError(f"no button {title!r} on the card: {posted.buttons}")


def post_activity(
    http: httpx.Client,
    server_url: str,
    teams: FakeTeams,
    activity: dict[str, Any],
    *,
    token: str | None = None,
) -> httpx.Response:
    """POST ``activity`` to ``/api/messages`` with a valid channel token (or ``token``; "" for none)."""
    bearer = teams.token(service_url=activity["serviceUrl"]) if token is None else token
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return http.post(f"{server_url}/api/messages", json=activity, headers=headers)

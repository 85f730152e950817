"""The Slack app manifest asks for what the handlers use: these events, these scopes, one URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).resolve().parents[4] / "slack" / "manifest.yml"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def test_it_subscribes_to_mentions_dms_thread_messages_and_the_app_home() -> None:
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]

    assert sorted(events) == sorted(
        ["app_mention", "message.im", "message.channels", "message.groups", "app_home_opened"]
    )


def test_it_asks_for_exactly_the_scopes_those_events_and_replies_need() -> None:
    scopes = manifest()["oauth_config"]["scopes"]["bot"]

    assert sorted(scopes) == sorted(
        [
            "app_mentions:read",
            "chat:write",
            "im:history",
            "channels:history",
            "groups:history",
            "commands",
            "reactions:write",
            "users:read",
            # /itbot-notice: only members of the triage channel or the IT user group may post
            "channels:read",
            "groups:read",
            "usergroups:read",
        ]
    )


def test_events_buttons_and_the_slash_command_all_go_to_slack_events() -> None:
    loaded = manifest()
    urls = [
        loaded["settings"]["event_subscriptions"]["request_url"],
        loaded["settings"]["interactivity"]["request_url"],
        *(command["url"] for command in loaded["features"]["slash_commands"]),
    ]

    assert all(url.endswith("/slack/events") for url in urls)
    assert [c["command"] for c in loaded["features"]["slash_commands"]] == ["/itbot", "/itbot-notice"]
    assert loaded["features"]["app_home"]["home_tab_enabled"] is True

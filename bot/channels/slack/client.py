"""The Slack Web API client itbot uses, and posting with ids-only logging (shared by the handlers,
the triage handlers and the worker's sender)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from bot.config import Settings
from bot.interactions.recording import log_failure

log = logging.getLogger("bot.channels.slack.app")


def quiet_logger(name: str) -> logging.Logger:
    """A logger for the Slack SDKs that passes errors only: their debug and warning lines quote payloads."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.ERROR)
    return logger


def make_client(settings: Settings) -> WebClient:
    """A ``WebClient`` for ``settings.slack_api_url`` that retries 429 (after Retry-After), 5xx and
    connection errors."""
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        logger=quiet_logger("itbot.slack.sdk"),
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    return client


def post_message(
    client: WebClient,
    channel: str,
    thread_ts: str | None,
    text: str,
    blocks: list[dict[str, Any]],
    interaction_id: str | None,
) -> str | None:
    """Post a message (the client retries 429s and 5xx); its ts, or None after logging ids on failure."""
    try:
        response = client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except (SlackApiError, SlackClientError, OSError) as exc:
        log_failure(
            log,
            "slack_post_failed",
            exc,
            channel=channel,
            thread_ts=thread_ts or "-",
            interaction_id=interaction_id or "-",
        )
        return None
    ts = response.get("ts")
    log.info(
        "event=slack_posted channel=%s thread_ts=%s ts=%s interaction_id=%s",
        channel,
        thread_ts or "-",
        ts,
        interaction_id or "-",
    )
    return str(ts) if ts else None


def add_reaction(client: WebClient, channel: str, ts: str, name: str) -> None:
    """Add the reaction ``name`` to a message; a failure is logged with ids and otherwise ignored."""
    try:
        client.reactions_add(channel=channel, timestamp=ts, name=name)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log_failure(log, "slack_reaction_failed", exc, channel=channel, ts=ts)

"""Socket Mode: the same Slack handlers over an outbound WebSocket, for hospitals that cannot expose a
public URL to Slack (``itbot slack socket``).

Slack pushes each delivery over the socket and the handler acknowledges it there; signatures are not
involved (the app-level token authenticates the connection). Everything else (the bolt app, the
once-only claims in the database, the replies) is exactly what ``/slack/events`` runs.
"""

from __future__ import annotations

import logging
import threading

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from bot.channels.slack.app import SlackRuntime
from bot.channels.slack.client import quiet_logger
from bot.config import Settings

log = logging.getLogger(__name__)


def connect_socket_mode(settings: Settings, runtime: SlackRuntime) -> SocketModeHandler:
    """Open the Socket Mode connection for ``runtime``'s app with ``SLACK_APP_TOKEN``; returns at once.

    The connection is asked for at ``settings.slack_api_url`` (``apps.connections.open``) and
    reconnects by itself when Slack rotates it. Close it with ``handler.close()``.
    """
    if not settings.slack_app_token:
        raise ValueError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...).")
    opener = WebClient(base_url=settings.slack_api_url, logger=quiet_logger("itbot.slack.sdk"))
    handler = SocketModeHandler(
        runtime.app,
        app_token=settings.slack_app_token,
        web_client=opener,
        logger=quiet_logger("itbot.slack.socket"),
    )
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("event=slack_socket_connected")
    return handler


def serve_socket_mode(settings: Settings, runtime: SlackRuntime, stop: threading.Event) -> None:
    """Stay connected until ``stop`` is set, then close the socket and finish the answers in flight."""
    handler = connect_socket_mode(settings, runtime)
    try:
        stop.wait()
    finally:
        handler.close()  # type: ignore[no-untyped-call]
        runtime.close()
        log.info("event=slack_socket_closed")

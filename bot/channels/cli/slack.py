"""``itbot slack socket``: run the Slack bot over Socket Mode, without a public URL."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_OK = 0
EXIT_SETUP = 2


def add_parser(sub: Any) -> None:
    """Register ``itbot slack ...`` on the CLI's subparsers."""
    p_slack = sub.add_parser("slack", help="run the Slack bot without a public URL (Socket Mode)")
    slack_sub = p_slack.add_subparsers(dest="slack_command", required=True)
    slack_sub.add_parser("socket", help="connect to Slack over Socket Mode (needs SLACK_APP_TOKEN)")


def run(settings: Settings, _args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Connect over Socket Mode and answer until SIGINT/SIGTERM; exit 2 when set-up is missing."""
    missing = [
        name
        for name, value in (
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("SLACK_APP_TOKEN", settings.slack_app_token),
        )
        if not value
    ]
    if missing:
        print(f"itbot slack socket: set {' and '.join(missing)} first (see README, Slack).", file=err)
        return EXIT_SETUP
    from bot.channels.slack.app import build_slack_app
    from bot.channels.slack.socket_mode import serve_socket_mode
    from bot.core.assistant import Assistant
    from bot.db import create_db_engine, init_db, session_factory

    assistant = Assistant(settings)
    assistant.refresh()
    if not assistant.ready:
        print(f"itbot: {assistant.load_error}", file=err)
        return EXIT_SETUP
    engine = create_db_engine(settings)
    init_db(settings, engine=engine)
    runtime = build_slack_app(settings, assistant=assistant, sessions=session_factory(engine))
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    poller = threading.Thread(
        target=_poll_index, args=(assistant, settings.index_poll_seconds, stop), daemon=True
    )
    poller.start()
    print("Connected to Slack over Socket Mode. Ctrl-C to stop.", file=out, flush=True)
    try:
        serve_socket_mode(settings, runtime, stop)
    finally:
        engine.dispose()
    return EXIT_OK


def _poll_index(assistant: Any, every_seconds: float, stop: threading.Event) -> None:
    """Swap in a rebuilt index while connected (a failing refresh is tried again next time)."""
    while not stop.wait(every_seconds):
        try:
            assistant.refresh()
        except Exception:  # keep polling whatever one refresh did
            continue

"""Serve the app with the fake assistant in a process of its own, for tests that need two servers.

    python -m tests.app_process PORT [fake|indexed]

Settings come from the environment (``ITBOT_HOME``, ``DATABASE_URL``, ``SLACK_*``), as in production;
only the assistant is a test one: the deterministic fake (no index or model needed), or with
``indexed`` the real assistant with the hashing encoder over the index in ``ITBOT_HOME`` (built by
the test with the same encoder).
"""

from __future__ import annotations

import sys

import uvicorn

from bot.config import Settings
from bot.main import create_app
from tests.fakes.assistant import FakeAssistant


def main() -> None:
    """Serve on 127.0.0.1 at the port given as the only argument until terminated."""
    port = int(sys.argv[1])
    settings = Settings()
    if sys.argv[2:] == ["indexed"]:
        from bot.core.assistant import Assistant
        from indexer.encoder import HashingEncoder
        from tests.console_client import HASHING_POLICY

        app = create_app(
            settings, assistant=Assistant(settings, encoder=HashingEncoder(), policy=HASHING_POLICY)
        )
    else:
        app = create_app(settings, assistant=FakeAssistant())
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()

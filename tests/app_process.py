"""Serve the app with the fake assistant in a process of its own, for tests that need two servers.

    python -m tests.app_process PORT

Settings come from the environment (``ITBOT_HOME``, ``DATABASE_URL``, ``SLACK_*``), as in production;
only the assistant is the deterministic fake, so no index or model is needed.
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
    app = create_app(Settings(), assistant=FakeAssistant())
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()

"""A fake Socket Mode endpoint: a WebSocket server the bot connects to, and that pushes envelopes.

Pair it with ``FakeSlackApi(socket_url=...)``: ``apps.connections.open`` hands the bot this server's
URL. ``push(body)`` sends an Events API body in an envelope; the bot's acknowledgements (the envelope
ids it sends back) are collected in ``acks``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from types import TracebackType
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


class FakeSocketMode:
    """The WebSocket side of Socket Mode; a context manager."""

    def __init__(self) -> None:
        self.acks: list[str] = []
        self._connections: list[ServerConnection] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: Server | None = None

    def __enter__(self) -> FakeSocketMode:
        self._server = serve(self._session, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, name="fake-socket-mode", daemon=True).start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()

    @property
    def url(self) -> str:
        """The ``wss://`` URL Slack would hand out (here plain ``ws://`` on loopback)."""
        assert self._server is not None
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Wait until the bot has connected."""
        deadline = time.monotonic() + timeout
        while not self._connections:
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not connect over Socket Mode")
            time.sleep(0.02)

    def push(self, body: dict[str, Any], *, kind: str = "events_api") -> str:
        """Send ``body`` to the connected bot in an envelope; the envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": body}
        envelope["accepts_response_payload"] = False
        with self._lock:
            connection = self._connections[-1]
        connection.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> None:
        """Wait until the bot acknowledged ``envelope_id``."""
        deadline = time.monotonic() + timeout
        while envelope_id not in self.acks:
            if time.monotonic() > deadline:
                raise AssertionError(f"no ack for {envelope_id}; acks: {self.acks}")
            time.sleep(0.02)

    def _session(self, connection: ServerConnection) -> None:
        with self._lock:
            self._connections.append(connection)
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        try:
            for message in connection:
                decoded = json.loads(message)
                if isinstance(decoded, dict) and "envelope_id" in decoded:
                    self.acks.append(str(decoded["envelope_id"]))
        except ConnectionClosed:
            return

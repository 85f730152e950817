"""Run an ASGI app with uvicorn on a free loopback port in a background thread, for tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI


@dataclass(frozen=True)
class LiveServer:
    """A running server: its app (to read ``app.state``) and its base URL."""

    app: FastAPI
    url: str


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: FastAPI, *, start_timeout: float = 20.0) -> Iterator[LiveServer]:
    """Serve ``app`` until the block ends; waits until uvicorn has started (lifespan included)."""
    port = free_port()
    # log_config=None: leave logging alone, so caplog sees every record the server writes.
    # proxy_headers=False as `itbot serve` runs it: the app sees the socket peer, whatever a client
    # writes in X-Forwarded-For (ITBOT_TRUSTED_PROXIES decides whom to believe).
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", ws="none", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)

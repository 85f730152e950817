"""``itbot run``: the web server and the worker together, for a single machine (``make run``).

Each runs as its own child process (``itbot serve`` and ``itbot worker``), exactly as the Procfile's
``web`` and ``worker`` run in production, in a process group of its own, so Ctrl-C reaches this
process alone and each child is told to stop once, with SIGTERM, and stops gracefully. When either
child ends by itself the other is stopped too: a single-machine install never keeps answering while
IT's replies silently stop reaching the chat. On Linux a child also stops when this process dies
without stopping it (killed with SIGKILL, say): nothing is left listening on the port.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
# How long a child may take to stop after SIGTERM before it is killed.
STOP_SECONDS = 15.0
# How long the web server may take to listen (it migrates the database first).
START_SECONDS = 120.0


def add_parser(sub: Any) -> None:
    """Register ``itbot run`` on the CLI's subparsers."""
    p_run = sub.add_parser("run", help="run the web server and the worker together until Ctrl-C")
    p_run.add_argument("--host", default="127.0.0.1")
    p_run.add_argument("--port", type=int, default=8000)


def child_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each child, by the name it is reported with."""
    itbot = [sys.executable, "-m", "bot.channels.cli.main"]
    return {
        "web server": [*itbot, "serve", "--host", args.host, "--port", str(args.port)],
        "worker": [*itbot, "worker"],
    }


def run(args: argparse.Namespace, _out: TextIO, err: TextIO) -> int:
    """Start the web server and the worker; stop both on SIGINT/SIGTERM or when one of them ends.

    The worker starts once the web server listens: the server migrates the database first, and a
    worker polling a database without its tables would only log failures meanwhile. Returns 0 when
    stopped by a signal and both children stopped cleanly, else 1 (saying on ``err`` which child
    ended and with what code).
    """
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        commands = child_commands(args)
        children["web server"] = _start(commands["web server"])
        ended = _wait_for_listening(stop, children, args.host, args.port)
        if ended is None and not stop.is_set():
            children["worker"] = _start(commands["worker"])
            ended = _wait_for_stop_or_end(stop, children)
        if ended is not None:
            code = children[ended].returncode
            others = " and ".join(n for n in children if n != ended)
            print(f"itbot run: the {ended} ended with exit code {code}; stopping the {others}.", file=err)
        codes = _stop_all(children)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if ended is not None:
        return EXIT_FAILED
    return EXIT_OK if all(code in _CLEAN_EXITS for code in codes.values()) else EXIT_FAILED


# uvicorn raises the signal it stopped for again once it has shut down cleanly.
_CLEAN_EXITS = (0, -signal.SIGTERM)


def _wait_for_listening(
    stop: threading.Event, children: dict[str, subprocess.Popen[bytes]], host: str, port: int
) -> str | None:
    """Wait until the web server accepts connections (None), ``stop`` is set (None), or a child
    ends by itself (its name); give up waiting after `START_SECONDS` (None: the worker starts)."""
    address = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and not stop.is_set():
        for name, child in children.items():
            if child.poll() is not None:
                return name
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return None
        except OSError:
            stop.wait(0.2)
    return None


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    """Start one child in a process group of its own, told to stop when this process dies."""
    preexec = _stop_with_parent if sys.platform.startswith("linux") else None
    return subprocess.Popen(command, start_new_session=True, preexec_fn=preexec)


def _stop_with_parent() -> None:
    """In the child, before it runs: ask Linux for SIGTERM when the parent dies."""
    pr_set_pdeathsig = 1
    # Where it fails, the child outlives a killed parent, as it would on any other system.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_for_stop_or_end(stop: threading.Event, children: dict[str, subprocess.Popen[bytes]]) -> str | None:
    """Wait until ``stop`` is set (None) or a child ends by itself (its name)."""
    while not stop.wait(0.2):
        for name, child in children.items():
            if child.poll() is not None:
                return name
    return None


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    """SIGTERM to each child still running, SIGKILL to those still running after `STOP_SECONDS`;
    each child's exit code."""
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return {name: child.returncode for name, child in children.items()}

"""``itbot run`` (what ``make run`` starts): the web server and the worker together, both stopped
by one Ctrl-C, and neither left running alone when the other ends."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port
from tests.processes import children_of, command_line

ROOT = Path(__file__).resolve().parents[2]


def start(home: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITBOT_") and k != "DATABASE_URL"}
    env.update({"ITBOT_HOME": str(home), "HF_HUB_OFFLINE": "1", "ITBOT_WORKER_POLL_SECONDS": "0.1"})
    return subprocess.Popen(
        [sys.executable, "-m", "bot.channels.cli.main", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class StderrLines:
    """The process's standard error, collected line by line as it is written."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self.lines: list[str] = []
        self._stream = process.stderr
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + 60
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"{text!r} never logged"
            time.sleep(0.05)

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)


def wait_for_server(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            httpx.get(f"{url}/healthz", timeout=1)  # 503 until an index exists: up all the same
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("the web server never answered")


def both_children(process: subprocess.Popen[str]) -> list[int]:
    """The web server's and the worker's pids, once both run (the worker starts second)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = children_of(process.pid)
        if len(children) == 2:
            return children
        time.sleep(0.1)
    pytest.fail(f"itbot run has {len(children_of(process.pid))} children, not 2")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or " Z " not in stat.read_text()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
def test_ctrl_c_stops_the_web_server_and_the_worker_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, port)
    try:
        stderr = StderrLines(process)
        wait_for_server(f"http://127.0.0.1:{port}", process)
        children = both_children(process)
        stderr.wait_for("event=worker_started")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=40)
        err = stderr.text()
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, err
    assert "event=worker_started" in err
    assert "event=worker_stopped" in err
    assert "Traceback" not in err
    assert not [pid for pid in children if alive(pid)]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
def test_when_the_worker_dies_the_web_server_is_stopped_and_run_says_why(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, port)
    try:
        wait_for_server(f"http://127.0.0.1:{port}", process)
        children = both_children(process)
        worker = next(pid for pid in children if "worker" in command_line(pid))
        os.kill(worker, signal.SIGKILL)
        _, err = process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 1
    assert re.search(r"the worker ended with exit code -9; stopping the web server", err)
    assert not [pid for pid in children if alive(pid)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's parent-death signal")
def test_killing_run_outright_leaves_nothing_running(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, port)
    try:
        wait_for_server(f"http://127.0.0.1:{port}", process)
        children = both_children(process)
    finally:
        process.kill()
        process.wait(timeout=10)

    deadline = time.monotonic() + 30
    while [pid for pid in children if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)]

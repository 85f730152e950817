"""``itbot serve --workers N``: N server processes answer on one port, the schema migrated once
before they start, and SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect

from tests.live_server import free_port
from tests.processes import children_of, command_line

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
def test_two_workers_serve_one_port_and_stop_together(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITBOT_") and k != "DATABASE_URL"}
    env.update({"ITBOT_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.channels.cli.main", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        servers: list[int] = []
        answered = None
        while time.monotonic() < deadline and (answered is None or len(servers) < 2):
            assert process.poll() is None
            servers = [pid for pid in children_of(process.pid) if "spawn_main" in command_line(pid)]
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
        assert answered is not None and answered.status_code == 503  # up, no index built yet
        assert len(servers) == 2
        cores = len(os.sched_getaffinity(0))
        for pid in servers:  # each embeds questions with its share of the cores
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert f"ITBOT_ENCODER_THREADS={max(1, cores // 2)}".encode() in environ
            assert b"ITBOT_SERVE_WORKERS=2" in environ
        tables = inspect(create_engine(f"sqlite:///{tmp_path / 'itbot.db'}")).get_table_names()
        assert "alembic_version" in tables and "interaction" in tables
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            process.kill()

    assert "Traceback" not in err
    assert not [pid for pid in servers if Path(f"/proc/{pid}").exists()]

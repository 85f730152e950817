"""What running itbot costs: index build throughput, re-index after editing one article, server
memory after start, and cold start to the first answer.

* build throughput: chunks embedded per second for a full build of the officedocs corpus (the
  shipped KB when the corpus is absent), from an empty ITBOT_HOME, in-process;
* re-index: the ``itbot index`` console command after appending a line to one article, wall time
  of the whole process (the shipped KB, and the officedocs corpus when present);
* RSS: the ``itbot serve`` process's resident memory once /healthz answers 200 with the
  officedocs index loaded (the shipped KB when the corpus is absent), and again, with its peak,
  after it has answered 500 questions (the hospital dev set, round and round, over /api/ask);
* cold start: from starting ``itbot ask`` to its answer printed, a new process each time.

    .venv/bin/python benchmarks/ops.py [--only build|reindex|rss|cold]

``--only`` runs one measurement (may be given more than once); RSS and cold start build the index
they need first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import DEFAULT_MAX_TOKENS  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.encoder import load_encoder  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "officedocs-support" / "kb"
ITBOT = str(ROOT / ".venv" / "bin" / "itbot")


def env_for(home: Path, kb: Path) -> dict[str, str]:
    """The environment an itbot process gets in this benchmark."""
    env = dict(os.environ)
    env.update({"ITBOT_HOME": str(home), "ITBOT_KB": str(kb), "HF_HUB_OFFLINE": "1"})
    env["ITBOT_MODEL"] = "all-MiniLM-L6-v2"
    return env


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_throughput(kb: Path, home: Path) -> tuple[int, float]:
    """(chunks, seconds) of a full build from scratch, with the encoder already loaded."""
    # The same models folder the server will use (ITBOT_HOME/models), as `itbot index` leaves it.
    encoder = load_encoder(
        "all-MiniLM-L6-v2", cache_dir=home / "models", precision="bf16", max_tokens=DEFAULT_MAX_TOKENS
    )
    t = time.perf_counter()
    report = build_index(kb, home / "index", encoder)
    return report.manifest.embedded, time.perf_counter() - t


def reindex_one(kb_src: Path, home: Path, runs: int = 3) -> list[float]:
    """Wall seconds of ``itbot index`` (a new process) after editing one article, ``runs`` times."""
    kb = home / "kb"
    if not kb.exists():
        shutil.copytree(kb_src, kb)
    env = env_for(home, kb)
    subprocess.run([ITBOT, "index"], env=env, check=True, capture_output=True)
    article = sorted(kb.rglob("*.md"))[len(list(kb.rglob("*.md"))) // 2]
    times = []
    for n in range(runs):
        with article.open("a", encoding="utf-8") as out:
            out.write(f"\n\nEdited for the benchmark, run {n}.\n")
        t = time.perf_counter()
        done = subprocess.run([ITBOT, "index"], env=env, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        assert "1 embedded" in done.stdout or "2 embedded" in done.stdout, done.stdout
    return times


def serve_rss(home: Path, kb: Path, questions: int = 500) -> tuple[float, float, float, float]:
    """(seconds to /healthz 200, RSS in MB then, RSS in MB after ``questions`` answers, peak RSS in
    MB) of ``itbot serve`` on an already built index."""
    port = free_port()
    t = time.perf_counter()
    proc = subprocess.Popen(
        [ITBOT, "serve", "--port", str(port)],
        env=env_for(home, kb),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
            if time.perf_counter() - t > 60:
                raise RuntimeError("server did not become healthy in 60 s")
        ready = time.perf_counter() - t
        started = _memory_mb(proc.pid)["VmRSS"]
        lines = (ROOT / "benchmarks" / "hospital" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)["query"] for line in lines if line.strip()]
        for i in range(questions):
            body = json.dumps({"text": texts[i % len(texts)]}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/ask", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as r:
                r.read()
        after = _memory_mb(proc.pid)
        return ready, started, after["VmRSS"], after["VmHWM"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of process ``pid`` in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM")))
    return {name: int(value.split()[0]) / 1024 for name, value in fields.items()}


def cold_start(home: Path, kb: Path, runs: int = 5) -> list[float]:
    """Wall seconds of ``itbot ask`` from process start to answer printed, ``runs`` times."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [ITBOT, "ask", "citrix frozen on the wow"], env=env_for(home, kb), check=True, capture_output=True
        )
        times.append(time.perf_counter() - t)
    return times


MEASURES = ("build", "reindex", "rss", "cold")


def main(argv: list[str] | None = None) -> int:
    """Run each measurement (or those named with ``--only``) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", action="append", choices=MEASURES, help="run only this measurement")
    args = parser.parse_args(argv)
    only = set(args.only or MEASURES)
    big = DATASET if DATASET.is_dir() else ROOT / "knowledge"
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        home = base / "full"
        if only & {"build", "rss", "cold"}:
            chunks, seconds = build_throughput(big, home)
            if "build" in only:
                rows.append(
                    (
                        f"full build, {big.name} ({chunks} chunks)",
                        f"{chunks / seconds:.0f} chunks/s ({seconds:.0f} s)",
                        ">= 110 chunks/s",
                    )
                )
        if "reindex" in only:
            for name, kb in (("shipped KB", ROOT / "knowledge"), ("officedocs", DATASET)):
                if not kb.is_dir():
                    continue
                times = reindex_one(kb, base / f"re-{name.replace(' ', '')}")
                rows.append(
                    (
                        f"re-index after editing one article, {name}",
                        f"median {statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})",
                        "<= 1 s",
                    )
                )
        if "rss" in only:
            ready, rss, answered, peak = serve_rss(home, big)
            rows.append(
                (
                    f"server RSS after start, {big.name} index",
                    f"{rss:.0f} MB (healthy after {ready:.1f} s)",
                    "<= 450 MB",
                )
            )
            rows.append(
                (
                    f"server RSS after 500 answers, {big.name} index",
                    f"{answered:.0f} MB (peak {peak:.0f} MB)",
                    "<= 450 MB",
                )
            )
        if "cold" in only:
            cold = cold_start(home, big)
            rows.append(
                (
                    f"cold start to first answer (`itbot ask`), {big.name} index",
                    f"median {statistics.median(cold):.2f} s",
                    "<= 3 s",
                )
            )
    command = " ".join([".venv/bin/python benchmarks/ops.py", *(f"--only {m}" for m in args.only or ())])
    print("# Operations: build, re-index, memory, cold start")
    print(f"# command: {command}")
    print()
    print("| measure | result | target |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

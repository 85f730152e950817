"""How many answers a second one ``itbot serve`` sustains, and where the time goes under load.

An ``itbot serve`` process (the shipped knowledge base, the real model, SQLite in a fresh
``ITBOT_HOME`` unless ``--database-url``) gets ``POST /api/ask`` at a series of steady rates, each
for ``--seconds`` (open loop: a request is due on schedule whatever the earlier ones are doing, and
its latency counts from when it was due, so a stalled server is not flattered by sending less). The
client keeps ``--connections`` keep-alive connections and writes plain HTTP/1.1 itself, so it costs
the server's CPU as little as it can on the same machine. The questions are the hospital dev set,
in order, round and round.

For each rate the table gives what was answered per second, the latency percentiles, the non-200
answers and the server's CPU time per answer (user and system, all its processes, from /proc):
the figure asked for is the highest rate whose p99 stays within ``--p99-ms``, and CPU per answer
is what moves it.
With ``--conversation`` every request carries a conversation id of its own (the flow then reads and
writes the conversation in the database: what the web chat does); without, the stateless API.

    .venv/bin/python benchmarks/load.py [--rates 20,40,60,80,100] [--seconds 15] [--conversation]
        [--workers 1] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_server import free_port  # noqa: E402

ITBOT = str(ROOT / ".venv" / "bin" / "itbot")
QUESTIONS = ROOT / "benchmarks" / "hospital" / "dev.jsonl"


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``samples``, nearest rank; NaN when there are none."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def questions() -> list[str]:
    """The dev questions of the hospital set, in file order."""
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()]


def server_environment(home: Path, database_url: str | None) -> dict[str, str]:
    """The environment ``itbot`` runs with: a fresh home, the shipped knowledge, no rate limits."""
    env = dict(os.environ)
    env.update(
        {
            "ITBOT_HOME": str(home),
            "ITBOT_KB": str(ROOT / "knowledge"),
            "HF_HUB_OFFLINE": "1",
            # The load comes from one address; the per-address limit would answer 429 instead.
            "ITBOT_ASKS_PER_MINUTE_PER_ADDRESS": "0",
            "ITBOT_ASKS_PER_MINUTE_PER_CONVERSATION": "0",
            "ITBOT_ESCALATIONS_PER_HOUR_PER_ADDRESS": "0",
            "ITBOT_ESCALATIONS_PER_HOUR_PER_CONVERSATION": "0",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], int]:
    """Index the shipped KB and start ``itbot serve``; (process, port) once it is healthy."""
    subprocess.run([ITBOT, "index"], env=env, check=True, capture_output=True)
    port = free_port()
    command = [ITBOT, "serve", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, port
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("itbot serve did not become healthy")


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a JSON POST and reads the whole answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        """POST ``body`` to ``path``; the status code (0 when the connection failed)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            self.writer.write(head + body)
            status_line = await self.reader.readline()
            status = int(status_line.split()[1])
            length = 0
            chunked = False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if chunked:
                while True:
                    size = int((await self.reader.readline()).strip(), 16)
                    await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                await self.reader.readexactly(length)
            return status
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            self.writer.close()
            self.writer = None
            return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` and its descendants (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    pending = [pid]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        pending.extend(int(child) for child in children)
    return total


@dataclass
class Step:
    """What one rate gave."""

    rate: float
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def answered_per_s(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0


async def run_rate(
    port: int, rate: float, seconds: float, texts: list[str], *, connections: int, conversation: bool
) -> Step:
    """Send ``rate`` asks a second for ``seconds`` over a pool of ``connections``; their outcome."""
    step = Step(rate)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(port))

    async def one(due: float, text: str) -> None:
        payload: dict[str, str] = {"text": text}
        if conversation:
            payload["conversation"] = "web-" + secrets.token_hex(16)
        body = json.dumps(payload).encode()
        connection = await pool.get()
        try:
            status = await connection.post("/api/ask", body)
        finally:
            pool.put_nowait(connection)
        if status == 200:
            step.latencies_ms.append((time.perf_counter() - due) * 1000)
        else:
            step.failures += 1

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    total = int(rate * seconds)
    for index in range(total):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, texts[index % len(texts)])))
        step.sent += 1
    await asyncio.gather(*tasks)
    step.wall_s = time.perf_counter() - start
    for _ in range(connections):
        connection = pool.get_nowait()
        if connection.writer is not None:
            connection.writer.close()
    return step


def main() -> None:
    """Run the rates against a fresh server and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="20,40,60,80,100", help="asks per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long each rate lasts")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections (concurrency)")
    parser.add_argument("--workers", type=int, default=1, help="itbot serve --workers")
    parser.add_argument("--conversation", action="store_true", help="each ask in a conversation of its own")
    parser.add_argument("--p99-ms", type=float, default=200.0, help="the latency bound the figure is for")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    texts = questions()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    with tempfile.TemporaryDirectory() as home:
        process, port = start_server(server_environment(Path(home), args.database_url), args.workers)
        try:
            # Warm-up: the first answers load lazily built parts.
            asyncio.run(run_rate(port, 10, 3, texts, connections=4, conversation=args.conversation))
            steps = []
            for rate in rates:
                cpu_before = cpu_seconds(process.pid)
                step = asyncio.run(
                    run_rate(
                        port,
                        rate,
                        args.seconds,
                        texts,
                        connections=args.connections,
                        conversation=args.conversation,
                    )
                )
                step.cpu_s = cpu_seconds(process.pid) - cpu_before
                steps.append(step)
        finally:
            process.terminate()
            process.wait(timeout=30)

    mode = "conversation (database reads and writes)" if args.conversation else "stateless /api/ask"
    print(f"# {' '.join(['python', *sys.argv])}")
    print(
        f"# itbot serve, {args.workers} worker(s), {mode}; {os.cpu_count()} CPUs shared with the client; "
        f"{args.connections} connections; {args.seconds:g} s a rate"
    )
    print("| offered /s | answered /s | p50 ms | p90 ms | p99 ms | max ms | non-200 | server CPU ms/answer |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for step in steps:
        lat = step.latencies_ms
        print(
            f"| {step.rate:g} | {step.answered_per_s:.1f} | {percentile(lat, 50):.1f} | "
            f"{percentile(lat, 90):.1f} | {percentile(lat, 99):.1f} | {max(lat, default=float('nan')):.1f} | "
            f"{step.failures} | {1000 * step.cpu_s / max(1, len(lat)):.1f} |"
        )
    within = [s for s in steps if not s.failures and percentile(s.latencies_ms, 99) <= args.p99_ms]
    best = max((s.answered_per_s for s in within), default=0.0)
    print(f"\nhighest sustained rate with p99 <= {args.p99_ms:g} ms: {best:.1f} answers/s")


if __name__ == "__main__":
    main()

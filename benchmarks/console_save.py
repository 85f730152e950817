"""How long from a curator's save in the console until the bot's answer reflects the edit.

For each knowledge base (the shipped ``knowledge/``, and the 2,400-article officedocs-support corpus
when it is at ``/work/shared/datasets/officedocs-support/kb``; skipped with a message when absent):
copies it to a temporary ``ITBOT_KB``, builds its index once (not timed; the index lives in
``--home``/<kb> so later runs reuse its vectors), starts itbot with uvicorn on loopback in a process
of its own (real model, ``ITBOT_CONSOLE_ARTICLE_REVIEW`` off), signs in as a curator and then
``--edits`` times: opens the editor of an article the bot answers when asked its title, adds a
sentence naming a new error code (``E<number>``) to the section the bot answers with, saves the form
over HTTP, and asks ``POST /api/ask`` the title again until the answer quotes the new sentence. It
prints p50 and p99 of save-to-answer, and of the save request alone, per knowledge base, then the
command that made the table.

    .venv/bin/python benchmarks/console_save.py [--edits 20] [--only shipped|officedocs]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
OFFICEDOCS = Path("/work/shared/datasets/officedocs-support/kb")
PASSWORD = "benchmark password 1"
# Articles to edit, tried in this order until one answers its own title (officedocs: by id).
PREFERRED = {"shipped": ["printing/office-printer-offline"], "officedocs": []}
CANDIDATES = 40
ANSWER_DEADLINE_S = 30.0


class _Form(HTMLParser):
    """The editor form's fields (inputs and the body textarea) as the browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_form = found.get("id") == "edit-form"
        elif self._in_form and tag == "input" and found.get("name"):
            self.fields[found["name"]] = found.get("value", "")
        elif self._in_form and tag == "textarea" and found.get("name"):
            self._textarea = found["name"]
            self.fields[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def form_of(page: str) -> dict[str, str]:
    """The editor form's fields in ``page``."""
    parser = _Form()
    parser.feed(page)
    return parser.fields


def _settings(home: Path, kb: Path) -> Settings:
    # The web chat's per-address limit is off: this client asks again every 50 ms until it sees the edit.
    return Settings.model_validate(
        {
            "home": home,
            "kb": kb,
            "console_cookie_secure": False,
            "console_article_review": False,
            "asks_per_minute_per_address": 0,
        }
    )


def serve(home: Path, kb: Path, port: int) -> None:
    """The server process: itbot with the real assistant over ``kb`` (index built first)."""
    import uvicorn

    from bot.core.assistant import Assistant
    from bot.main import create_app
    from indexer.build import build_index
    from indexer.encoder import load_encoder

    settings = _settings(home, kb)
    encoder = load_encoder(settings.model, cache_dir=settings.models_dir, max_tokens=settings.max_tokens)
    started = time.perf_counter()
    report = build_index(settings.kb, settings.index_root, encoder)
    print(
        f"index: {report.manifest.embedded} chunks embedded, {report.manifest.reused} reused "
        f"in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    app = create_app(settings, assistant=Assistant(settings, encoder=encoder), server=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


def _add_curator(settings: Settings) -> None:
    from bot.channels.cli.main import build_parser
    from bot.channels.cli.users import run as run_users
    from bot.db import init_db

    init_db(settings)
    args = build_parser().parse_args(["users", "add", "bench-curator", "--role", "curator"])
    out, err = io.StringIO(), io.StringIO()
    code = run_users(settings, args, out, err, io.StringIO(PASSWORD + "\n"))
    assert code == 0 or "exists" in err.getvalue(), err.getvalue()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def _candidates(name: str, kb: Path) -> list[str]:
    ids = sorted(p.relative_to(kb).with_suffix("").as_posix() for p in kb.rglob("*.md"))
    return [*PREFERRED[name], *ids[:CANDIDATES]]


def _ask(client: httpx.Client, text: str) -> dict[str, Any]:
    asked = client.post("/api/ask", json={"text": text})
    assert asked.status_code == 200, asked.text[:300]
    found: dict[str, Any] = asked.json()
    return found


def _pick(client: httpx.Client, candidates: list[str]) -> tuple[str, str, str]:
    """The first candidate article that the bot answers when asked its title: (id, title, section)."""
    for article in candidates:
        form = form_of(client.get(f"/console/articles/{article}").text)
        reply = _ask(client, form["title"])
        cited = reply["citations"][0] if reply["citations"] else {}
        if reply["decision"] == "answer" and cited.get("article") == article:
            return article, form["title"], str(cited.get("section", ""))
    raise RuntimeError("no article answers its own title")


def _with_code(body: str, section: str, code: str) -> str:
    """``body`` with a sentence naming ``code`` at the start of the answered ``section``."""
    line = f"If the screen shows error {code}, write it down for the service desk."
    lines = body.splitlines()
    for i, text in enumerate(lines):
        if text.startswith("#") and text.lstrip("#").strip() == section:
            return "\n".join([*lines[: i + 1], "", line, *lines[i + 1 :]]) + "\n"
    return f"{line}\n\n{body}"


def _sign_in(client: httpx.Client) -> None:
    deadline = time.monotonic() + 1800
    while True:
        try:
            if client.get("/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.5)
    form = client.get("/console/login")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    signed = client.post(
        "/console/login", data={"name": "bench-curator", "password": PASSWORD, "csrf_token": token}
    )
    assert signed.status_code == 303, signed.text


def _time_edits(url: str, candidates: list[str], edits: int, rng: random.Random) -> list[tuple[float, float]]:
    """(save request, save to answer) seconds for each edit."""
    times: list[tuple[float, float]] = []
    with httpx.Client(base_url=url, timeout=120, follow_redirects=False) as client:
        _sign_in(client)
        article, title, section = _pick(client, candidates)
        original = form_of(client.get(f"/console/articles/{article}").text)["body"]
        for _ in range(edits):
            form = form_of(client.get(f"/console/articles/{article}").text)
            code = f"E{rng.randrange(10_000, 99_999)}"
            form["body"] = _with_code(original, section, code)
            started = time.perf_counter()
            saved = client.post(f"/console/articles/{article}", data=form)
            saved_at = time.perf_counter()
            assert saved.status_code == 200, saved.text[:500]
            while True:
                reply = _ask(client, title)
                if code in reply["text"]:
                    break
                if time.perf_counter() - started > ANSWER_DEADLINE_S:
                    said = {k: reply.get(k) for k in ("decision", "citations")}
                    raise RuntimeError(
                        f"the answer did not show {code} within {ANSWER_DEADLINE_S:.0f} s: {said}"
                    )
                time.sleep(0.05)
            times.append((saved_at - started, time.perf_counter() - started))
    return times


def run_one(name: str, source: Path, home: Path, edits: int, seed: int) -> list[tuple[float, float]]:
    """Copy ``source`` to a temporary knowledge folder, serve it, time ``edits`` saves."""
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(tmp) / "kb"
        shutil.copytree(source, kb)
        settings = _settings(home, kb)
        _add_curator(settings)
        port = 19000 + (os.getpid() + len(name)) % 1000
        command = [sys.executable, __file__, "--serve", str(home), str(kb), str(port)]
        server = subprocess.Popen(command, cwd=ROOT)
        try:
            return _time_edits(f"http://127.0.0.1:{port}", _candidates(name, kb), edits, random.Random(seed))
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    """Time saves on each knowledge base and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--only", choices=("shipped", "officedocs"), default=None)
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench" / "console-save")
    parser.add_argument("--serve", nargs=3, metavar=("HOME", "KB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), Path(args.serve[1]), int(args.serve[2]))
        return
    sources = {"shipped": ROOT / "knowledge", "officedocs": OFFICEDOCS}
    rows: list[tuple[str, list[tuple[float, float]]]] = []
    for name, source in sources.items():
        if args.only not in (None, name):
            continue
        if not source.is_dir():
            print(f"skipped {name}: the officedocs-support corpus is not at {source}")
            continue
        rows.append((name, run_one(name, source, args.home / name, args.edits, seed=7)))
    header = ("edits", 6), ("save p50 s", 12), ("save p99 s", 12), ("answer p50 s", 14), ("answer p99 s", 14)
    print(f"{'knowledge base':<16}" + "".join(f"{name:>{width}}" for name, width in header))
    for name, times in rows:
        saves, answers = [t[0] for t in times], [t[1] for t in times]
        print(
            f"{name:<16}{len(times):>6}{statistics.median(saves):>12.2f}{_percentile(saves, 0.99):>12.2f}"
            f"{statistics.median(answers):>14.2f}{_percentile(answers, 0.99):>14.2f}"
        )
    print("(answer: from sending the save until POST /api/ask quotes the new sentence; targets 1 s / 2 s)")
    print(f"\n$ {shlex.join(['.venv/bin/python', 'benchmarks/console_save.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()

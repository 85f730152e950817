"""What one huge article costs the index: ``chunks.jsonl`` size and peak memory of the build.

Writes the shipped knowledge folder plus one generated article of about ``--mb`` megabytes (one
huge section, or ``--sections`` sections), builds the index in a fresh process, and prints a table:
the article's shape, chunks, ``chunks.jsonl`` bytes, the whole build folder's bytes, and the build
process's peak RSS (``ru_maxrss`` of the child). Also loads the build in another fresh process, as
the server does, and reports that process's peak RSS.

    .venv/bin/python benchmarks/huge_article.py [--encoder hashing|model] [--mb 2.6] [--sections 1]

``--encoder hashing`` (the default) builds in-process with the unit tests' hashing encoder, so that
only the index's own costs show; ``model`` runs the ``itbot index`` command with the real model.
The size limit on articles (``ITBOT_MAX_ARTICLE_BYTES``) is raised above the generated article so
that it is indexed; ``--limit-check`` instead keeps the default limit and shows the refusal.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
ITBOT = str(ROOT / ".venv" / "bin" / "itbot")

# Builds in a child process with the hashing encoder; prints the number of chunks.
_BUILD_HASHING = """
import inspect, sys
from pathlib import Path
from indexer.build import build_index
from indexer.encoder import HashingEncoder
kwargs = {}
if "max_article_bytes" in inspect.signature(build_index).parameters:
    kwargs["max_article_bytes"] = int(sys.argv[3])
report = build_index(Path(sys.argv[1]), Path(sys.argv[2]), HashingEncoder(384), **kwargs)
for problem in report.problems:
    print("problem:", problem, file=sys.stderr)
print(report.manifest.chunks)
"""

# Loads the live build as the server does (model name and dimension from its manifest).
_LOAD = """
import json, sys
from pathlib import Path
from indexer.store import current_folder, load_build
root = Path(sys.argv[1])
folder = current_folder(root)
manifest = json.loads((folder / "manifest.json").read_text())
index = load_build(folder, model=manifest["model"], dim=manifest["dim"])
print(len(index.chunks))
"""


def huge_article(megabytes: float, sections: int, seed: int = 7) -> str:
    """A Markdown article of about ``megabytes`` MB of prose, in ``sections`` H2 sections."""
    rng = random.Random(seed)
    vocabulary = [
        f"{rng.choice(['printer', 'citrix', 'badge', 'epic', 'network'])}{n}word" for n in range(5000)
    ]
    target = int(megabytes * 1_000_000)
    per_section = target // sections
    parts = ["---\ntitle: A very long manual\n---\n\n# A very long manual\n"]
    for number in range(sections):
        parts.append(f"\n## Part {number + 1}\n\n")
        size = 0
        while size < per_section:
            line = " ".join(rng.choice(vocabulary) for _ in range(12)) + "\n"
            parts.append(line)
            size += len(line)
    return "".join(parts)


def child(command: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Run ``command``; its output, wall seconds and peak RSS in MB (``ru_maxrss`` of that child)."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:2]} failed ({process.returncode}): {text[-2000:]}")
    return text, seconds, usage.ru_maxrss / 1024


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """Build and load one index with the generated article; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--encoder", choices=("hashing", "model"), default="hashing")
    parser.add_argument("--mb", type=float, default=2.6, help="size of the generated article")
    parser.add_argument("--sections", type=int, default=1, help="H2 sections it is cut into")
    parser.add_argument("--limit-check", action="store_true", help="keep the default size limit")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        kb = home / "kb"
        shutil.copytree(ROOT / "knowledge", kb)
        text = huge_article(args.mb, args.sections)
        (kb / "huge").mkdir()
        (kb / "huge" / "manual.md").write_text(text, encoding="utf-8")
        env = dict(
            os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", ITBOT_HOME=str(home), ITBOT_KB=str(kb)
        )
        limit = str(len(text.encode("utf-8")) + 1)
        if not args.limit_check:
            env["ITBOT_MAX_ARTICLE_BYTES"] = limit
        if args.encoder == "hashing":
            command = [PYTHON, "-c", _BUILD_HASHING, str(kb), str(home / "index"), limit]
            if args.limit_check:
                command[-1] = str(1_000_000)
        else:
            command = [ITBOT, "index"]
        output, build_seconds, build_rss = child(command, env)
        folder = Path(home / "index" / "builds" / (home / "index" / "current").read_text().strip())
        load_output, _, load_rss = child([PYTHON, "-c", _LOAD, str(home / "index")], env)
        chunks = load_output.strip().splitlines()[-1]
        rows = [
            ("article", f"{len(text.encode('utf-8')) / 1e6:.2f} MB in {args.sections} section(s)"),
            (
                "encoder",
                "hashing-384 (in-process build)" if args.encoder == "hashing" else "itbot index, real model",
            ),
            ("chunks", chunks),
            ("chunks.jsonl", f"{(folder / 'chunks.jsonl').stat().st_size / 1e6:.1f} MB"),
            ("build folder", f"{folder_bytes(folder) / 1e6:.1f} MB"),
            ("build wall time", f"{build_seconds:.1f} s"),
            ("build peak RSS", f"{build_rss:.0f} MB"),
            ("load peak RSS (as the server)", f"{load_rss:.0f} MB"),
        ]
        if args.limit_check:
            rows.append(
                (
                    "problems",
                    " | ".join(
                        line for line in output.splitlines() if "problem" in line or "warning" in line
                    ),
                )
            )
        width = max(len(name) for name, _ in rows)
        print(
            "command: "
            + " ".join([sys.argv[0].rsplit("/", 1)[-1], *(argv if argv is not None else sys.argv[1:])])
        )
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

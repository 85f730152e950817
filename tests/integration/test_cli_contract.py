"""The installed ``itbot`` console script with the real model on the shipped ``knowledge/``.

What ``shared/checks/contract.sh`` checks, as a test: ``itbot index`` builds the index, then
``itbot ask --json -`` answers every line of awkward input, in order, with a well-formed object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]
ITBOT = Path(sys.executable).with_name("itbot")
MRN = "00482913"
QUESTIONS = [
    "epic keeps logging me out",
    "",
    "   ",
    "printer jam " * 4500,
    "ctrl\x01\x02chars 🙂",
    "¿cómo cambio mi contraseña?",
    f"MRN {MRN}",
    "wow battery dead",
]


def itbot(args: list[str], home: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITBOT_") and k != "DATABASE_URL"}
    env.update(ITBOT_HOME=str(home), ITBOT_KB=str(ROOT / "knowledge"), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [str(ITBOT), *args], input=stdin, env=env, cwd=home, capture_output=True, text=True, timeout=300
    )


def test_index_then_ask_json_answers_every_input_line_in_order(tmp_path: Path) -> None:
    assert ITBOT.exists(), f"no console script at {ITBOT}: install the project into this environment"
    indexed = itbot(["index"], tmp_path)
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    assert "Indexed" in indexed.stdout

    asked = itbot(["ask", "--json", "-"], tmp_path, "".join(q + "\n" for q in QUESTIONS))
    assert asked.returncode == 0, asked.stderr[-2000:]
    replies = [json.loads(line) for line in asked.stdout.splitlines() if line.strip()]
    assert len(replies) == len(QUESTIONS)
    for n, reply in enumerate(replies):
        assert reply["decision"] in {"answer", "clarify", "escalate", "outage"}, n
        assert isinstance(reply["text"], str) and reply["text"].strip(), n
        assert isinstance(reply["citations"], list), n
        assert "notice" in reply, n
        assert all(set(c) >= {"article", "title", "section", "score"} for c in reply["citations"]), n
        scores = [c["score"] for c in reply["citations"]]
        assert scores == sorted(scores, reverse=True), n
        assert MRN not in reply["text"], n
    # In order: only the two blank lines get the "tell me what's wrong" reply.
    blank = [n for n, r in enumerate(replies) if r["decision"] == "clarify" and not r["citations"]]
    assert blank == [1, 2]

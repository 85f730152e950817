"""The ``itbot`` command run in-process through ``main([...])``.

Settings come from ``ITBOT_*`` variables set per test; the embedding model is replaced by the
hashing encoder wherever the CLI would load it, so no test here loads a model. (The real console
script with the real model is exercised in ``tests/integration/test_cli_contract.py``.)
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.core.assistant
import indexer.encoder
from bot.channels.cli.main import EXIT_OK, EXIT_SETUP, main
from indexer.encoder import HashingEncoder
from tests.tiny_kb import ARTICLES, write_tiny_kb

CONTRACT_KEYS = {"decision", "text", "citations", "notice"}
CITATION_KEYS = {"article", "title", "section", "score"}
MRN = "00482913"


def hashing_encoder(model: str, **_options: Any) -> HashingEncoder:
    return HashingEncoder()


@pytest.fixture(autouse=True)
def keep_root_logger() -> Iterator[None]:
    """``main`` configures logging for a terminal; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ITBOT_HOME and ITBOT_KB on ``tmp_path`` (the knowledge folder not written yet), no model."""
    for name in list(os.environ):
        if name.startswith("ITBOT_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ITBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ITBOT_KB", str(tmp_path / "kb"))
    monkeypatch.setenv("ITBOT_MODEL", "all-MiniLM-L6-v2")
    monkeypatch.setattr(indexer.encoder, "load_encoder", hashing_encoder)
    monkeypatch.setattr(bot.core.assistant, "load_encoder", hashing_encoder)
    return tmp_path / "home"


@pytest.fixture
def kb(home: Path, tmp_path: Path) -> Path:
    return write_tiny_kb(tmp_path / "kb")


@pytest.fixture
def indexed(kb: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["index"]) == EXIT_OK
    capsys.readouterr()
    return kb


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(argv)


# --- itbot index ------------------------------------------------------------------------------------------


def test_index_builds_the_knowledge_folder_and_says_what_it_did(
    kb: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index"]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"Indexed {len(ARTICLES)} articles" in out
    assert (home / "index" / "current").is_file()


def test_index_again_without_changes_says_it_is_up_to_date(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index"]) == EXIT_OK
    assert "up to date" in capsys.readouterr().out


def test_index_force_rebuilds_without_changes(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--force"]) == EXIT_OK
    assert "Indexed" in capsys.readouterr().out


def test_index_reports_a_broken_article_with_file_and_line_and_still_succeeds(
    kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = kb / "broken.md"
    broken.write_text("---\ntitle: [not, text]\n---\n\nBody.\n", encoding="utf-8")
    assert main(["index"]) == EXIT_OK
    assert f"{broken}:2:" in capsys.readouterr().err


def test_index_of_a_missing_knowledge_folder_exits_2_naming_the_folder(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index"]) == EXIT_SETUP
    err = capsys.readouterr().err
    assert str(tmp_path / "kb") in err
    assert "does not exist" in err
    assert "ITBOT_KB" in err
    assert "Traceback" not in err


# --- itbot ask ----------------------------------------------------------------------------------------------


def test_ask_without_an_index_exits_2_and_says_to_run_itbot_index(
    kb: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ask", "printer offline"], monkeypatch) == EXIT_SETUP
    captured = capsys.readouterr()
    assert "itbot index" in captured.err
    assert captured.out == ""


def test_ask_json_stdin_prints_one_contract_object_per_line_in_order(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = [
        "epic password refused",
        "",
        "excel crashes on the staffing sheet",
        "   ",
        f"MRN {MRN}",
        "¿cómo?",
    ]
    assert run(["ask", "--json", "-"], monkeypatch, "\n".join(questions) + "\n") == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(questions)
    replies = [json.loads(line) for line in lines]
    for reply in replies:
        assert set(reply) >= CONTRACT_KEYS
        assert reply["decision"] in {"answer", "clarify", "escalate", "outage"}
        assert reply["text"].strip()
        assert all(set(c) >= CITATION_KEYS for c in reply["citations"])
    # The blank lines (second and fourth) get the "say more" reply; the others do not.
    empty = [n for n, r in enumerate(replies) if r["decision"] == "clarify" and not r["citations"]]
    assert empty == [1, 3]


def test_ask_json_never_prints_an_mrn_from_the_question(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ask", "--json", "-"], monkeypatch, f"MRN {MRN}\npt mrn {MRN} epic password\n") == EXIT_OK
    assert MRN not in capsys.readouterr().out


def test_ask_json_with_the_question_as_arguments_prints_one_object(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ask", "--json", "citrix", "frozen"], monkeypatch) == EXIT_OK
    (line,) = capsys.readouterr().out.splitlines()
    assert set(json.loads(line)) >= CONTRACT_KEYS


def test_ask_json_citations_are_best_first(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ask", "--json", "-"], monkeypatch, "printer\nlabel printer\nepic login\n") == EXIT_OK
    for line in capsys.readouterr().out.splitlines():
        scores = [c["score"] for c in json.loads(line)["citations"]]
        assert scores == sorted(scores, reverse=True)


def test_ask_prints_the_decision_and_text_for_a_person(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ask", "excel", "crashes", "on", "the", "staffing", "sheet"], monkeypatch) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("[escalate]")
    assert "service desk" in out


def test_ask_refuses_an_index_built_with_another_model(
    indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bot.core.assistant, "load_encoder", lambda model, **_: HashingEncoder(dim=32))
    assert run(["ask", "printer"], monkeypatch) == EXIT_SETUP
    err = capsys.readouterr().err
    assert "'hashing-384'" in err
    assert "itbot index" in err


# --- itbot scrub ------------------------------------------------------------------------------------------


def test_scrub_prints_one_line_per_input_line_with_identifiers_replaced(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = f"pt John Carter MRN {MRN} dob 03/14/1962 cant print\nprinter 10.20.4.17 error 0x45\n"
    assert run(["scrub"], monkeypatch, lines) == EXIT_OK
    first, second = capsys.readouterr().out.splitlines()
    assert MRN not in first
    assert "03/14/1962" not in first
    assert "John Carter" not in first
    assert "[MRN]" in first
    assert "[DOB]" in first
    assert "cant print" in first
    assert second == "printer 10.20.4.17 error 0x45"


def test_scrub_keeps_blank_lines_so_output_lines_match_input_lines(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["scrub"], monkeypatch, "one\n\nthree\n") == EXIT_OK
    assert capsys.readouterr().out == "one\n\nthree\n"


def test_scrub_needs_no_index_or_knowledge_folder(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["scrub"], monkeypatch, "vpn down\n") == EXIT_OK
    assert capsys.readouterr().out == "vpn down\n"
    assert not home.exists()


def test_an_unknown_command_is_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2
    assert "usage: itbot" in capsys.readouterr().err


def test_serve_workers_share_the_cores_for_embedding_unless_configured() -> None:
    from bot.channels.cli.main import threads_per_worker

    assert threads_per_worker(1, 8, None) is None  # one process: every core
    assert threads_per_worker(2, 2, None) == 1
    assert threads_per_worker(2, 8, None) == 4
    assert threads_per_worker(4, 2, None) == 1  # never below one
    assert threads_per_worker(2, 8, 3) == 3  # ITBOT_ENCODER_THREADS wins

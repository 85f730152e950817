"""Finding 1 of the attack run: a symbolic link in the knowledge folder must never make a file
outside it (the server's environment, /etc/passwd, a key) into an article that `/kb/...` serves.

Each test builds a real index with the hashing encoder and looks at every file the build wrote.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.articles import load_articles
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.store import current_folder
from tests.tiny_kb import write_tiny_kb

SECRET = "xoxb-SECRET-TOKEN-4242"


def index_text(root: Path, *, manifest: bool = True) -> str:
    """Everything the live build holds, as text (vectors left out); the manifest, which names the
    files left out and why, only when ``manifest``."""
    folder = current_folder(root)
    assert folder is not None
    return "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(folder.iterdir())
        if path.suffix in {".json", ".jsonl"} and (manifest or path.name != "manifest.json")
    )


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    write_tiny_kb(folder)
    return folder


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "environ.md"
    path.parent.mkdir()
    path.write_text(f"# Environment\n\nSLACK_BOT_TOKEN={SECRET}\n", encoding="utf-8")
    return path


def test_a_link_to_a_file_outside_the_folder_is_refused_by_name_and_the_rest_indexes(
    kb: Path, secret_file: Path, tmp_path: Path
) -> None:
    (kb / "x").mkdir()
    (kb / "x" / "environ.md").symlink_to(secret_file)

    report = build_index(kb, tmp_path / "index", HashingEncoder(32))

    assert [p.path.name for p in report.problems] == ["environ.md"]
    assert "outside the knowledge folder" in report.problems[0].message
    text = index_text(tmp_path / "index")
    assert SECRET not in text
    assert "x/environ" not in index_text(tmp_path / "index", manifest=False)
    assert "ehr/epic-login-problems" in text


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="no /proc on this system")
def test_a_link_to_proc_self_environ_is_never_read(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    (kb / "environ.md").symlink_to("/proc/self/environ")
    (kb / "passwd.md").symlink_to("/etc/passwd")

    report = build_index(kb, tmp_path / "index", HashingEncoder(32))

    assert sorted(p.path.name for p in report.problems) == ["environ.md", "passwd.md"]
    text = index_text(tmp_path / "index")
    assert SECRET not in text
    assert "root:" not in text


def test_a_link_reindexed_over_an_earlier_build_is_dropped_not_reused(
    kb: Path, secret_file: Path, tmp_path: Path
) -> None:
    """A build made before the fix may hold the linked file: the next build must not reuse it by
    its unchanged stat."""
    inside = kb / "x" / "environ.md"
    inside.parent.mkdir()
    inside.write_bytes(secret_file.read_bytes())
    build_index(kb, tmp_path / "index", HashingEncoder(32))
    assert SECRET in index_text(tmp_path / "index")
    stat = inside.stat()
    inside.unlink()
    inside.symlink_to(secret_file)
    os.utime(secret_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    report = build_index(kb, tmp_path / "index", HashingEncoder(32))

    assert [p.path.name for p in report.problems] == ["environ.md"]
    assert SECRET not in index_text(tmp_path / "index")


def test_links_inside_the_folder_still_work_and_a_linked_knowledge_root_is_fine(
    kb: Path, tmp_path: Path
) -> None:
    (kb / "shortcut.md").symlink_to(kb / "ehr" / "epic-login-problems.md")
    linked_root = tmp_path / "kb-link"
    linked_root.symlink_to(kb, target_is_directory=True)

    articles, problems = load_articles(linked_root)

    assert problems == []
    assert "shortcut" in [a.id for a in articles]


def test_a_fifo_is_refused_without_blocking(kb: Path) -> None:
    os.mkfifo(kb / "pipe.md")

    articles, problems = load_articles(kb)

    assert [p.path.name for p in problems] == ["pipe.md"]
    assert "not a regular file" in problems[0].message
    assert len(articles) == 4

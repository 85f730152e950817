"""The knowledge folder as curators edit it: confinement, drafts, ordering, stale saves."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from bot.console import knowledge
from bot.console.knowledge import (
    ArticleMemo,
    ArticleRow,
    Draft,
    OutsideKnowledge,
    Stale,
    article_path,
    check_text,
    digest,
    ordered_rows,
    read_draft,
    save_text,
)
from indexer.articles import load_article, load_articles
from indexer.models import Article

TEXT = (
    "---\ntitle: Printer\ntags: [printer, offline]\nowner: eus\nreview_by: 2027-01-31\nlegacy: kept\n---\n"
    "\n# Printer\n\nTurn it off.\n"
)


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/../../x", "/etc/passwd", ".git/config", "a//b", "a\\b", "a\x00b", "x" * 201]
)
def test_ids_that_could_leave_the_folder_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(OutsideKnowledge):
        article_path(tmp_path, bad)


def test_an_id_names_its_markdown_file_inside_the_folder(tmp_path: Path) -> None:
    assert article_path(tmp_path, "printing/office-printer") == tmp_path / "printing" / "office-printer.md"


def test_a_link_leading_out_is_refused(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (tmp_path / "secret.md").write_text("x")
    os.symlink(tmp_path / "secret.md", kb / "leak.md")
    os.symlink(tmp_path, kb / "up")
    for bad in ("leak", "up/secret"):
        with pytest.raises(OutsideKnowledge):
            article_path(kb, bad)


def test_a_draft_round_trips_fields_body_and_unknown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "p.md"
    path.write_text(TEXT, encoding="utf-8")
    draft, base = read_draft(path, tmp_path, max_bytes=10_000)
    assert base == digest(TEXT.encode())
    assert draft.fields["tags"] == "printer, offline" and draft.fields["review_by"] == "2027-01-31"
    text = draft.text()
    assert check_text(path, tmp_path, text) is None
    assert "legacy: kept" in text and "tags: [printer, offline]" in text
    assert read_draft(path, tmp_path, max_bytes=10_000)[0].body == draft.body


def test_a_draft_counts_the_lines_before_its_body() -> None:
    draft = Draft(fields={"title": "T", "owner": "o"}, body="# T\n\ntext\n")
    lines = draft.text().split("\n")
    assert lines[draft.front_lines] == "# T"


def test_a_stale_save_writes_nothing_and_diffs_the_file_against_the_edit(tmp_path: Path) -> None:
    path = tmp_path / "p.md"
    path.write_text(TEXT, encoding="utf-8")
    result = save_text(path, tmp_path, TEXT + "more\n", base_digest="0" * 64, max_bytes=10_000)
    assert isinstance(result, Stale) and "+more" in result.diff
    assert path.read_text() == TEXT
    assert save_text(
        path, tmp_path, TEXT + "more\n", base_digest=digest(TEXT.encode()), max_bytes=10_000
    ) == digest((TEXT + "more\n").encode())


def test_a_new_article_needs_an_empty_base_and_is_refused_once_it_exists(tmp_path: Path) -> None:
    path = tmp_path / "new" / "a.md"
    assert isinstance(save_text(path, tmp_path, TEXT, base_digest="", max_bytes=10_000), str)
    assert isinstance(save_text(path, tmp_path, TEXT, base_digest="", max_bytes=10_000), Stale)


def _row(article_id: str, owner: str = "eus", *, overdue: bool = False) -> ArticleRow:
    return ArticleRow(article_id, article_id.title(), owner, (), "", overdue=overdue, unowned=not owner)


def test_flagged_articles_come_first_and_the_readers_own_before_others() -> None:
    rows = [_row("a"), _row("b", overdue=True), _row("c", owner=""), _row("d", owner="me", overdue=True)]
    assert [r.id for r in ordered_rows(rows, owner="me")] == ["d", "b", "c", "a"]
    assert [r.id for r in ordered_rows(rows, owner="me", query="B")] == ["b"]


def test_the_fixed_rate_counts_only_answers_with_feedback() -> None:
    row = ArticleRow("a", "A", "o", (), "", overdue=False, unowned=False, cited=10, fixed=3, stuck=1)
    assert row.fixed_rate == 0.75
    assert _row("b").fixed_rate is None
    assert not dt.date(2020, 1, 1) > dt.date.today()


def test_the_article_memo_reads_what_load_articles_reads_and_rereads_only_changed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "printing").mkdir()
    (tmp_path / "printing" / "printer.md").write_text(TEXT)
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\n# x\n")
    memo = ArticleMemo()
    first = memo.load(tmp_path)
    assert first == load_articles(tmp_path)
    assert [a.id for a in first[0]] == ["printing/printer"] and len(first[1]) == 1
    read: list[Path] = []

    def reading(path: Path, root: Path) -> Article:
        read.append(path)
        return load_article(path, root)

    monkeypatch.setattr(knowledge, "load_article", reading)
    assert memo.load(tmp_path) == first and read == []
    (tmp_path / "printing" / "printer.md").write_text(TEXT.replace("Turn it off.", "Turn it off and on."))
    (tmp_path / "broken.md").unlink()
    articles, problems = memo.load(tmp_path)
    assert read == [tmp_path / "printing" / "printer.md"] and problems == []
    assert (articles, problems) == load_articles(tmp_path)

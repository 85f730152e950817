"""Knowledge files -> Articles: front matter, ids, and the problems a curator is shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.articles import ArticleError, KnowledgeFolderError, knowledge_paths, load_article, load_articles
from indexer.models import ArticleProblem

FULL_ARTICLE = """---
title: "Epic session timeout"
description: Why Epic logs you out and how to stay signed in.
tags: [epic, timeout, logout]
systems: [Epic]
audience: [nurses, physicians]
owner: clinical-apps-team
review_by: 2027-06-30
---

# Epic session timeout

Epic signs you out after 15 minutes without activity.
"""


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def load_one(root: Path, relative: str, content: str | bytes) -> ArticleProblem:
    """Load a file expected to fail and return its problem."""
    path = write(root, relative, content)
    with pytest.raises(ArticleError) as caught:
        load_article(path, root)
    return caught.value.problem


def test_front_matter_fields_are_read(tmp_path: Path) -> None:
    article = load_article(write(tmp_path, "ehr/epic-session-timeout.md", FULL_ARTICLE), tmp_path)

    assert article.id == "ehr/epic-session-timeout"
    assert article.title == "Epic session timeout"
    assert article.description == "Why Epic logs you out and how to stay signed in."
    assert article.tags == ("epic", "timeout", "logout")
    assert article.systems == ("Epic",)
    assert article.audience == ("nurses", "physicians")
    assert article.owner == "clinical-apps-team"
    assert article.review_by == "2027-06-30"


def test_body_starts_on_the_line_after_the_front_matter(tmp_path: Path) -> None:
    article = load_article(write(tmp_path, "a.md", FULL_ARTICLE), tmp_path)

    assert article.body_line == 10
    assert article.body.startswith("\n# Epic session timeout")


def test_list_fields_may_be_comma_separated_strings(tmp_path: Path) -> None:
    text = "---\ntitle: VPN\ntags: vpn, remote access ,  globalprotect\nsystems: GlobalProtect\n---\nBody.\n"

    article = load_article(write(tmp_path, "vpn.md", text), tmp_path)

    assert article.tags == ("vpn", "remote access", "globalprotect")
    assert article.systems == ("GlobalProtect",)


def test_review_by_written_as_text_is_kept(tmp_path: Path) -> None:
    article = load_article(write(tmp_path, "a.md", "---\nreview_by: 'June 2027'\n---\nBody.\n"), tmp_path)

    assert article.review_by == "June 2027"


def test_unknown_front_matter_fields_are_ignored(tmp_path: Path) -> None:
    text = '---\ntitle: Printers\nsource: "Office/printers.md"\nms.date: 2024-01-01\n---\nBody.\n'

    article = load_article(write(tmp_path, "printers.md", text), tmp_path)

    assert article.title == "Printers"


def test_empty_front_matter_is_allowed(tmp_path: Path) -> None:
    article = load_article(write(tmp_path, "a.md", "---\n---\n# Wi-Fi\nBody.\n"), tmp_path)

    assert article.title == "Wi-Fi"
    assert article.body_line == 3


def test_front_matter_may_close_with_three_dots(tmp_path: Path) -> None:
    article = load_article(write(tmp_path, "a.md", "---\ntitle: Badges\n...\nBody.\n"), tmp_path)

    assert article.title == "Badges"
    assert article.body == "Body.\n"


def test_without_front_matter_the_first_h1_is_the_title(tmp_path: Path) -> None:
    text = "```\n# not this one\n```\n\nCitrix *Workspace* freezes\n=========================\n\nBody.\n"

    article = load_article(write(tmp_path, "citrix.md", text), tmp_path)

    assert article.title == "Citrix Workspace freezes"
    assert article.body_line == 1
    assert article.description == ""
    assert article.tags == ()


def test_without_front_matter_or_h1_the_file_name_is_the_title(tmp_path: Path) -> None:
    article = load_article(write(tmp_path, "pager-not-beeping.md", "## Check the battery\nBody.\n"), tmp_path)

    assert article.title == "pager-not-beeping"


def test_byte_order_mark_and_crlf_are_tolerated(tmp_path: Path) -> None:
    text = "---\r\ntitle: Printing\r\ntags: a, b\r\n---\r\n# Printing\r\nBody.\r\n"

    article = load_article(write(tmp_path, "p.md", b"\xef\xbb\xbf" + text.encode("utf-8")), tmp_path)

    assert article.title == "Printing"
    assert article.tags == ("a", "b")
    assert article.body == "# Printing\nBody.\n"
    assert article.body_line == 5


def test_invalid_yaml_is_reported_with_file_and_line_and_other_files_still_load(tmp_path: Path) -> None:
    write(tmp_path, "good.md", "---\ntitle: Good\n---\nBody.\n")
    bad = write(tmp_path, "bad.md", "---\ntitle: Bad\ntags: [one, two\nowner: me\n---\nBody.\n")

    articles, problems = load_articles(tmp_path)

    assert [article.id for article in articles] == ["good"]
    assert len(problems) == 1
    assert problems[0].path == bad
    assert problems[0].line == 4  # where the parser found the unclosed list broken
    assert "not valid YAML" in problems[0].message


def test_invalid_yaml_line_points_into_the_file_not_the_front_matter(tmp_path: Path) -> None:
    problem = load_one(tmp_path, "a.md", "---\ntitle: One\ndescription: two\n\tbad: tab\n---\nBody.\n")

    assert problem.line == 4


def test_front_matter_that_is_not_a_mapping_is_a_problem(tmp_path: Path) -> None:
    problem = load_one(tmp_path, "a.md", "---\n- one\n- two\n---\nBody.\n")

    assert problem.line == 2
    assert "key: value" in problem.message
    assert "list" in problem.message


def test_a_field_that_should_be_text_but_is_a_list_is_a_problem_at_its_line(tmp_path: Path) -> None:
    problem = load_one(tmp_path, "a.md", "---\ntags: a\ntitle: [a, b]\n---\nBody.\n")

    assert problem.line == 3
    assert "'title'" in problem.message


def test_unclosed_front_matter_is_a_problem(tmp_path: Path) -> None:
    problem = load_one(tmp_path, "a.md", "---\ntitle: Never closed\n\n# Heading\nBody.\n")

    assert problem.line == 1
    assert "never closed" in problem.message


def test_non_utf8_file_is_a_problem_at_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    problem = load_one(tmp_path, "a.md", b"---\ntitle: Caf\n---\nline four\ncaf\xe9 au lait\n")

    assert problem.line == 5
    assert "UTF-8" in problem.message


def test_unreadable_file_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "secret.md", "# Secret\nBody.\n")

    def refuse(file: str, flags: int, mode: int = 0o777) -> int:
        raise PermissionError(13, "Permission denied", file)

    # Simulated: a chmod 000 file is still readable when the tests run as root.
    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ArticleError) as caught:
        load_article(path, tmp_path)

    assert caught.value.problem.line == 1
    assert "permission denied" in caught.value.problem.message


def test_broken_link_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    write(tmp_path, "good.md", "Body.\n")
    (tmp_path / "gone.md").symlink_to(tmp_path / "missing.md")

    articles, problems = load_articles(tmp_path)

    assert [article.id for article in articles] == ["good"]
    assert [(problem.path.name, problem.line) for problem in problems] == [("gone.md", 1)]
    assert "cannot read the file" in problems[0].message


def test_file_without_body_text_is_a_problem(tmp_path: Path) -> None:
    problem = load_one(tmp_path, "a.md", "---\ntitle: Only a title\n---\n\n  \n")

    assert "no article text" in problem.message
    assert problem.line == 4


def test_empty_file_is_a_problem(tmp_path: Path) -> None:
    problem = load_one(tmp_path, "empty.md", "")

    assert problem.line == 1
    assert "no article text" in problem.message


def test_problem_reads_as_path_line_message(tmp_path: Path) -> None:
    problem = load_one(tmp_path, "a.md", "---\ntitle: x\n")

    assert str(problem) == f"{tmp_path / 'a.md'}:1: {problem.message}"


def test_missing_folder_is_a_knowledge_folder_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeFolderError, match=r"does not exist.*ITBOT_KB.*knowledge/"):
        load_articles(tmp_path / "knowledge")


def test_a_file_instead_of_a_folder_is_a_knowledge_folder_error(tmp_path: Path) -> None:
    write(tmp_path, "knowledge", "not a folder")

    with pytest.raises(KnowledgeFolderError, match="not a folder"):
        load_articles(tmp_path / "knowledge")


def test_folder_without_markdown_files_is_a_knowledge_folder_error(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "not an article")
    write(tmp_path, ".drafts/hidden.md", "# Hidden\nBody.\n")

    with pytest.raises(KnowledgeFolderError, match=r"no \.md file"):
        load_articles(tmp_path)


def test_ids_use_slashes_and_articles_come_sorted(tmp_path: Path) -> None:
    for relative in ("network/wifi.md", "access/badge.md", "ehr/epic/login.md"):
        write(tmp_path, relative, "Body.\n")

    articles, problems = load_articles(tmp_path)

    assert problems == []
    assert [article.id for article in articles] == ["access/badge", "ehr/epic/login", "network/wifi"]


def test_id_keeps_spaces_and_quotes_from_the_file_name(tmp_path: Path) -> None:
    write(tmp_path, "desktop/Printer won't print “urgent”.md", "Body.\n")

    articles, _ = load_articles(tmp_path)

    assert articles[0].id == "desktop/Printer won't print “urgent”"


def test_hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "visible.md", "Body.\n")
    write(tmp_path, ".hidden.md", "Body.\n")
    write(tmp_path, ".git/notes.md", "Body.\n")
    write(tmp_path, "ehr/.trash/old.md", "Body.\n")

    articles, problems = load_articles(tmp_path)

    assert [article.id for article in articles] == ["visible"]
    assert problems == []


def test_links_to_files_inside_are_read_outside_refused_and_links_to_folders_not_followed(
    tmp_path: Path,
) -> None:
    kb = tmp_path / "kb"
    write(kb, "network/wifi.md", "Body.\n")
    write(tmp_path, "elsewhere/printer.md", "Body.\n")
    (kb / "wifi-again.md").symlink_to(kb / "network" / "wifi.md")
    (kb / "printer.md").symlink_to(tmp_path / "elsewhere" / "printer.md")
    (kb / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    articles, problems = load_articles(kb)

    assert [article.id for article in articles] == ["network/wifi", "wifi-again"]
    assert [(problem.path.name, problem.line) for problem in problems] == [("printer.md", 1)]
    assert "outside the knowledge folder" in problems[0].message


def test_knowledge_paths_are_relative_with_slashes_and_full_as_strings(tmp_path: Path) -> None:
    write(tmp_path, "ehr/epic/login.md", "Body.\n")
    write(tmp_path, "access.md", "Body.\n")

    assert knowledge_paths(tmp_path) == [
        ("access.md", str(tmp_path / "access.md")),
        ("ehr/epic/login.md", str(tmp_path / "ehr" / "epic" / "login.md")),
    ]


def test_the_markdown_and_yaml_parsers_are_imported_only_to_parse_an_article() -> None:
    probe = "import sys, indexer.sources; print(sorted({'markdown_it', 'yaml'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_ids_differing_only_in_letter_case_report_the_later_file(tmp_path: Path) -> None:
    first = write(tmp_path, "ehr/Epic.md", "Body one.\n")
    second = write(tmp_path, "ehr/epic.md", "Body two.\n")
    if len(list((tmp_path / "ehr").iterdir())) < 2:
        pytest.skip("the file system ignores letter case, so the two files are one")

    articles, problems = load_articles(tmp_path)

    assert [article.id for article in articles] == ["ehr/Epic"]
    assert [problem.path for problem in problems] == [second]
    assert problems[0].message.startswith(f"duplicate article id, same as {first}")


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "Body.\n")
    write(tmp_path, "b.md", b"\xff\xfe")
    write(tmp_path, "c.md", "---\nx: 1\n")

    articles, problems = load_articles(tmp_path)

    assert [article.id for article in articles] == ["a"]
    assert sorted(problem.path.name for problem in problems) == ["b.md", "c.md"]

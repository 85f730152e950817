"""Reading the curated glossary file: absent, valid, broken, wrongly shaped, with bad entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.glossary import load_glossary
from indexer.lexical import Glossary


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "glossary.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_glossary_file_is_an_empty_glossary_without_problems(tmp_path: Path) -> None:
    assert load_glossary(tmp_path / "glossary.yml") == (Glossary(), [])


def test_an_empty_glossary_file_is_an_empty_glossary_without_problems(tmp_path: Path) -> None:
    assert load_glossary(write(tmp_path, "# nothing yet\n")) == (Glossary(), [])


def test_a_valid_glossary_gives_one_group_per_entry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# synonyms staff use\nterms:\n  - [wow, workstation on wheels, cow]\n  - [pw, password]\n",
    )
    glossary, problems = load_glossary(path)
    assert problems == []
    assert glossary == Glossary.from_terms([["wow", "workstation on wheels", "cow"], ["pw", "password"]])


def test_numbers_in_an_entry_are_read_as_terms(tmp_path: Path) -> None:
    glossary, problems = load_glossary(write(tmp_path, "terms:\n  - [mfa, 2fa]\n  - [ext, 4357]\n"))
    assert problems == []
    assert glossary.to_json() == [["mfa", "2fa"], ["ext", "4357"]]


def test_invalid_yaml_is_reported_with_the_file_and_line_and_gives_an_empty_glossary(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "terms:\n  - [wow, cow]\n\t- [pw, password]\n")
    glossary, problems = load_glossary(path)
    assert glossary == Glossary()
    assert len(problems) == 1
    assert problems[0].path == path
    assert problems[0].line == 3
    assert "not valid YAML" in problems[0].message
    assert str(problems[0]).startswith(f"{path}:3: ")


@pytest.mark.parametrize(
    "text", ["- [wow, cow]\n", "terms: wow\n", "words:\n  - [wow, cow]\n"], ids=["list", "string", "no-terms"]
)
def test_a_file_without_a_terms_list_is_reported_and_gives_an_empty_glossary(
    tmp_path: Path, text: str
) -> None:
    path = write(tmp_path, text)
    glossary, problems = load_glossary(path)
    assert glossary == Glossary()
    assert [(p.path, p.line) for p in problems] == [(path, 1)]
    assert "'terms:'" in problems[0].message


def test_a_malformed_entry_is_reported_and_skipped_while_the_others_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "terms:\n  - [wow, cow]\n  - [lonely]\n  - {pw: password}\n  - [vpn, globalprotect]\n",
    )
    glossary, problems = load_glossary(path)
    assert glossary.to_json() == [["wow", "cow"], ["vpn", "globalprotect"]]
    assert len(problems) == 2
    assert all(p.path == path for p in problems)
    assert "entry 2" in problems[0].message
    assert "entry 3" in problems[1].message
    assert all("skipped" in p.message for p in problems)


def test_a_file_that_is_not_utf8_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yml"
    path.write_bytes(b"terms:\n  - [caf\xe9, coffee]\n")
    glossary, problems = load_glossary(path)
    assert glossary == Glossary()
    assert [p.path for p in problems] == [path]

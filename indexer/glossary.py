"""Reading the curated glossary file (``glossary.yml`` in the knowledge folder)."""

from __future__ import annotations

from pathlib import Path

import yaml

from indexer.lexical import Glossary
from indexer.models import ArticleProblem

GLOSSARY_FILE = "glossary.yml"


def load_glossary(path: Path) -> tuple[Glossary, list[ArticleProblem]]:
    """The glossary in ``path`` (empty if the file is absent) and what was wrong with it, if anything.

    The file holds ``terms:``, a list of lists of synonymous terms. A malformed file is reported
    with its line and yields an empty glossary; a malformed entry is reported and skipped.
    """
    if not path.exists():
        return Glossary(), []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return Glossary(), [ArticleProblem(path, line, f"glossary is not valid YAML: {exc}")]
    except (OSError, UnicodeDecodeError) as exc:
        return Glossary(), [ArticleProblem(path, 1, f"glossary could not be read: {exc}")]
    if data is None:
        return Glossary(), []
    terms = data.get("terms") if isinstance(data, dict) else None
    if not isinstance(terms, list):
        return Glossary(), [ArticleProblem(path, 1, "glossary must have a 'terms:' list of synonym lists")]
    groups: list[list[str]] = []
    problems: list[ArticleProblem] = []
    for n, entry in enumerate(terms, 1):
        if (
            isinstance(entry, list)
            and all(isinstance(t, str | int | float) for t in entry)
            and len(entry) >= 2
        ):
            groups.append([str(t) for t in entry])
        else:
            problems.append(
                ArticleProblem(path, 1, f"glossary entry {n} is not a list of two or more terms; skipped")
            )
    return Glossary.from_terms(groups), problems

"""The knowledge folder as curators edit it: list, read, check, save (no web framework here).

Saving is confined to the knowledge folder: an article id that names a path outside it (``..``,
an absolute path, a hidden folder, a link leading out) is refused before anything is read or
written. A save names the SHA-256 of the file as the curator's form showed it; when the file has
changed since, nothing is written and the caller gets the current text to show as a diff. The
file is replaced atomically (a temporary file in the same folder, then ``os.replace``); callers hold
``saving`` around the check and the write, so two curators saving at once cannot both pass it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from indexer.articles import (
    ArticleError,
    ArticleIds,
    confined_path,
    knowledge_paths,
    load_article,
    load_articles,
    parse_article,
    read_source,
)
from indexer.models import Article, ArticleProblem

FIELDS = ("title", "description", "tags", "systems", "audience", "owner", "review_by")
LIST_FIELDS = frozenset({"tags", "systems", "audience"})
MAX_ID_CHARS = 200


class OutsideKnowledge(ValueError):
    """An article id that would name a file outside the knowledge folder (or no valid file)."""


@dataclass(frozen=True)
class ArticleRow:
    """One line of the article list: what it is, whether it needs attention, and how it is used."""

    id: str
    title: str
    owner: str
    systems: tuple[str, ...]
    review_by: str
    overdue: bool
    unowned: bool
    cited: int = 0
    fixed: int = 0
    stuck: int = 0

    @property
    def flagged(self) -> bool:
        """Past its review date or without an owner."""
        return self.overdue or self.unowned

    @property
    def fixed_rate(self) -> float | None:
        """Share of "That fixed it" among the answers from it that got feedback (None: none did)."""
        rated = self.fixed + self.stuck
        return self.fixed / rated if rated else None


def _overdue(review_by: str, today: dt.date) -> bool:
    try:
        return dt.date.fromisoformat(review_by) < today
    except ValueError:
        return False


class ArticleMemo:
    """Articles already read from the knowledge folder, each under its file's size, modification time
    and inode, so a page that lists them all parses only the files that changed. Thread-safe."""

    def __init__(self) -> None:
        self._read: dict[str, tuple[tuple[int, int, int], Article | ArticleProblem]] = {}
        self._lock = threading.Lock()

    def load(self, root: Path) -> tuple[list[Article], list[ArticleProblem]]:
        """What ``load_articles(root)`` returns, re-reading only changed files."""
        articles: list[Article] = []
        problems: list[ArticleProblem] = []
        ids = ArticleIds()
        seen: set[str] = set()
        for _relative, name in knowledge_paths(root):
            seen.add(name)
            try:
                facts = os.stat(name)
            except OSError:
                continue  # removed since the folder was listed
            stamp = (facts.st_size, facts.st_mtime_ns, facts.st_ino)
            with self._lock:
                known = self._read.get(name)
            if known is not None and known[0] == stamp:
                found = known[1]
            else:
                try:
                    found = load_article(Path(name), root)
                except ArticleError as error:
                    found = error.problem
                with self._lock:
                    self._read[name] = (stamp, found)
            if isinstance(found, ArticleProblem):
                problems.append(found)
                continue
            try:
                ids.claim(found.id, name)
            except ArticleError as error:
                problems.append(error.problem)
                continue
            articles.append(found)
        with self._lock:
            for gone in set(self._read) - seen:
                del self._read[gone]
        return articles, problems


def article_rows(
    kb: Path, *, today: dt.date, use: dict[str, tuple[int, int, int]], memo: ArticleMemo | None = None
) -> tuple[list[ArticleRow], list[ArticleProblem]]:
    """Every article of ``kb`` with its flags and use (``use``: id → (cited, fixed, stuck)), by id,
    and the files that could not be read (with file and line); with a ``memo``, unchanged files are
    not read again."""
    articles, problems = memo.load(kb) if memo is not None else load_articles(kb)
    rows = [_row(article, today, use.get(article.id, (0, 0, 0))) for article in articles]
    return rows, problems


def _row(article: Article, today: dt.date, use: tuple[int, int, int]) -> ArticleRow:
    return ArticleRow(
        id=article.id,
        title=article.title,
        owner=article.owner,
        systems=tuple(article.systems),
        review_by=article.review_by,
        overdue=_overdue(article.review_by, today),
        unowned=not article.owner,
        cited=use[0],
        fixed=use[1],
        stuck=use[2],
    )


def ordered_rows(rows: list[ArticleRow], *, owner: str, query: str = "") -> list[ArticleRow]:
    """``rows`` that match ``query`` (in id, title, owner or systems; any letter case), flagged ones
    first (those owned by ``owner`` before the others), then by id."""
    needle = query.strip().casefold()

    def matches(row: ArticleRow) -> bool:
        haystack = " ".join((row.id, row.title, row.owner, *row.systems)).casefold()
        return not needle or needle in haystack

    def rank(row: ArticleRow) -> tuple[int, str]:
        if row.flagged and owner and row.owner.casefold() == owner.casefold():
            return 0, row.id
        return (1 if row.flagged else 2), row.id

    return sorted((row for row in rows if matches(row)), key=rank)


def article_path(kb: Path, article_id: str) -> Path:
    """The file of ``article_id`` inside ``kb``; `OutsideKnowledge` for an id that is empty, too
    long, absolute, has ``..``, ``.`` or hidden parts, backslashes or control characters, or whose
    file (or a folder on the way) is a link leading outside the folder."""
    parts = article_id.split("/")
    bad = (
        not article_id
        or len(article_id) > MAX_ID_CHARS
        or "\\" in article_id
        or any(ord(c) < 32 or c == "\x7f" for c in article_id)
        or any(not part or part.startswith(".") for part in parts)
    )
    if bad:
        raise OutsideKnowledge(f"{article_id!r} is not an article id inside the knowledge folder")
    path = kb / Path(*parts).with_name(parts[-1] + ".md")
    inside = os.path.realpath(kb)
    if os.path.commonpath([os.path.realpath(path), inside]) != inside:
        raise OutsideKnowledge(f"{article_id!r} leads outside the knowledge folder")
    try:
        confined_path(os.fspath(path), kb)
    except ArticleError as error:
        raise OutsideKnowledge(error.problem.message) from None
    return path


def digest(data: bytes) -> str:
    """The SHA-256 of a file's bytes, hex: what a form sends back to prove which version it edited."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Draft:
    """An article as the edit form shows it: front-matter fields and the Markdown body."""

    fields: dict[str, str]
    body: str
    other: dict[str, Any] = field(default_factory=dict)  # front matter the form does not show

    def text(self) -> str:
        """The file this draft makes: the front matter (fields first, others kept) and the body."""
        matter: dict[str, Any] = {}
        for name in FIELDS:
            value = self.fields.get(name, "").strip()
            if not value:
                continue
            matter[name] = (
                [v.strip() for v in value.split(",") if v.strip()] if name in LIST_FIELDS else value
            )
        matter.update({k: v for k, v in self.other.items() if k not in FIELDS})
        front = yaml.safe_dump(
            matter, sort_keys=False, allow_unicode=True, default_flow_style=None, width=1000
        )
        body = self.body.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n")
        return f"---\n{front}---\n\n{body.rstrip()}\n"

    @property
    def front_lines(self) -> int:
        """How many lines of the file come before the body's first line."""
        return self.text().split("\n").index("---", 1) + 2


def new_article(title: str) -> Draft:
    """The draft a new article starts from: its title, and the headings articles use."""
    title = " ".join(title.split())[:200]
    heading = title or "New article"
    return Draft(
        fields={name: title if name == "title" else "" for name in FIELDS},
        body=f"# {heading}\n\n## Fix it\n\n1. \n",
    )


def _matter_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_matter_value(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def read_draft(path: Path, kb: Path, *, max_bytes: int) -> tuple[Draft, str]:
    """The draft of the file at ``path`` and the digest of its bytes. A file whose front matter does
    not parse comes back with empty fields and the whole file as the body, so it can be fixed."""
    raw = read_source(path, kb, max_bytes=max_bytes)
    return draft_from_text(raw.decode("utf-8", errors="replace")), digest(raw)


def draft_from_text(text: str) -> Draft:
    """The draft of a file's ``text``. Text whose front matter does not parse comes back with empty
    fields and the whole text as the body, so it can be fixed."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[0].rstrip() == "---":
        close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
        if close is not None:
            with contextlib.suppress(yaml.YAMLError):
                data = yaml.safe_load("\n".join(lines[1:close])) or {}
                if isinstance(data, dict):
                    matter = {str(k).strip().lower(): v for k, v in data.items()}
                    fields = {name: _matter_value(matter.get(name)) for name in FIELDS}
                    other = {k: v for k, v in matter.items() if k not in FIELDS}
                    body = "\n".join(lines[close + 1 :]).lstrip("\n")
                    return Draft(fields=fields, body=body, other=other)
    return Draft(fields={name: "" for name in FIELDS}, body=text)


def text_diff(before: str, after: str, *, before_name: str, after_name: str) -> str:
    """A unified diff from ``before`` to ``after`` (empty when they are the same)."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=before_name,
            tofile=after_name,
        )
    )


def check_text(path: Path, kb: Path, text: str) -> ArticleProblem | None:
    """What the indexer would refuse in ``text`` as the file at ``path`` (file and line), or None."""
    try:
        parse_article(path, kb, text.encode("utf-8"))
    except ArticleError as error:
        return error.problem
    return None


@dataclass(frozen=True)
class Stale:
    """The file changed since the form was opened: its text now, and the diff to the curator's."""

    current: str
    diff: str


def save_text(path: Path, kb: Path, text: str, *, base_digest: str, max_bytes: int) -> Stale | str:
    """Write ``text`` to ``path`` unless the file changed since the curator read it (its digest is
    not ``base_digest``; "" means the file must not exist yet): then `Stale`, and nothing is
    written. Returns the new digest. Raises `OutsideKnowledge` for a path outside ``kb``."""
    relative = path.relative_to(kb).as_posix().removesuffix(".md")
    article_path(kb, relative)  # checked again right before writing: a link may have appeared
    current = b""
    if path.exists():
        current = read_source(path, kb, max_bytes=max_bytes)
    if (digest(current) if path.exists() else "") != base_digest:
        before = current.decode("utf-8", errors="replace")
        return Stale(
            current=before, diff=text_diff(before, text, before_name="the file now", after_name="your edit")
        )
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".itbot-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return digest(data)


@contextlib.contextmanager
def saving(lock_file: Path) -> Iterator[None]:
    """Hold the exclusive lock of saves (``flock`` on ``lock_file``, made if missing) for the block:
    the stale check and the write of one save happen before any other's, across server processes."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

"""Knowledge files -> `Article`s: YAML front matter plus the Markdown body.

A file that cannot be indexed becomes an `ArticleProblem` naming the file and the 1-based line,
worded for the curator who has to fix it; the other files still load.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.markdown_text import collapse, first_h1
from indexer.models import Article, ArticleProblem

if TYPE_CHECKING:
    from types import ModuleType

_BOM = b"\xef\xbb\xbf"
# The largest knowledge file indexed unless ITBOT_MAX_ARTICLE_BYTES says otherwise: a hundred
# times a long article, far less than what would make the index or the server's memory balloon.
DEFAULT_MAX_ARTICLE_BYTES = 1_000_000
_FIX_FOLDER = "set ITBOT_KB to your knowledge folder or create knowledge/"


class KnowledgeFolderError(Exception):
    """The knowledge folder is missing, is not a folder, or holds no Markdown article."""


class ArticleError(Exception):
    """One knowledge file cannot be indexed; ``problem`` says where and why."""

    def __init__(self, problem: ArticleProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def load_article(path: Path, root: Path) -> Article:
    """Read one Markdown file under ``root`` into an `Article`.

    The id is ``path`` relative to ``root`` without ``.md``, with ``/`` separators, the file name
    kept as it is. Front matter (YAML between a first ``---`` line and the next ``---`` or ``...``
    line) gives title, description, tags, systems, audience, owner and review_by; other fields are
    ignored. Lists may be YAML lists or comma-separated strings; a date ``review_by`` becomes an ISO
    string. Without a front-matter title the first H1 is the title, else the file name. A UTF-8 BOM
    and CRLF line ends are accepted. Raises `ArticleError` for an unreadable or non-UTF-8 file,
    invalid, non-mapping or unclosed front matter, a malformed field, or a file with no body text.
    Raises ValueError if ``path`` is not under ``root``.
    """
    return parse_article(path, root, read_source(path, root))


def read_source(path: Path, root: Path, *, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> bytes:
    """The bytes of the knowledge file ``path`` under ``root``, at most ``max_bytes`` of them.

    Only regular files inside ``root`` are read: a link is followed only when it leads to a file
    inside ``root`` (`confined_path`), and the file is opened without following a link, so one
    swapped in after the check is refused too. `ArticleError` when the file cannot be read, leads
    outside ``root``, is not a regular file (a device, a FIFO, a folder), or holds more than
    ``max_bytes`` (`check_size`; never more than one byte over is read, even from a file that
    grows while it is read).
    """
    real = confined_path(os.fspath(path), root)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(real, flags)
    except PermissionError:
        raise _error(path, 1, "cannot read the file: permission denied") from None
    except OSError as error:
        raise _error(path, 1, f"cannot read the file: {error.strerror or error}") from None
    with open(descriptor, "rb") as file:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise _error(path, 1, "not a regular file; only Markdown files are indexed")
        check_size(path, status.st_size, max_bytes)
        try:
            data = file.read(max_bytes + 1)
        except OSError as error:
            raise _error(path, 1, f"cannot read the file: {error.strerror or error}") from None
        check_size(path, len(data), max_bytes)
        return data


def check_size(path: Path | str, size: int, max_bytes: int) -> None:
    """`ArticleError` naming the file, its size and the limit when ``size`` is over ``max_bytes``."""
    if size <= max_bytes:
        return
    shown, limit = _megabytes(size), _megabytes(max_bytes)
    if shown == limit:
        shown, limit = f"{size:,} bytes", f"{max_bytes:,}-byte"
    raise _error(
        Path(path), 1, f"article is {shown}, over the {limit} limit (ITBOT_MAX_ARTICLE_BYTES); split it"
    )


def _megabytes(size: int) -> str:
    number = f"{size / 1_000_000:.1f}".removesuffix(".0")
    return f"{number} MB"


def confined_path(path: str, root: Path) -> str:
    """``path`` itself, or, when it is a symbolic link, the real path it leads to.

    Raises `ArticleError` for a link that leads outside the real path of ``root`` (such as a link
    to ``/proc/self/environ`` or ``/etc/passwd``): the file it names is never read, so no secret
    of the server can become an article. Costs one ``lstat`` for a file that is not a link.
    """
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return path  # reading it reports why
    if not is_link:
        return path
    real = os.path.realpath(path)
    inside = os.path.realpath(root)
    if os.path.commonpath([real, inside]) != inside:
        raise _error(
            Path(path),
            1,
            f"a link to {real}, outside the knowledge folder; not read (copy the article into the folder)",
        )
    return real


def parse_article(path: Path, root: Path, raw: bytes) -> Article:
    """The `Article` that the file ``path`` under ``root`` makes of its bytes ``raw``.

    Exactly what `load_article` returns or raises for a file holding ``raw``; reading is left to
    the caller (`read_source`), so a caller that hashes the bytes reads each file once.
    """
    article_id = _article_id(path, root)
    text = _decode(path, raw)
    lines = text.split("\n")
    fields: dict[str, Any] = {}
    body_start = 0  # 0-based index into `lines` where the body begins
    if lines[0].rstrip() == "---":
        close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
        if close is None:
            raise _error(
                path, 1, "front matter starts with '---' but is never closed; add a '---' line after it"
            )
        fields = _parse_front_matter(path, lines, close)
        body_start = close + 1
    body = "\n".join(lines[body_start:])
    if not body.strip():
        where = "after the front matter" if body_start else "in the file"
        raise _error(
            path, min(body_start + 1, len(lines)), f"no article text {where}; write the article body"
        )

    title = _text_field(path, lines, fields, "title") or first_h1(body) or path.stem
    return Article(
        id=article_id,
        path=path,
        title=title,
        body=body,
        body_line=body_start + 1,
        description=_text_field(path, lines, fields, "description"),
        tags=_list_field(path, lines, fields, "tags"),
        systems=_list_field(path, lines, fields, "systems"),
        audience=_list_field(path, lines, fields, "audience"),
        owner=_text_field(path, lines, fields, "owner"),
        review_by=_text_field(path, lines, fields, "review_by"),
    )


def load_articles(root: Path) -> tuple[list[Article], list[ArticleProblem]]:
    """Load every ``*.md`` file under ``root`` (recursively, hidden files and folders skipped).

    Articles come back sorted by id. A file that cannot be indexed becomes a problem and the rest
    still load; a file whose id differs from an earlier one only in letter case is a problem too,
    and is skipped. Raises `KnowledgeFolderError` if ``root`` is missing, is not a folder, or holds
    no Markdown file.
    """
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    ids = ArticleIds()
    for _, path in knowledge_files(root):
        try:
            article = load_article(path, root)
            ids.claim(article.id, path)
        except ArticleError as error:
            problems.append(error.problem)
            continue
        articles.append(article)
    return articles, problems


def knowledge_files(root: Path) -> list[tuple[str, Path]]:
    """The ``*.md`` files under ``root`` (recursively, hidden files and folders skipped), each as
    (its path relative to ``root`` with ``/`` separators, its path), sorted by the former.

    Raises `KnowledgeFolderError` if ``root`` is missing, is not a folder, or holds no Markdown file.
    """
    return [(relative, Path(path)) for relative, path in knowledge_paths(root)]


def knowledge_paths(root: Path) -> list[tuple[str, str]]:
    """`knowledge_files` with each file's path as a string, for callers that rarely need a `Path`."""
    if not root.exists():
        raise KnowledgeFolderError(f"knowledge folder {root} does not exist; {_FIX_FOLDER}")
    if not root.is_dir():
        raise KnowledgeFolderError(f"knowledge folder {root} is not a folder; {_FIX_FOLDER}")
    files = sorted(_markdown_files(os.fspath(root), ""))
    if not files:
        raise KnowledgeFolderError(f"knowledge folder {root} holds no .md file; {_FIX_FOLDER}")
    return files


class ArticleIds:
    """The article ids taken so far in one pass over the knowledge folder (ids ignore letter case)."""

    def __init__(self) -> None:
        self._seen: dict[str, Path | str] = {}

    def claim(self, article_id: str, path: Path | str) -> None:
        """Take ``article_id`` for ``path``; `ArticleError` if an earlier file took it already."""
        key = unicodedata.normalize("NFC", article_id).casefold()
        other = self._seen.get(key)
        if other is not None:
            raise _error(Path(path), 1, f"duplicate article id, same as {other} (ids ignore letter case)")
        self._seen[key] = path


def _markdown_files(folder: str, prefix: str) -> Iterator[tuple[str, str]]:
    """(relative path, path) of the Markdown files under ``folder``, whose relative path is
    ``prefix``. As `os.walk` does: a folder that cannot be listed is skipped, and links to
    folders are not followed."""
    files: list[tuple[str, str]] = []
    subfolders: list[tuple[str, str]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                if _is_folder(entry):
                    if not entry.is_symlink():
                        subfolders.append((entry.path, f"{prefix}{name}/"))
                elif name.endswith(".md"):
                    files.append((prefix + name, entry.path))
    except OSError:
        return
    yield from files
    for path, relative in subfolders:
        yield from _markdown_files(path, relative)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _article_id(path: Path, root: Path) -> str:
    relative = path.relative_to(root).as_posix()
    return relative[: -len(".md")] if relative.endswith(".md") else relative


def _error(path: Path, line: int, message: str) -> ArticleError:
    return ArticleError(ArticleProblem(path, line, message))


def _decode(path: Path, raw: bytes) -> str:
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise _error(
            path,
            line,
            f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column {column}); save the file as UTF-8",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _yaml() -> ModuleType:
    # Imported on the first article parsed: a re-index that parses nothing never loads it.
    import yaml

    return yaml


def _parse_front_matter(path: Path, lines: list[str], close: int) -> dict[str, Any]:
    source = "\n".join(lines[1:close])
    yaml = _yaml()
    try:
        data = yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = 2 + mark.line if mark is not None else 1
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise _error(path, line, f"front matter is not valid YAML: {reason}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single {type(data).__name__} value"
        raise _error(path, 2, f"front matter must be 'key: value' lines, found {kind}")
    return {str(key).strip().lower(): value for key, value in data.items()}


def _field_line(lines: list[str], name: str) -> int:
    for index, line in enumerate(lines[1:], start=2):
        if line.lower().startswith(name) and line[len(name) :].lstrip().startswith(":"):
            return index
        if line.rstrip() in ("---", "..."):
            break
    return 1


def _scalar_text(value: object) -> str | None:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):
        return collapse(str(value))
    return None


def _text_field(path: Path, lines: list[str], fields: dict[str, Any], name: str) -> str:
    text = _scalar_text(fields.get(name))
    if text is None:
        raise _error(path, _field_line(lines, name), f"'{name}' must be a single line of text")
    return text


def _list_field(path: Path, lines: list[str], fields: dict[str, Any], name: str) -> tuple[str, ...]:
    value = fields.get(name)
    items: list[object]
    if isinstance(value, str):
        items = list(value.split(","))
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    result: list[str] = []
    for item in items:
        text = _scalar_text(item)
        if text is None:
            raise _error(
                path, _field_line(lines, name), f"'{name}' must be a list of words or a comma-separated line"
            )
        if text and text not in result:
            result.append(text)
    return tuple(result)

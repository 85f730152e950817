"""``itbot index``: build or refresh the index from the knowledge folder.

A re-index after editing one article has to finish within a second, and importing pydantic and
pydantic-settings alone takes about 0.3 s. So this command does not build the full `Settings`:
`IndexSettings` reads the six variables the command uses the way `Settings` reads them
(``ITBOT_`` names in any letter case, the same defaults) and hands any value it does not know to
be plain over to `Settings` itself, which accepts or refuses it exactly as for every other command.
tests/unit/channels/test_cli_index.py keeps the two readings equal.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_OK = 0
EXIT_SETUP = 2
_PLAIN_COUNT = re.compile(r"[1-9][0-9]{0,17}")
_MAX_COUNT = 10**18


@dataclass(frozen=True)
class IndexSettings:
    """The settings `itbot index` uses, with the defaults of `bot.config.Settings`."""

    home: Path = Path("./var")
    kb: Path = Path("./knowledge")
    model: str = "all-MiniLM-L6-v2"
    max_tokens: int = 128
    build_precision: str = "bf16"
    max_article_bytes: int = 1_000_000

    @classmethod
    def from_environment(cls) -> IndexSettings:
        """Read ``ITBOT_HOME``, ``ITBOT_KB``, ``ITBOT_MODEL``, ``ITBOT_MAX_TOKENS``,
        ``ITBOT_BUILD_PRECISION`` and ``ITBOT_MAX_ARTICLE_BYTES`` as `Settings` does, raising what
        it raises for a bad value."""
        environment = {name.lower(): value for name, value in os.environ.items()}
        max_tokens = environment.get("itbot_max_tokens")
        if max_tokens is not None and not _plain_count(max_tokens, low=16, high=512):
            return cls.of(_full_settings())
        max_article = environment.get("itbot_max_article_bytes")
        if max_article is not None and not _plain_count(max_article, low=1, high=_MAX_COUNT):
            return cls.of(_full_settings())
        defaults = cls()
        return cls(
            home=Path(environment.get("itbot_home", defaults.home)),
            kb=Path(environment.get("itbot_kb", defaults.kb)),
            model=environment.get("itbot_model", defaults.model),
            max_tokens=defaults.max_tokens if max_tokens is None else int(max_tokens),
            build_precision=environment.get("itbot_build_precision", defaults.build_precision),
            max_article_bytes=defaults.max_article_bytes if max_article is None else int(max_article),
        )

    @classmethod
    def of(cls, settings: Settings) -> IndexSettings:
        """The index settings among ``settings``."""
        return cls(
            settings.home,
            settings.kb,
            settings.model,
            settings.max_tokens,
            settings.build_precision,
            settings.max_article_bytes,
        )

    @property
    def index_root(self) -> Path:
        """The folder that holds every built index and the ``current`` pointer (as `Settings`)."""
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        """Where exported models (ONNX) are cached (as `Settings`)."""
        return self.home / "models"


def _plain_count(text: str, *, low: int, high: int) -> bool:
    return _PLAIN_COUNT.fullmatch(text) is not None and low <= int(text) <= high


def _full_settings() -> Settings:
    from bot.config import Settings

    return Settings()


def _single_blas_thread() -> None:
    """Have numpy's OpenBLAS start no worker threads (unless the environment already decides).

    At import, OpenBLAS starts a thread per core that spins for about 0.1 s waiting for work; an
    index build gives it none (ONNX Runtime and torch run their own threads), and on a two-core
    machine the spinning slows the build. Only takes effect before numpy is first imported.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def add_parser(sub: Any) -> None:
    """Register ``itbot index`` on the CLI's subparsers."""
    p_index = sub.add_parser("index", help="build or refresh the index from $ITBOT_KB")
    p_index.add_argument("--force", action="store_true", help="rebuild even if nothing changed")


def run(settings: IndexSettings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Build or refresh the index; print what was done and every problem with file and line."""
    _single_blas_thread()
    from indexer.articles import KnowledgeFolderError
    from indexer.build import build_index
    from indexer.encoder import EncoderError, load_encoder

    try:
        encoder = load_encoder(
            settings.model,
            cache_dir=settings.models_dir,
            precision=settings.build_precision,
            max_tokens=settings.max_tokens,
        )
        report = build_index(
            settings.kb,
            settings.index_root,
            encoder,
            force=args.force,
            max_article_bytes=settings.max_article_bytes,
        )
    except (KnowledgeFolderError, EncoderError) as exc:
        print(f"itbot index: {exc}", file=err)
        return EXIT_SETUP
    for problem in report.problems:
        print(f"warning: {problem}", file=err)
    m = report.manifest
    if report.unchanged:
        print(f"Index is up to date: {m.articles} articles, {m.chunks} chunks ({report.folder}).", file=out)
    else:
        print(
            f"Indexed {m.articles} articles into {m.chunks} chunks in {report.seconds:.1f} s "
            f"({m.embedded} embedded, {m.reused} reused; {len(report.problems)} problems) -> {report.folder}",
            file=out,
        )
    return EXIT_OK

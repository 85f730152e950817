"""Fixtures shared by the indexer's build and store tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_kb import write_tiny_kb


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """The tiny knowledge folder, written under ``tmp_path``."""
    return write_tiny_kb(tmp_path / "kb")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Where the index builds go."""
    return tmp_path / "index"

"""Files written as pieces: new bytes and ranges of other files, copied by the kernel or by hand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.pieces import Pieces, write_pieces

SOURCE = b"".join(f"line {n}\n".encode() for n in range(1000))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.jsonl"
    path.write_bytes(SOURCE)
    return path


def test_new_bytes_and_ranges_come_out_in_order(source: Path, tmp_path: Path) -> None:
    pieces = Pieces()
    with source.open("rb") as file:
        pieces.add(b"first\n")
        pieces.copy(file, 0, 7)
        pieces.copy(file, 7, 14)  # follows the range before: joined into one
        pieces.add(b"middle\n")
        pieces.copy(file, 700, len(SOURCE))
        write_pieces(tmp_path / "out", pieces)
    assert len(pieces.items()) == 4
    assert (tmp_path / "out").read_bytes() == b"first\n" + SOURCE[:14] + b"middle\n" + SOURCE[700:]


def test_ranges_are_copied_by_hand_where_the_kernel_cannot(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> int:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    pieces = Pieces()
    with source.open("rb") as file:
        pieces.copy(file, 100, 5000)
        pieces.add(b"end\n")
        write_pieces(tmp_path / "out", pieces)
    assert (tmp_path / "out").read_bytes() == SOURCE[100:5000] + b"end\n"


def test_a_range_past_the_end_of_its_file_is_an_error(source: Path, tmp_path: Path) -> None:
    pieces = Pieces()
    with source.open("rb") as file:
        pieces.copy(file, 0, len(SOURCE) + 10)
        with pytest.raises(OSError, match="ends before"):
            write_pieces(tmp_path / "out", pieces)

"""Files of a new build written as pieces: new bytes, and byte ranges of the live build's files.

A range is copied by the kernel (``copy_file_range``), so the bytes a re-index takes over from
the live build (most of ``chunks.jsonl``, ``articles.jsonl`` and ``vectors.npy``) are neither read
into the process nor copied through it. Where the kernel cannot copy, the range is read and written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple


class FileRange(NamedTuple):
    """Bytes ``start`` to ``end`` (exclusive) of the open file ``file``."""

    file: BinaryIO
    start: int
    end: int


Piece = bytes | FileRange


class Pieces:
    """The pieces of one file, in order; ranges that follow each other in one file are joined."""

    def __init__(self) -> None:
        self._pieces: list[Piece] = []

    def add(self, data: bytes) -> None:
        """Add new bytes."""
        self._pieces.append(data)

    def copy(self, file: BinaryIO, start: int, end: int) -> None:
        """Add bytes ``start`` to ``end`` of ``file``, joined to the range before when they follow it."""
        last = self._pieces[-1] if self._pieces else None
        if isinstance(last, FileRange) and last.file is file and last.end == start:
            self._pieces[-1] = FileRange(file, last.start, end)
        else:
            self._pieces.append(FileRange(file, start, end))

    def items(self) -> list[Piece]:
        """The pieces, in order."""
        return list(self._pieces)


def write_pieces(path: Path, pieces: Sequence[Piece] | Pieces) -> None:
    """Write ``pieces`` one after another into a new file ``path``."""
    items = pieces.items() if isinstance(pieces, Pieces) else list(pieces)
    with path.open("wb", buffering=0) as out:
        fd = out.fileno()
        pending: list[bytes] = []
        for piece in items:
            if isinstance(piece, FileRange):
                _write_all(fd, b"".join(pending))
                pending = []
                _copy_range(piece, fd)
            else:
                pending.append(piece)
        _write_all(fd, b"".join(pending))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_range(piece: FileRange, fd: int) -> None:
    """Append ``piece`` to the file open at ``fd`` (at its current position)."""
    source = piece.file.fileno()
    offset = piece.start
    while offset < piece.end:
        try:
            copied = os.copy_file_range(source, fd, piece.end - offset, offset)
        except (OSError, AttributeError):  # another file system, or no copy_file_range: use memory
            copied = 0
        if copied == 0:
            data = os.pread(source, piece.end - offset, offset)
            if not data:
                raise OSError(f"{piece.file.name} ends before byte {piece.end}")
            _write_all(fd, data)
            copied = len(data)
        offset += copied

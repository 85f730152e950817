"""The Teams app package: ``manifest.json`` filled in for this installation, and its two icons, in a
zip that Teams admin center (or "Upload a custom app") accepts. Needs no SDK and no network.

The icons (``color.png``: 192x192, a white speech bubble on the accent colour; ``outline.png``: 32x32,
white on transparent, as Teams asks) ship beside the manifest; they were drawn by ``color_icon`` and
``outline_icon`` here (``python -m bot.channels.teams.package`` draws them again).
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

ACCENT = (0x1F, 0x6F, 0xB2)


class PackageError(Exception):
    """The package cannot be made (a setting is missing); the message says which."""


def png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """A PNG (8-bit RGBA) whose pixel at (x, y) is ``pixel(x, y)`` -> (r, g, b, a)."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _in_bubble(x: float, y: float) -> bool:
    """A speech bubble in the unit square: a rounded body and a tail at the bottom left."""
    body = 0.18 <= x <= 0.82 and 0.22 <= y <= 0.66
    corners = [(0.28, 0.32), (0.72, 0.32), (0.28, 0.56), (0.72, 0.56)]
    if body and not (0.28 <= x <= 0.72 or 0.32 <= y <= 0.56):
        body = any((x - cx) ** 2 + (y - cy) ** 2 <= 0.1**2 for cx, cy in corners)
    tail = 0.30 <= x <= 0.44 and 0.66 <= y <= 0.80 and (x - 0.30) <= (0.80 - y)
    return body or tail


def color_icon() -> bytes:
    """The 192x192 colour icon."""
    size = 192

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        return (255, 255, 255, 255) if _in_bubble(x / size, y / size) else (*ACCENT, 255)

    return png(size, size, pixel)


def outline_icon() -> bytes:
    """The 32x32 outline icon: white on transparent."""
    size = 32

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        return (255, 255, 255, 255) if _in_bubble((x + 0.5) / size, (y + 0.5) / size) else (0, 0, 0, 0)

    return png(size, size, pixel)


def manifest(*, app_id: str, public_url: str) -> dict[str, object]:
    """The manifest for this installation: the app id and public URL put in."""
    if not app_id:
        raise PackageError("set TEAMS_APP_ID (the Azure Bot's app id) first")
    host = urlsplit(public_url).hostname if public_url.startswith("https://") else None
    if not host:
        raise PackageError("set ITBOT_PUBLIC_URL to the server's https:// address first")
    template = resources.files("bot.channels.teams").joinpath("manifest.json").read_text(encoding="utf-8")
    filled = (
        template.replace("${TEAMS_APP_ID}", app_id)
        .replace("${PUBLIC_URL}", public_url.rstrip("/"))
        .replace("${PUBLIC_HOST}", host)
    )
    result: dict[str, object] = json.loads(filled)
    return result


def write_package(path: Path, *, app_id: str, public_url: str) -> Path:
    """Write the app zip (manifest.json, color.png, outline.png) to ``path``; returns it."""
    content = json.dumps(manifest(app_id=app_id, public_url=public_url), indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", content)
        for icon in ("color.png", "outline.png"):
            archive.writestr(icon, resources.files("bot.channels.teams").joinpath(icon).read_bytes())
    return path


if __name__ == "__main__":
    here = Path(__file__).parent
    (here / "color.png").write_bytes(color_icon())
    (here / "outline.png").write_bytes(outline_icon())

"""``itbot teams package``: the app zip Teams accepts, filled in for this installation."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from bot.channels.cli.main import main


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_package_holds_the_filled_manifest_and_both_icons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMS_APP_ID", "app-123")
    monkeypatch.setenv("ITBOT_PUBLIC_URL", "https://itbot.hospital.example/")
    target = tmp_path / "itbot-teams.zip"

    assert main(["teams", "package", "--out", str(target)]) == 0

    assert capsys.readouterr().out.strip() == str(target)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert png_size(archive.read("color.png")) == (192, 192)
        assert png_size(archive.read("outline.png")) == (32, 32)
    assert manifest["id"] == "app-123" and manifest["bots"][0]["botId"] == "app-123"
    assert manifest["bots"][0]["scopes"] == ["personal", "team", "groupChat"]
    assert manifest["validDomains"] == ["itbot.hospital.example"]
    assert "${" not in json.dumps(manifest)


def test_without_an_app_id_it_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    assert main(["teams", "package", "--out", str(tmp_path / "x.zip")]) == 2
    assert "TEAMS_APP_ID" in capsys.readouterr().err and not (tmp_path / "x.zip").exists()

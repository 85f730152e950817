"""``itbot teams package``: write the Teams app zip (manifest and icons) to upload in Teams."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_OK = 0
EXIT_SETUP = 2


def add_parser(sub: Any) -> None:
    """Register ``itbot teams ...`` on the CLI's subparsers."""
    p_teams = sub.add_parser("teams", help="set up the Microsoft Teams app")
    teams_sub = p_teams.add_subparsers(dest="teams_command", required=True)
    p_package = teams_sub.add_parser("package", help="write the app zip (manifest + icons) for upload")
    p_package.add_argument("--out", type=Path, default=Path("itbot-teams.zip"), help="where to write it")


def run(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Write the package and print its path; exit 2 when TEAMS_APP_ID or the public URL is missing."""
    from bot.channels.teams.package import PackageError, write_package

    try:
        path = write_package(args.out, app_id=settings.teams_app_id or "", public_url=settings.public_url)
    except PackageError as exc:
        print(f"itbot teams package: {exc} (see README, Microsoft Teams).", file=err)
        return EXIT_SETUP
    print(path, file=out)
    return EXIT_OK

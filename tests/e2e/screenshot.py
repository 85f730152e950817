"""Make the README's screenshot of the web chat: the shipped knowledge base, the real model.

    .venv/bin/python -m tests.e2e.screenshot docs/web-chat.png

Indexes ``./knowledge`` into a temporary home, serves itbot on loopback, asks one question in
Debian's chromium and saves the page. Not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from bot.core.assistant import Assistant
from bot.main import create_app
from indexer.build import build_index
from indexer.encoder import load_encoder
from tests.databases import sqlite_settings
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import serve

QUESTION = "citrix frozen on the wow"


def main() -> None:
    """Write the screenshot to the path given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path)
    parser.add_argument("--knowledge", type=Path, default=Path("knowledge"))
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = sqlite_settings(Path(home), kb=args.knowledge.resolve())
        encoder = load_encoder(settings.model, cache_dir=settings.models_dir, max_tokens=settings.max_tokens)
        build_index(settings.kb, settings.index_root, encoder)
        app = create_app(settings, assistant=Assistant(settings, encoder=encoder))
        with serve(app) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 900, "height": 1000}, device_scale_factor=1)
            page.goto(server.url)
            box = page.get_by_label("Your question")
            box.fill(args.question)
            box.press("Enter")
            expect(page.locator(".msg.bot .actions")).to_be_visible(timeout=30_000)
            page.locator("#question").blur()
            args.output.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.output), full_page=True)
            browser.close()


if __name__ == "__main__":
    main()

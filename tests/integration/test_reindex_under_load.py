"""Questions keep being answered, each from one whole index, while the index is rebuilt under them."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx

from bot.config import Settings
from bot.core.assistant import Assistant
from bot.core.policy import PolicyParams
from bot.main import create_app
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from tests.databases import sqlite_settings
from tests.live_server import serve
from tests.tiny_kb import write_tiny_kb

ARTICLE = "printing/office-printer-offline.md"
HASHING_POLICY = PolicyParams(
    answer_score=0.2,
    answer_margin=0.0,
    answer_coverage=0.0,
    clarify_score=0.1,
    min_known_share=0.0,
    answer_confidence=0.0,
)
VERSION = re.compile(r"edition (\w+)")


def write_edition(kb: Path, edition: str) -> None:
    """Rewrite the printer article so that its title and its steps both name ``edition``."""
    (kb / ARTICLE).write_text(
        f"""---
title: "Office printer shows offline (edition {edition})"
tags: [printer, offline]
---
# Office printer shows offline (edition {edition})

## Fix it

1. Printer offline, edition {edition}: turn the office printer off and on again.
2. Check the network cable at the back of the office printer.
""",
        encoding="utf-8",
    )


def test_answers_during_reindex_never_fail_and_never_mix_two_builds(tmp_path: Path) -> None:
    # Load from one address on purpose: the per-address rate limit is not what this test is about.
    settings: Settings = sqlite_settings(tmp_path).model_copy(
        update={"index_poll_seconds": 0.02, "asks_per_minute_per_address": 0}
    )
    write_tiny_kb(settings.kb)
    write_edition(settings.kb, "A")
    encoder = HashingEncoder()
    build_index(settings.kb, settings.index_root, encoder)
    assistant = Assistant(settings, encoder=encoder, policy=HASHING_POLICY)
    stop = threading.Event()
    builds = 0

    def rebuild_forever() -> None:
        nonlocal builds
        editions = ["B", "A"]
        while not stop.is_set():
            write_edition(settings.kb, editions[builds % 2])
            build_index(settings.kb, settings.index_root, encoder)
            builds += 1

    with serve(create_app(settings, assistant=assistant)) as live:
        rebuilder = threading.Thread(target=rebuild_forever, daemon=True)
        rebuilder.start()
        seen: set[str] = set()
        failures: list[str] = []
        try:
            with httpx.Client(base_url=live.url, timeout=10) as client:
                for _ in range(300):
                    response = client.post("/api/ask", json={"text": "the office printer shows offline"})
                    if response.status_code != 200:
                        failures.append(f"status {response.status_code}")
                        continue
                    body = response.json()
                    if body["decision"] != "answer":
                        failures.append(f"decision {body['decision']}")
                        continue
                    in_text = set(VERSION.findall(body["text"]))
                    in_citation = set(VERSION.findall(body["citations"][0]["title"]))
                    if len(in_text) != 1 or in_text != in_citation:
                        failures.append(f"mixed: text {in_text}, citation {in_citation}")
                    seen |= in_text
        finally:
            stop.set()
            rebuilder.join(timeout=30)

    assert failures == []
    assert builds >= 5
    assert seen == {"A", "B"}, "the server should have switched between the two editions"

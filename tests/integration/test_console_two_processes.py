"""Two server processes on one PostgreSQL database and one ``ITBOT_HOME``: an article published through
the console of one is answered by the other within a few seconds (it picks the new index up from
``current`` without a restart), and builds of the two never publish an older knowledge folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from tests.console_client import add_user, signed_in
from tests.databases import postgres_settings
from tests.integration.test_console_drafts import ARTICLE, NEW_SECTION, form_of
from tests.live_server import free_port
from tests.tiny_kb import write_tiny_kb

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "the fax machine on the ward keeps jamming"
FEW_SECONDS = 5.0

pytestmark = pytest.mark.postgres


@contextmanager
def server_process(settings: Settings) -> Iterator[str]:
    """``tests.app_process PORT indexed`` (the real assistant, hashing encoder) with ``settings``' home,
    knowledge folder and database, index polling at its default; yields its base URL."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ITBOT_", "SLACK_")) and k != "DATABASE_URL"
    }
    env.update(
        {
            "ITBOT_HOME": str(settings.home),
            "ITBOT_KB": str(settings.kb),
            "DATABASE_URL": settings.sqlalchemy_url,
            "ITBOT_CONSOLE_COOKIE_SECURE": "false",
            "HF_HUB_OFFLINE": "1",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.app_process", str(port), "indexed"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"server did not start: {process.communicate()[1][-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def ask(url: str, text: str) -> dict[str, object]:
    answer = httpx.post(f"{url}/api/ask", json={"text": text}, timeout=30)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def wait_for_answer(url: str, needle: str, *, within: float) -> float:
    """Ask ``url`` until its answer contains ``needle``; the seconds it took (fails after ``within``)."""
    started = time.monotonic()
    while True:
        reply = ask(url, QUESTION)
        if needle in str(reply["text"]):
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"still answering without it: {reply}"
        time.sleep(0.2)


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Settings]:
    """One PostgreSQL schema, one home and knowledge folder (indexed), curators cora and cole."""
    with postgres_settings(tmp_path) as settings:
        write_tiny_kb(settings.kb)
        build_index(settings.kb, settings.index_root, HashingEncoder())
        for name in ("cora", "cole"):
            add_user(settings, name, "curator")
        yield settings


def test_an_article_published_in_one_process_is_answered_by_the_other_within_seconds(
    shared: Settings,
) -> None:
    with ExitStack() as stack:
        first = stack.enter_context(server_process(shared))
        second = stack.enter_context(server_process(shared))
        assert "jammed sheet" not in str(ask(second, QUESTION)["text"])
        with signed_in(first, "cora") as (author, _csrf):
            form = form_of(author.get(f"/console/articles/{ARTICLE}").text)
            form["body"] += NEW_SECTION
            drafted = author.post(f"/console/articles/{ARTICLE}", data=form)
            assert drafted.status_code == 303
        with signed_in(second, "cole") as (reviewer, csrf):  # the draft is in the shared database
            published = reviewer.post(drafted.headers["location"] + "/publish", data={"csrf_token": csrf})
            assert published.status_code == 200, published.text
        # Published through the second process: the first one must pick the new build up by itself.
        took = wait_for_answer(first, "lift out the jammed sheet", within=FEW_SECONDS)
        assert took < FEW_SECONDS
        assert "lift out the jammed sheet" in str(ask(second, QUESTION)["text"])


def test_two_processes_publishing_at_once_leave_both_edits_in_the_live_index(shared: Settings) -> None:
    edits = {
        "printing/office-printer-offline": ("## Fax machine jams", "lift out the jammed sheet"),
        "citrix/citrix-frozen": ("## Citrix shows a grey window", "press the grey window's restore key"),
    }
    with ExitStack() as stack:
        urls = [stack.enter_context(server_process(shared)) for _ in range(2)]
        drafts: list[tuple[str, str]] = []
        for (article, (heading, words)), url in zip(edits.items(), urls, strict=True):
            with signed_in(url, "cora") as (author, _csrf):
                form = form_of(author.get(f"/console/articles/{article}").text)
                form["body"] += f"\n{heading}\n\n1. Then {words} and wait a minute.\n"
                drafted = author.post(f"/console/articles/{article}", data=form)
                assert drafted.status_code == 303
                drafts.append((url, drafted.headers["location"]))

        def publish(where: tuple[str, str]) -> int:
            with signed_in(where[0], "cole") as (reviewer, csrf):
                return reviewer.post(where[1] + "/publish", data={"csrf_token": csrf}).status_code

        with ThreadPoolExecutor(max_workers=2) as pool:
            assert list(pool.map(publish, drafts)) == [200, 200]
        for url in urls:
            for _heading, words in edits.values():
                started = time.monotonic()
                while True:
                    found = httpx.post(f"{url}/api/ask", json={"text": words}, timeout=30).json()
                    if words in str(found["text"]):
                        break
                    assert time.monotonic() - started < FEW_SECONDS, (url, words, found)
                    time.sleep(0.2)

"""Finding 9 of the attack run: an index that does not fit the server.

With ``ITBOT_MAX_TOKENS`` different between ``itbot index`` and the server, the server logged
``index.refused`` every second forever, and after a restart answered 503 instead of falling back
to the newest build on disk that fits; a build whose vectors were NaN loaded, and every question
escalated. Now a refused build is logged once, the loaded one keeps answering, a restarted server
falls back to the newest compatible build (saying which and why), 503 only when none fits, and
vectors are checked on load like a mismatch.

Real indexes of the tiny knowledge folder, built with hashing encoders named as the real model's
are when truncated ("…@256").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from bot.config import Settings
from bot.core.assistant import Assistant
from bot.core.errors import IndexNotReadyError
from bot.core.models import Decision, Question
from bot.core.policy import PolicyParams
from bot.main import create_app
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.store import IndexMismatchError, current_folder, load_build
from tests.databases import sqlite_settings
from tests.live_server import serve
from tests.tiny_kb import write_tiny_kb

POLICY = PolicyParams(
    answer_score=0.3, answer_margin=0.02, clarify_score=0.2, min_known_share=0.0, answer_confidence=0.0
)
EPIC_QUESTION = "epic password refused at login"


class TruncatingEncoder(HashingEncoder):
    """The hashing encoder, named as an encoder that reads ``tokens`` tokens of each text."""

    def __init__(self, tokens: int) -> None:
        super().__init__(dim=64)
        self.name = f"hashing-64@{tokens}"


SERVER = TruncatingEncoder(128)  # what the server is configured with
OTHER = TruncatingEncoder(256)  # what `itbot index` ran with by mistake


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = sqlite_settings(tmp_path)
    write_tiny_kb(settings.kb)
    return settings


def build(settings: Settings, encoder: HashingEncoder) -> Path:
    return build_index(settings.kb, settings.index_root, encoder, force=True).folder


def server_assistant(settings: Settings) -> Assistant:
    return Assistant(settings, encoder=SERVER, policy=POLICY)


def records(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == event]


def poison(folder: Path, damage: Callable[[np.ndarray], np.ndarray]) -> None:
    """Rewrite the build's vectors as ``damage`` makes them."""
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    np.save(folder / "vectors.npy", damage(vectors.copy()), allow_pickle=False)


def with_nan(vectors: np.ndarray) -> np.ndarray:
    vectors[1, :] = np.nan
    return vectors


def with_inf(vectors: np.ndarray) -> np.ndarray:
    vectors[0, 3] = np.inf
    return vectors


# --- a refused rebuild while serving -----------------------------------------------------------


def test_a_refused_rebuild_is_logged_once_and_the_loaded_build_keeps_answering(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    served = build(settings, SERVER)
    assistant = server_assistant(settings)
    assert assistant.refresh() is True
    refused = build(settings, OTHER)
    caplog.set_level(logging.DEBUG)

    for _ in range(10):  # ten polls of the server
        assert assistant.refresh() is False

    [record] = records(caplog, "index.refused")
    assert record.__dict__["folder"] == refused.name
    assert "'hashing-64@256'" in record.__dict__["reason"]
    assert assistant.manifest_summary["build"] == served.name
    assert assistant.load_error is not None and "'hashing-64@128'" in assistant.load_error
    assert assistant.ask(Question(text=EPIC_QUESTION)).decision is Decision.ANSWER


def test_the_running_server_polls_a_refused_build_without_logging_it_again(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    build(settings, SERVER)
    polls: list[bool] = []

    class CountingAssistant(Assistant):
        def refresh(self) -> bool:
            swapped = super().refresh()
            polls.append(swapped)
            return swapped

    assistant = CountingAssistant(settings, encoder=SERVER, policy=POLICY)
    caplog.set_level(logging.DEBUG)
    with serve(create_app(settings, assistant=assistant)) as server:
        deadline = time.monotonic() + 20
        while not assistant.ready and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = build(settings, OTHER)
        seen = len(polls)
        while len(polls) < seen + 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(polls) >= seen + 20  # twenty polls at 0.05 s after the refused build
        health = httpx.get(f"{server.url}/healthz", timeout=5)

    assert [r.__dict__["folder"] for r in records(caplog, "index.refused")] == [refused.name]
    assert health.status_code == 200


# --- a restart with a refused live build -------------------------------------------------------


def test_after_a_restart_the_newest_compatible_build_is_served_and_said_so(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    build(settings, SERVER)
    newest_fitting = build(settings, SERVER)
    refused = build(settings, OTHER)
    assert current_folder(settings.index_root) == refused
    caplog.set_level(logging.DEBUG)

    assistant = server_assistant(settings)  # the server restarted
    assert assistant.refresh() is True

    assert assistant.ready
    assert assistant.manifest_summary["build"] == newest_fitting.name
    [fallback] = records(caplog, "index.fallback")
    assert fallback.__dict__["folder"] == newest_fitting.name
    assert fallback.__dict__["refused"] == refused.name
    assert "'hashing-64@256'" in fallback.__dict__["reason"]
    assert assistant.ask(Question(text=EPIC_QUESTION)).decision is Decision.ANSWER
    assert assistant.refresh() is False
    assert len(records(caplog, "index.refused")) == 1


def test_after_a_restart_the_server_is_healthy_on_the_fallback_build(settings: Settings) -> None:
    build(settings, SERVER)
    build(settings, OTHER)
    with serve(create_app(settings, assistant=server_assistant(settings))) as server:
        deadline = time.monotonic() + 20
        health = httpx.get(f"{server.url}/healthz", timeout=5)
        while health.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)
            health = httpx.get(f"{server.url}/healthz", timeout=5)
    assert health.status_code == 200


def test_with_no_compatible_build_on_disk_the_server_is_not_ready_and_says_why(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    build(settings, OTHER)
    build(settings, OTHER)
    caplog.set_level(logging.DEBUG)
    assistant = server_assistant(settings)

    for _ in range(5):
        assert assistant.refresh() is False

    assert not assistant.ready
    assert assistant.load_error is not None and "'hashing-64@256'" in assistant.load_error
    assert len(records(caplog, "index.refused")) == 2  # each build once
    assert records(caplog, "index.fallback") == []
    with pytest.raises(IndexNotReadyError):
        assistant.ask(Question(text=EPIC_QUESTION))


# --- damaged vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (with_nan, "NaN or infinite"),
        (with_inf, "NaN or infinite"),
        (lambda v: v * np.float32(3.0), "not of length 1"),
        (lambda v: v.astype(np.float64), "float32"),
        (lambda v: v[:, :32].copy(), "dimensional"),
    ],
    ids=["nan", "inf", "not-normalised", "float64", "too-short"],
)
def test_a_build_with_damaged_vectors_is_refused_on_load(
    settings: Settings, damage: Callable[[np.ndarray], np.ndarray], says: str
) -> None:
    folder = build(settings, SERVER)
    poison(folder, damage)
    with pytest.raises(IndexMismatchError, match=says):
        load_build(folder, model=SERVER.name, dim=SERVER.dim)


def test_a_build_with_nan_vectors_is_refused_once_and_the_server_falls_back(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    good = build(settings, SERVER)
    poisoned = build(settings, SERVER)
    poison(poisoned, with_nan)
    caplog.set_level(logging.DEBUG)

    assistant = server_assistant(settings)
    assert assistant.refresh() is True
    assert assistant.refresh() is False

    assert assistant.manifest_summary["build"] == good.name
    [refusal] = records(caplog, "index.refused")
    assert refusal.__dict__["folder"] == poisoned.name
    assert "NaN" in refusal.__dict__["reason"]
    assert assistant.ask(Question(text=EPIC_QUESTION)).decision is Decision.ANSWER

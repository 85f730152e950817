"""The dev half of the scripted conversation set (benchmarks/conversations/dev.jsonl), in CI.

Every conversation must go right in both channels, on the shipped knowledge base with the real model:
each turn does what the script expects and the conversation ends with the expected ticket or none.
``benchmarks/conversations.py --split test`` reports the test half, which is never run here.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]


def _benchmark() -> ModuleType:
    path = ROOT / "benchmarks" / "conversations.py"
    spec = importlib.util.spec_from_file_location("conversation_set", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCH = _benchmark()
DEV = BENCH.load_conversations("dev")


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with BENCH.bot_on_shipped_kb(tmp_path_factory.mktemp("conversations")) as running:
        yield running


def test_the_dev_half_is_big_enough_to_mean_something() -> None:
    assert len(DEV) >= 30
    assert all(len(c["turns"]) >= 1 and c.get("situation") for c in DEV)


@pytest.mark.parametrize("conversation", DEV, ids=[c["id"] for c in DEV])
def test_each_dev_conversation_goes_right_on_the_web_and_in_slack(
    bot: Any, conversation: dict[str, Any]
) -> None:
    client, flow, sessions = bot

    BENCH.empty_tables(sessions)
    web = BENCH.run_web(client, sessions, conversation)
    BENCH.empty_tables(sessions)
    slack = BENCH.run_slack(flow, sessions, conversation)

    assert web.problems == [], f"web: {conversation['situation']}"
    assert slack.problems == [], f"slack: {conversation['situation']}"

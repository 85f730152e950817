"""`itbot index` with the real model: a re-index loads only what the changed chunks need.

Each run is a new process, as an IT curator runs it: nothing changed loads no model at all, and
one edited article is embedded by the ONNX encoder without importing torch, its vector as that
encoder makes it and every other vector kept exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer.encoder import load_encoder
from indexer.store import LoadedIndex, current_folder, load_build, read_manifest
from tests.tiny_kb import write_tiny_kb

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]
CITRIX = "citrix/citrix-frozen"
PROBE = """
import json, sys
from bot.channels.cli.main import main
code = main(["index"])
loaded = {name: name in sys.modules for name in ("torch", "onnxruntime")}
print(json.dumps({"code": code, **loaded}))
"""


def run_index(home: Path, kb: Path) -> tuple[str, dict[str, object]]:
    """Run ``itbot index`` in a new process; its output and what it imported."""
    env = {
        **os.environ,
        "ITBOT_HOME": str(home),
        "ITBOT_KB": str(kb),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    for name in ("ITBOT_MODEL", "ITBOT_MAX_TOKENS", "ITBOT_BUILD_PRECISION"):
        env.pop(name, None)
    run = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=600, check=True
    )
    *output, probe = run.stdout.strip().splitlines()
    return "\n".join(output), json.loads(probe)


def live(home: Path) -> LoadedIndex:
    folder = current_folder(home / "index")
    assert folder is not None
    manifest = read_manifest(folder)
    return load_build(folder, model=manifest.model, dim=manifest.dim)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A home with the tiny knowledge folder indexed by the real model (exported to ONNX here)."""
    base = tmp_path_factory.mktemp("reindex")
    kb = write_tiny_kb(base / "kb")
    output, probe = run_index(base / "home", kb)
    assert probe["code"] == 0, output
    return base / "home", kb


def test_a_re_index_with_nothing_changed_loads_no_model(built: tuple[Path, Path]) -> None:
    home, kb = built
    output, probe = run_index(home, kb)
    assert "up to date" in output
    assert probe == {"code": 0, "torch": False, "onnxruntime": False}


def test_editing_one_article_embeds_its_chunk_with_onnx_and_keeps_every_other_vector(
    built: tuple[Path, Path],
) -> None:
    home, kb = built
    before = live(home)
    path = kb / f"{CITRIX}.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Wait thirty seconds", "Wait sixty seconds"),
        encoding="utf-8",
    )
    output, probe = run_index(home, kb)
    assert "1 embedded" in output
    assert probe == {"code": 0, "torch": False, "onnxruntime": True}

    after = live(home)
    old = {c.id: before.vectors[i] for i, c in enumerate(before.chunks)}
    edited = [i for i, c in enumerate(after.chunks) if "Wait sixty seconds" in c.text]
    assert len(edited) == 1
    for i, chunk in enumerate(after.chunks):
        if i not in edited:
            np.testing.assert_array_equal(after.vectors[i], old[chunk.id])
    encoder = load_encoder("all-MiniLM-L6-v2", cache_dir=home / "models", max_tokens=128)
    assert encoder.name == after.manifest.model
    expected = encoder.encode([after.chunks[edited[0]].text])[0]
    assert float(after.vectors[edited[0]] @ expected) >= 0.99999

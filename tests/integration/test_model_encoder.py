"""The real all-MiniLM-L6-v2 through ONNX Runtime: export, cache, fidelity to sentence-transformers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer.encoder import Encoder, TorchEncoder, load_encoder, resolve_model_dir

pytestmark = pytest.mark.model

MODEL = "all-MiniLM-L6-v2"
ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "printer is jammed",
    "paper stuck in the printer",
    "reset my password",
    "Epic keeps kicking me out every ten minutes on the night shift",
    "The BCMA scanner on 5 North will not read wristbands",
    "How do I map a network drive?",
    "Outlook > Calendar: shared calendars do not sync after the mailbox migration, and delegates "
    "cannot accept meeting requests on behalf of the unit manager.",
    "vpn",
    "Pyxis drawer will not open after badge tap",
    "",
]

CACHED_LOAD_PROBE = """
import json, sys
from pathlib import Path
from indexer.encoder import load_encoder
encoder = load_encoder(sys.argv[1], cache_dir=Path(sys.argv[2]), precision=sys.argv[3])
vectors = encoder.encode(["printer is jammed"])
print(json.dumps({"torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules,
                  "shape": list(vectors.shape)}))
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def encoder(cache_dir: Path) -> Encoder:
    return load_encoder(MODEL, cache_dir=cache_dir)


def _onnx_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*/model.onnx"))


def test_first_load_exports_one_onnx_file_and_leaves_no_temporary_files(
    encoder: Encoder, cache_dir: Path
) -> None:
    files = _onnx_files(cache_dir)
    assert len(files) == 1
    assert files[0].parent.name.startswith("all-minilm-l6-v2-")
    assert not [p.name for p in cache_dir.rglob("*") if p.name.endswith(".tmp")]
    assert encoder.name == MODEL
    assert encoder.dim == 384


def test_onnx_vectors_match_sentence_transformers(encoder: Encoder) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(resolve_model_dir(MODEL)), device="cpu")
    expected = reference.encode(SENTENCES, normalize_embeddings=True)
    got = encoder.encode(SENTENCES)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    cosines = np.einsum("ij,ij->i", got, expected)
    assert cosines.min() >= 0.9999, cosines


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cached_load_reuses_the_file_and_does_not_import_torch(
    encoder: Encoder, cache_dir: Path, precision: str
) -> None:
    (onnx_file,) = _onnx_files(cache_dir)
    before = onnx_file.stat()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    run = subprocess.run(
        [sys.executable, "-c", CACHED_LOAD_PROBE, MODEL, str(cache_dir), precision],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    assert probe == {"torch": False, "transformers": False, "shape": [1, 384]}
    after = onnx_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _onnx_files(cache_dir) == [onnx_file]


def test_the_onnx_encoder_leaves_no_usage_telemetry_behind(
    encoder: Encoder, cache_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env.update(
        HOME=str(home), PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    subprocess.run(
        [sys.executable, "-c", CACHED_LOAD_PROBE, MODEL, str(cache_dir), "fp32"],
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []


def test_rows_come_back_in_input_order_despite_length_sorting(cache_dir: Path) -> None:
    small_batches = load_encoder(MODEL, cache_dir=cache_dir, batch_size=3)
    together = small_batches.encode(SENTENCES)
    one_by_one = np.vstack([small_batches.encode([s]) for s in SENTENCES])
    cosines = np.einsum("ij,ij->i", together, one_by_one)
    assert cosines.min() >= 0.99999, cosines


def test_empty_input_gives_an_empty_array(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, 384)


def test_long_text_is_truncated_not_rejected(encoder: Encoder) -> None:
    long_text = " ".join(["the badge reader on the medication room door is offline"] * 300)
    vectors = encoder.encode([long_text, "short"])
    assert vectors.shape == (2, 384)
    assert np.isfinite(vectors).all()


def test_similar_questions_are_closer_than_unrelated_ones(encoder: Encoder) -> None:
    query, similar, unrelated = encoder.encode(SENTENCES[:3])
    assert float(query @ similar) > float(query @ unrelated) + 0.3


def test_int8_copy_stays_close_to_fp32(encoder: Encoder, cache_dir: Path) -> None:
    int8 = load_encoder(MODEL, cache_dir=cache_dir, precision="int8")
    assert (_onnx_files(cache_dir)[0].parent / "model.int8.onnx").is_file()
    # The empty text is left out: with nothing but the special tokens to pool, its int8 vector
    # drifts with the CPU's int8 kernels (0.968 on a CPU without VNNI), and no question is empty.
    texts = [s for s in SENTENCES if s]
    cosines = np.einsum("ij,ij->i", int8.encode(texts), encoder.encode(texts))
    assert cosines.min() >= 0.985, cosines


def test_torch_encoder_for_bulk_builds_matches_onnx(encoder: Encoder) -> None:
    bulk = TorchEncoder(resolve_model_dir(MODEL), name=MODEL)
    assert (bulk.name, bulk.dim) == (encoder.name, encoder.dim)
    assert bulk.encode([]).shape == (0, 384)
    cosines = np.einsum("ij,ij->i", bulk.encode(SENTENCES), encoder.encode(SENTENCES))
    assert cosines.min() >= 0.9995, cosines


def test_the_packaged_folder_given_as_a_path_is_the_same_model_and_cache(
    encoder: Encoder, cache_dir: Path
) -> None:
    by_path = load_encoder(str(resolve_model_dir(MODEL)), cache_dir=cache_dir)
    assert by_path.name == MODEL
    assert len(_onnx_files(cache_dir)) == 1

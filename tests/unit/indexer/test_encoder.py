"""The hashing fake encoder and the model-free parts of indexer.encoder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel

from indexer.encoder import (
    BulkEncoder,
    Encoder,
    EncoderError,
    HashingEncoder,
    OnnxEncoder,
    load_encoder,
    model_name,
    resolve_model_dir,
)


def test_hashing_encoder_satisfies_the_encoder_protocol() -> None:
    encoder: Encoder = HashingEncoder()
    assert encoder.name == "hashing-384"
    assert encoder.dim == 384


def test_hashing_encoder_returns_one_float32_unit_row_per_text() -> None:
    vectors = HashingEncoder(dim=64).encode(["epic keeps kicking me out", "printer jammed", "", "!!!"])
    assert vectors.shape == (4, 64)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_hashing_encoder_gives_empty_array_for_no_texts() -> None:
    vectors = HashingEncoder(dim=32).encode([])
    assert vectors.shape == (0, 32)
    assert vectors.dtype == np.float32


def test_hashing_encoder_is_deterministic_across_instances_and_batches() -> None:
    texts = ["Reset my Citrix password", "VPN drops every hour", "reset my citrix password"]
    first = HashingEncoder().encode(texts)
    again = HashingEncoder().encode(list(reversed(texts)))[::-1]
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first[0], first[2])  # case-insensitive


def test_hashing_encoder_puts_texts_sharing_words_closer_than_unrelated_ones() -> None:
    query, similar, unrelated = HashingEncoder().encode(
        ["the printer on 4 west is jammed", "printer jammed with paper", "reset my epic password"]
    )
    assert float(query @ similar) > 0.2
    assert float(query @ similar) > float(query @ unrelated)


def test_hashing_encoder_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match="not one string"):
        HashingEncoder().encode("printer jammed")


def test_resolve_model_dir_names_the_unknown_model_and_the_offline_rule(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(EncoderError) as raised:
        resolve_model_dir(str(missing))
    message = str(raised.value)
    assert "no-such-model" in message
    assert "all-MiniLM-L6-v2" in message
    assert "offline" in message


def test_resolve_model_dir_returns_an_existing_folder(tmp_path: Path) -> None:
    assert resolve_model_dir(str(tmp_path)) == tmp_path.resolve()


def test_model_name_is_the_packaged_name_for_aliases_and_the_folder_name_for_paths(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    assert model_name("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert model_name(str(folder)) == "my-model"


def test_load_encoder_refuses_an_unknown_precision(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="fp16"):
        load_encoder("all-MiniLM-L6-v2", cache_dir=tmp_path, precision="fp16")


class _CountingEncoder(HashingEncoder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        return super().encode(texts)


def test_bulk_encoder_sends_small_calls_to_the_small_encoder_and_builds_the_bulk_one_lazily() -> None:
    small, bulk, built = _CountingEncoder(), _CountingEncoder(), []

    def make_bulk() -> Encoder:
        built.append(bulk)
        return bulk

    encoder = BulkEncoder(small, make_bulk, threshold=3)
    assert (encoder.name, encoder.dim) == (small.name, small.dim)
    encoder.encode(["one", "two"])
    assert built == []
    encoder.encode(["a", "b", "c"])
    encoder.encode(["a", "b", "c", "d"])
    assert (small.calls, bulk.calls, len(built)) == ([2], [3, 4], 1)


def _model_folder(root: Path) -> Path:
    """A model folder with a real (tiny) tokenizer and configs, but no weights."""
    root.mkdir()
    Tokenizer(WordLevel({"[UNK]": 0, "printer": 1}, unk_token="[UNK]")).save(str(root / "tokenizer.json"))
    (root / "config.json").write_text('{"hidden_size": 8}', encoding="utf-8")
    (root / "sentence_bert_config.json").write_text('{"max_seq_length": 16}', encoding="utf-8")
    return root


def test_an_onnx_encoder_loads_its_model_only_when_first_asked_to_encode(tmp_path: Path) -> None:
    missing = tmp_path / "model.onnx"
    encoder = OnnxEncoder(_model_folder(tmp_path / "model"), missing, name="tiny")
    assert (encoder.name, encoder.dim, encoder.max_seq_length) == ("tiny", 8, 16)
    assert encoder.encode([]).shape == (0, 8)
    with pytest.raises(EncoderError, match="cannot load") as raised:
        encoder.encode(["printer"])
    assert str(missing) in str(raised.value)
    with pytest.raises(EncoderError, match="cannot load"):
        encoder.load()

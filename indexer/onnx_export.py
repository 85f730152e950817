"""Export a sentence-transformers model's transformer to ONNX: the only module that imports torch.

``indexer.encoder`` imports this lazily, once per model, when its ONNX cache holds no file yet.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from tokenizers import Tokenizer

from indexer.encoder import EncoderError

log = logging.getLogger(__name__)

OPSET = 17  # the first opset with a LayerNormalization op
MAX_ABS_DIFF = 1e-3  # fp32 ONNX vs torch on the check sentences; a correct export is near 1e-5
CHECK_SENTENCES = (
    "The printer on 4 West is jammed again.",
    "How do I reset my Epic password after it expired overnight and the badge tap stopped working?",
)


class _LastHiddenState(torch.nn.Module):
    """Wraps a Hugging Face encoder so the traced graph has plain tensor inputs and one output."""

    def __init__(self, model: torch.nn.Module, *, takes_token_type_ids: bool) -> None:
        super().__init__()
        self.model = model
        self.takes_token_type_ids = takes_token_type_ids

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        kwargs = {"input_ids": inputs[0], "attention_mask": inputs[1]}
        if self.takes_token_type_ids:
            kwargs["token_type_ids"] = inputs[2]
        hidden: torch.Tensor = self.model(**kwargs).last_hidden_state
        return hidden


def export_onnx(model_dir: Path, out_path: Path) -> None:
    """Write the transformer in ``model_dir`` to ``out_path`` as fp32 ONNX and check it against torch.

    Inputs ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the model takes it), int64,
    shape (batch, sequence); output ``last_hidden_state`` (batch, sequence, hidden). Both axes are
    dynamic. Uses the TorchScript exporter (``dynamo=False``): the dynamo one needs ``onnxscript``.
    Raises ``EncoderError`` if the model cannot be loaded or the ONNX output differs from torch's by
    more than ``MAX_ABS_DIFF`` on real tokens. Writes ``out_path`` in place: callers wanting
    atomicity pass a temporary name and rename it.
    """
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        # Eager attention traces to plain MatMul/Softmax, which ONNX Runtime fuses on load.
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    except (OSError, ValueError) as exc:
        raise EncoderError(f"Cannot load the transformer in {model_dir} for ONNX export: {exc}") from exc
    model.eval()
    takes_token_type_ids = "token_type_ids" in inspect.signature(model.forward).parameters
    input_names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_token_type_ids else [])
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.enable_padding()
    check = _batch(tokenizer, CHECK_SENTENCES, input_names)
    # The reference comes first: torch 2.13's TorchScript exporter hands the module back in training
    # mode (dropout on), so a forward pass after the export no longer matches the model.
    with torch.inference_mode():
        expected = model(**{k: torch.from_numpy(v) for k, v in check.items()}).last_hidden_state.numpy()

    # A padded dummy batch, so the traced graph keeps the attention-mask path.
    dummy_ids = torch.full((2, 8), 1000, dtype=torch.long)
    dummy_mask = torch.ones_like(dummy_ids)
    dummy_mask[1, 5:] = 0
    dummy = (dummy_ids, dummy_mask, torch.zeros_like(dummy_ids))[: len(input_names)]
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in [*input_names, "last_hidden_state"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter warnings about this known-good graph
        torch.onnx.export(
            _LastHiddenState(model, takes_token_type_ids=takes_token_type_ids),
            dummy,
            str(out_path),
            input_names=input_names,
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )

    session = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    got = session.run(["last_hidden_state"], check)[0]
    real = check["attention_mask"][:, :, None].astype(bool)
    diff = float(np.abs(np.where(real, got - expected, 0.0)).max())
    log.info("onnx export of %s: max abs diff to torch %.2e", model_dir, diff)
    if not diff <= MAX_ABS_DIFF:
        raise EncoderError(
            f"The ONNX export of {model_dir} differs from the torch model by {diff:.2e} "
            f"(allowed {MAX_ABS_DIFF:.0e}); not using it."
        )


def _batch(tokenizer: Tokenizer, texts: tuple[str, ...], input_names: list[str]) -> dict[str, Any]:
    encodings = tokenizer.encode_batch(list(texts))
    arrays = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    return {name: arrays[name] for name in input_names}

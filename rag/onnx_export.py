"""Export a converted BERT encoder (a sentence-transformers folder) to ONNX for :class:`rag.embedder.OnnxEmbedder`.

Run once, at conversion, where torch is allowed: ``torch.onnx.export`` (eager attention, so that ONNX Runtime's
BERT optimizer can fuse it), then that optimizer's fusions (attention, skip-layer-norm, bias-GELU), saved with
the weights in a separate file that ONNX Runtime memory-maps (a session opens in ~0.1 s instead of ~0.9 s). The
export is checked against torch's own output before it is kept. The int8 variant (opt-in, see
:func:`quantize_int8`) is derived from the fp32 export with ONNX Runtime's dynamic quantisation.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import EmbedderError

ONNX_DIR = "onnx"
"""Subfolder of a converted model that holds the ONNX files."""
FP32_FILE = "model.onnx"
OPSET = 17
MIN_EXPORT_COSINE = 0.9999
"""The exported graph must reproduce torch's vectors this closely (measured: 0.9999999) or it is not kept."""
_CHECK_TEXTS = (
    "passage: 公司境外业务收入同比增长50.00%，拉动公司整体营业收入快速增长。",
    "query: How much did overseas revenue grow?",
    "passage: 毛利率",
)


def onnx_file(model_dir: Path) -> Path:
    """Where the ONNX graph lives inside a converted model folder."""
    return Path(model_dir) / ONNX_DIR / FP32_FILE


def export_onnx(model_dir: Path) -> Path:
    """Export the BERT encoder in the sentence-transformers folder ``model_dir`` to ``model_dir/onnx``.

    Returns the fp32 graph's path. Raises :class:`EmbedderError` when a tool is missing or the export does not
    reproduce torch's vectors."""
    model_dir = Path(model_dir)
    try:
        import onnx  # noqa: F401  (the exporter and the optimizer need it)
        import torch
        from onnxruntime.transformers.optimizer import optimize_model
        from transformers import AutoModel
    except ImportError as exc:
        raise EmbedderError(f"exporting the embedding model to ONNX needs {exc.name}: {exc}; pip install -e .") from exc

    out = model_dir / ONNX_DIR
    work = model_dir / f".onnx-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        # eager attention traces to MatMul/Softmax, which the optimizer fuses into one Attention op; the SDPA
        # trace is left unfused (and ~20% slower)
        model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
        config = model.config
        raw = work / "raw.onnx"
        ids = torch.tensor([[0, 100, 200, 300, 2], [0, 5, 6, 2, 1]], dtype=torch.long)
        mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.long)
        dynamic = {0: "batch", 1: "sequence"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python control flow: shapes stay dynamic
            torch.onnx.export(
                _encoder(model),
                (ids, mask),
                str(raw),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "last_hidden_state": dynamic},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        fused = optimize_model(
            str(raw),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
            opt_level=0,  # ONNX Runtime applies its own graph optimisations when a session opens
        )
        final = work / ONNX_DIR
        final.mkdir()
        # the weights go to model.onnx.data; this also declares the com.microsoft opset of the fused ops
        fused.save_model_to_file(str(final / FP32_FILE), use_external_data_format=True, all_tensors_to_one_file=True)
        fused_ops = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
        (final / "export.json").write_text(
            json.dumps({"opset": OPSET, "fused": fused_ops, "source": "torch.onnx.export + ORT bert optimizer"}),
            encoding="utf-8",
        )
        _check_against_torch(model, model_dir, final / FP32_FILE)
        if out.exists():
            shutil.rmtree(out)
        os.rename(final, out)
    except EmbedderError:
        raise
    except Exception as exc:
        raise EmbedderError(f"exporting {model_dir} to ONNX failed: {type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out / FP32_FILE


def _encoder(model: Any) -> Any:
    """A module returning ``last_hidden_state`` only, from ``input_ids`` and ``attention_mask`` (e5's token
    types are all zero, BERT's default)."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # eval() on the wrapper: the exporter restores the wrapper's mode afterwards, and a new module is in training
    # mode (dropout on), which it would pass down to the model
    return Encoder().eval()


def _check_against_torch(model: Any, model_dir: Path, graph: Path) -> None:
    """Mean-pooled vectors of the exported graph against torch's on a padded batch; raise when they differ."""
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    ids, mask = _pad([e.ids for e in tok.encode_batch(list(_CHECK_TEXTS))])
    model.eval()
    with torch.inference_mode():
        hidden = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
    want = mean_pool(hidden.numpy(), mask)
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    got = mean_pool(session.run(None, {"input_ids": ids, "attention_mask": mask})[0], mask)
    cos = (want * got).sum(axis=1)
    if float(cos.min()) < MIN_EXPORT_COSINE:
        raise EmbedderError(
            f"the ONNX export of {model_dir} does not reproduce torch's vectors (cosine {cos.min():.6f} < "
            f"{MIN_EXPORT_COSINE}); set IRCHAT_EMBED_BACKEND=torch and report this"
        )


def _pad(rows: list[list[int]], pad_id: int = 1) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' mean pooling then L2 normalisation: float32 (batch, dim) with unit rows."""
    m = mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32) * m).sum(axis=1)
    vecs = summed / np.maximum(m.sum(axis=1), 1e-9)
    return (vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)).astype(np.float32)

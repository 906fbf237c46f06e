"""The answer model: a gradient-boosted classifier over :data:`~rag.answering.features.FEATURES` giving, for a
(question, passage) pair, the calibrated probability that the passage answers the question.

It ranks the passages (the best one is cited) and decides abstention (the best one's probability against a
threshold). Trained by ``irchat train`` (``evals/train.py``) from the records themselves and the gold sets; the
committed artefact is ``rag/data/answer_model/``: LightGBM's text model (what training wrote, for inspection), the
same trees as ONNX (what answering runs: onnxruntime is loaded for the embeddings anyway, while importing
lightgbm pulls in scikit-learn and pandas, ~2 s of a cold ``irchat ask``), the calibration (a logistic curve over
the raw score's log-odds) as points, the threshold and a manifest of what it was trained on.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rag.answering.features import FEATURES
from rag.errors import IrchatError

MODEL_DIR = "answer_model"
# LightGBM's trees as an ONNX TreeEnsemble; onnxmltools converts at opset 15 at most.
ONNX_OPSET = 15


class ModelError(IrchatError):
    """The answer model's files are missing, damaged or made for other features."""


@dataclass
class AnswerModel:
    """A trained booster, its calibration and its decision threshold."""

    booster: Any
    """A ``lightgbm.Booster`` (training), or an ``onnxruntime.InferenceSession`` of its trees (loaded)."""
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    threshold: float
    """Calibrated probability the best passage needs to be answered from."""
    manifest: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """Uncalibrated scores, one per row."""
        if len(rows) == 0:
            return np.zeros(0)
        if hasattr(self.booster, "get_inputs"):  # ONNX Runtime sessions are safe to run from several threads
            name = self.booster.get_inputs()[0].name
            probs = self.booster.run(["probabilities"], {name: np.asarray(rows, dtype=np.float32)})[0]
            return np.asarray(probs[:, 1], dtype=np.float64)
        # LightGBM's predict is not documented thread-safe on one booster: the app answers several at once.
        with self._lock:
            return np.asarray(self.booster.predict(rows, num_threads=1), dtype=np.float64)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Calibrated probabilities that each row's passage answers its question."""
        return self.calibrate(self.raw(rows))

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Raw scores mapped through the calibration (piecewise linear between its points)."""
        if len(self.calibration_x) == 0:
            return scores
        return np.interp(scores, self.calibration_x, self.calibration_y)

    def save(self, folder: Path) -> None:
        """Write ``model.txt``, ``model.onnx`` and ``model.json`` into ``folder`` (from a trained booster)."""
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "model.txt"))
        onnx_model = convert_lightgbm(
            self.booster,
            initial_types=[("rows", FloatTensorType([None, len(FEATURES)]))],
            zipmap=False,
            target_opset=ONNX_OPSET,
        )
        (folder / "model.onnx").write_bytes(onnx_model.SerializeToString())
        meta = {
            "features": list(FEATURES),
            "threshold": self.threshold,
            "calibration": {"x": self.calibration_x.tolist(), "y": self.calibration_y.tolist()},
            "manifest": self.manifest,
        }
        (folder / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> AnswerModel:
        """Read a model written by :meth:`save` (its ONNX trees); a model made for other features is refused."""
        import onnxruntime as ort
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3  # the converter declares the unused label output with a fixed shape
        try:
            meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
            booster = ort.InferenceSession(
                str(folder / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except (OSError, ValueError, ort_errors.Fail, ort_errors.NoSuchFile, ort_errors.InvalidProtobuf) as e:
            raise ModelError(f"cannot read the answer model in {folder}: {e}; retrain it with `irchat train`") from e
        if meta.get("features") != list(FEATURES):
            raise ModelError(
                f"the answer model in {folder} was trained on other features; retrain it with `irchat train`"
            )
        cal = meta.get("calibration", {})
        return cls(
            booster,
            np.asarray(cal.get("x", []), dtype=np.float64),
            np.asarray(cal.get("y", []), dtype=np.float64),
            float(meta["threshold"]),
            meta.get("manifest", {}),
        )


@cache
def default_model() -> AnswerModel:
    """The model shipped in ``rag/data/answer_model``."""
    folder = Path(str(resources.files("rag") / "data" / MODEL_DIR))
    return AnswerModel.load(folder)

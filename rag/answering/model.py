"""The answer model: gradient-boosted classifiers over :data:`~rag.answering.features.FEATURES` giving, for a
(question, passage) pair, the calibrated probability that the passage answers the question.

It ranks the passages (the best one is cited) and decides abstention (the best one's probability against a
threshold). Trained by ``irchat train`` (``evals/train.py``) from the records themselves and the gold sets: a few
boosters of different seeds whose log-odds are averaged, because one booster's answers moved by as much with a
handful of changed training rows as with its seed. The committed artefact is ``rag/data/answer_model/``: each
booster as LightGBM's text model (``model-0.txt`` …, what training wrote, for inspection) and as ONNX
(``model-0.onnx`` …, what answering runs: onnxruntime is loaded for the embeddings anyway, while importing lightgbm
pulls in scikit-learn and pandas, ~2 s of a cold ``irchat ask``), the calibration (a logistic curve over the
averaged score's log-odds) as points, the threshold and a manifest of what it was trained on.
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
    """Trained boosters, their calibration and the decision threshold."""

    boosters: list[Any]
    """``lightgbm.Booster`` objects (training), or ``onnxruntime.InferenceSession`` objects of their trees (loaded);
    their log-odds are averaged."""
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    threshold: float
    """Calibrated probability the best passage needs to be answered from."""
    manifest: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """Uncalibrated scores, one per row: the boosters' probabilities averaged in log-odds."""
        if len(rows) == 0:
            return np.zeros(0)
        odds = np.mean([log_odds(self._probability(b, rows)) for b in self.boosters], axis=0)
        return 1.0 / (1.0 + np.exp(-odds))

    def _probability(self, booster: Any, rows: np.ndarray) -> np.ndarray:
        if hasattr(booster, "get_inputs"):  # ONNX Runtime sessions are safe to run from several threads
            name = booster.get_inputs()[0].name
            probs = booster.run(["probabilities"], {name: np.asarray(rows, dtype=np.float32)})[0]
            return np.asarray(probs[:, 1], dtype=np.float64)
        # LightGBM's predict is not documented thread-safe on one booster: the app answers several at once.
        with self._lock:
            return np.asarray(booster.predict(rows, num_threads=1), dtype=np.float64)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Calibrated probabilities that each row's passage answers its question."""
        return self.calibrate(self.raw(rows))

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Raw scores mapped through the calibration (piecewise linear between its points)."""
        if len(self.calibration_x) == 0:
            return scores
        return np.interp(scores, self.calibration_x, self.calibration_y)

    def save(self, folder: Path) -> None:
        """Write ``model-K.txt`` and ``model-K.onnx`` per booster and ``model.json`` into ``folder`` (from trained
        boosters); files of an earlier, larger model are removed."""
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        folder.mkdir(parents=True, exist_ok=True)
        for old in [*folder.glob("model*.txt"), *folder.glob("model*.onnx")]:
            old.unlink()
        for k, booster in enumerate(self.boosters):
            booster.save_model(str(folder / f"model-{k}.txt"))
            onnx_model = convert_lightgbm(
                booster,
                initial_types=[("rows", FloatTensorType([None, len(FEATURES)]))],
                zipmap=False,
                target_opset=ONNX_OPSET,
            )
            (folder / f"model-{k}.onnx").write_bytes(onnx_model.SerializeToString())
        meta = {
            "features": list(FEATURES),
            "boosters": len(self.boosters),
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
            boosters = [
                ort.InferenceSession(
                    str(folder / f"model-{k}.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
                )
                for k in range(int(meta.get("boosters", 0)))
            ]
        except (OSError, ValueError, ort_errors.Fail, ort_errors.NoSuchFile, ort_errors.InvalidProtobuf) as e:
            raise ModelError(f"cannot read the answer model in {folder}: {e}; retrain it with `irchat train`") from e
        if meta.get("features") != list(FEATURES):
            raise ModelError(
                f"the answer model in {folder} was trained on other features; retrain it with `irchat train`"
            )
        if not boosters:
            raise ModelError(
                f"the answer model in {folder} lists no boosters (an older format); retrain it with `irchat train`"
            )
        cal = meta.get("calibration", {})
        return cls(
            boosters,
            np.asarray(cal.get("x", []), dtype=np.float64),
            np.asarray(cal.get("y", []), dtype=np.float64),
            float(meta["threshold"]),
            meta.get("manifest", {}),
        )


def log_odds(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))``, with ``p`` kept off 0 and 1."""
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


@cache
def default_model() -> AnswerModel:
    """The model shipped in ``rag/data/answer_model``."""
    folder = Path(str(resources.files("rag") / "data" / MODEL_DIR))
    return AnswerModel.load(folder)

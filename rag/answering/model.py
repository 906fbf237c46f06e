"""The answer model: a gradient-boosted classifier over :data:`~rag.answering.features.FEATURES` giving, for a
(question, passage) pair, the calibrated probability that the passage answers the question.

It ranks the passages (the best one is cited) and decides abstention (the best one's probability against a
threshold chosen on training folds). Trained by ``irchat train`` (``evals/train.py``) from the records themselves
and the gold sets; the committed artefact is ``rag/data/answer_model/``: LightGBM's text model, the isotonic
calibration as points, the threshold and a manifest of what it was trained on.
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


class ModelError(IrchatError):
    """The answer model's files are missing, damaged or made for other features."""


@dataclass
class AnswerModel:
    """A trained booster, its calibration and its decision threshold."""

    booster: Any
    """A ``lightgbm.Booster``."""
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
        # LightGBM's predict is not documented thread-safe on one booster: the app answers several at once.
        with self._lock:
            return np.asarray(self.booster.predict(rows, num_threads=1), dtype=np.float64)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Calibrated probabilities that each row's passage answers its question."""
        return self.calibrate(self.raw(rows))

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Raw scores mapped through the isotonic calibration (piecewise linear between its points)."""
        if len(self.calibration_x) == 0:
            return scores
        return np.interp(scores, self.calibration_x, self.calibration_y)

    def save(self, folder: Path) -> None:
        """Write ``model.txt`` and ``model.json`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "model.txt"))
        meta = {
            "features": list(FEATURES),
            "threshold": self.threshold,
            "calibration": {"x": self.calibration_x.tolist(), "y": self.calibration_y.tolist()},
            "manifest": self.manifest,
        }
        (folder / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> AnswerModel:
        """Read a model written by :meth:`save`; a model made for other features is refused."""
        import lightgbm

        try:
            meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
            booster = lightgbm.Booster(model_file=str(folder / "model.txt"))
        except (OSError, ValueError, lightgbm.basic.LightGBMError) as e:
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

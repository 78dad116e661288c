"""Load and run an exported `.onnx` classifier with ONNX Runtime, no TensorFlow.

Everything needed (class names, input size) is read from the file's own
`metadata_props`; the checksum beside the file is verified before loading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.card import ModelCard
from models.store import SUMS, verify_file

log = logging.getLogger(__name__)


def read_card(path: Path) -> ModelCard:
    """The card embedded in an ONNX file, via `onnx` (no session needed)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return ModelCard.from_metadata_props({p.key: p.value for p in proto.metadata_props})


@dataclass
class OnnxClassifier:
    session: Any
    card: ModelCard
    path: Path

    @classmethod
    def load(
        cls, path: Path, intra_op_threads: int = 0, verify: bool | None = None
    ) -> OnnxClassifier:
        """Verify (when a SHA256SUMS is beside it, or always if `verify`), then load.

        `intra_op_threads` 0 lets ONNX Runtime choose (all cores).
        """
        import onnxruntime as ort

        path = Path(path)
        has_sums = (path.parent / SUMS).is_file()
        if verify or (verify is None and has_sums):
            verify_file(path)
        elif verify is None:
            log.warning("%s has no %s beside it: loading unverified", path, SUMS)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        props = session.get_modelmeta().custom_metadata_map
        card = ModelCard.from_metadata_props(props)
        return cls(session, card, path)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.card.input_size

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """uint8 or float [N, H, W, 3] raw pixels -> probabilities [N, classes]."""
        x = np.ascontiguousarray(batch, dtype=np.float32)
        out: np.ndarray = self.session.run([self.card.output_name], {self.card.input_name: x})[0]
        return out


def top_k(probs: np.ndarray, class_names: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
    """Per row, the k most probable (label, probability), best first."""
    k = min(k, probs.shape[1])
    idx = np.argsort(-probs, axis=1)[:, :k]
    return [[(class_names[j], float(row[j])) for j in r] for r, row in zip(idx, probs, strict=True)]

"""The parity gate: the ONNX model must behave like the Keras model it came from."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from models.errors import CatalogError

MAX_ABS_DIFF = 1e-4


class ParityError(CatalogError):
    pass


@dataclass
class ParityReport:
    images: int
    random_inputs: int
    max_abs_diff: float
    mean_abs_diff: float
    top1_agreement: float
    top1_disagreements: int
    threshold: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_parity(
    keras_predict: Any,
    onnx_predict: Any,
    images: np.ndarray,
    input_size: tuple[int, int],
    seed: int = 0,
    threshold: float = MAX_ABS_DIFF,
) -> ParityReport:
    """Compare both models on `images` (the run's test split) plus random inputs
    at batch sizes 1 and 7; fail on max |diff| > threshold or any top-1 change."""
    rng = np.random.default_rng(seed)
    h, w = input_size
    random_inputs = rng.uniform(0, 255, size=(8, h, w, 3)).astype(np.float32)
    batches = [images[i : i + 64].astype(np.float32) for i in range(0, len(images), 64)]
    batches += [random_inputs[:1], random_inputs[1:8]]
    diffs: list[np.ndarray] = []
    agree = total = 0
    for b in batches:
        if len(b) == 0:
            continue
        k = np.asarray(keras_predict(b))
        o = np.asarray(onnx_predict(b))
        if k.shape != o.shape:
            raise ParityError(f"output shapes differ: keras {k.shape} vs onnx {o.shape}")
        diffs.append(np.abs(k - o).ravel())
        agree += int((k.argmax(1) == o.argmax(1)).sum())
        total += len(b)
    d = np.concatenate(diffs)
    report = ParityReport(
        images=len(images),
        random_inputs=8,
        max_abs_diff=float(d.max()),
        mean_abs_diff=float(d.mean()),
        top1_agreement=agree / total,
        top1_disagreements=total - agree,
        threshold=threshold,
        passed=bool(d.max() <= threshold and agree == total),
    )
    return report
